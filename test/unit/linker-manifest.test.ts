import { describe, expect, it } from 'vitest';
import { linkerEntityText } from '../../src/inference/linker/linker-features.js';
import { parseLinkerManifest } from '../../src/inference/linker/linker-model.js';

/** The shape models/zemel/release.py writes (values of the untrained dev release). */
const manifest = {
  manifestVersion: 1,
  name: 'zemel-poly',
  version: '1.0.0',
  untrained: true,
  thresholds: {},
  head: 'poly',
  codes: 16,
  width: 192,
  text: { dimension: 384, maxTokens: 128, entitySeparator: '[SEP]', prefix: '' },
  image: { dimension: 1280, geometry: ['x1', 'y1', 'x2', 'y2', 'area'] },
  generatorFeatures: ['BM25.score', 'BM25.found'],
  graphs: {
    context: {
      file: 'context_codes.onnx',
      sha256: 'a'.repeat(64),
      inputs: ['token_states', 'token_mask', 'mention_mask'],
    },
    candidate: { file: 'candidate.onnx', sha256: 'b'.repeat(64), inputs: ['token_states'] },
    polyScore: { file: 'poly_score.onnx', sha256: 'c'.repeat(64), inputs: ['context_codes'] },
  },
  parity: { file: 'parity.json', maxAbsDiff: 1.9e-6 },
};

describe('parseLinkerManifest', () => {
  it('accepts what release.py writes, with or without thresholds', () => {
    expect(parseLinkerManifest(manifest).width).toBe(192);
    const trained = { ...manifest, thresholds: { 'V&T-KG': 0.5, 'VT-KG': null } };
    expect(parseLinkerManifest(trained).thresholds).toEqual({ 'V&T-KG': 0.5, 'VT-KG': null });
    const { thresholds: _omitted, ...without } = manifest;
    expect(parseLinkerManifest(without).thresholds).toEqual({});
  });

  it('accepts a calibration chosen on a held-out source', () => {
    const calibration = {
      regionDenseImageWeight: 12,
      thresholds: { 'VT-KG': { region: 9.1, pair: null } },
      chosenOn: 'eval/xdep dev source',
    };
    expect(parseLinkerManifest({ ...manifest, calibration }).calibration).toEqual(calibration);
  });

  it.each([
    ['a newer manifest version', { ...manifest, manifestVersion: 2 }, /manifestVersion 2/],
    ['another head', { ...manifest, head: 'cross' }, /head "cross"/],
    ['no width', { ...manifest, width: 0 }, /codes and width/],
    ['a text layout without maxTokens', { ...manifest, text: { dimension: 384 } }, /maxTokens/],
    [
      'a graph without its hash',
      { ...manifest, graphs: { ...manifest.graphs, candidate: { file: 'candidate.onnx' } } },
      /graphs\.candidate/,
    ],
    ['a threshold that is not a number', { ...manifest, thresholds: { x: 'high' } }, /thresholds/],
    [
      'a calibration with a negative weight',
      { ...manifest, calibration: { regionDenseImageWeight: -1, thresholds: {}, chosenOn: 'x' } },
      /calibration/,
    ],
    [
      'a calibration threshold that is not a number',
      {
        ...manifest,
        calibration: {
          regionDenseImageWeight: 1,
          thresholds: { 'VT-KG': { region: 'low' } },
          chosenOn: 'x',
        },
      },
      /calibration/,
    ],
  ])('rejects %s', (_label, value, message) => {
    expect(() => parseLinkerManifest(value)).toThrow(message);
  });
});

describe('linkerEntityText', () => {
  it('joins name and description with the separator the linker was trained with', () => {
    expect(linkerEntityText({ name: 'Roman', description: 'An empire.' })).toBe(
      'Roman [SEP] An empire.',
    );
  });
});
