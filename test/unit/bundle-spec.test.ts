import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBundleSpec } from '../../src/models/bundle.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const file = { from: 'a/model.onnx', sha256: 'a'.repeat(64) };
const minimal = {
  name: 'tiny',
  version: '1',
  description: 'test',
  components: {
    text: {
      task: 't',
      source: { kind: 'repo' },
      files: { 'model.onnx': file },
      licence: 'MIT',
      config: {},
    },
  },
};

describe('parseBundleSpec', () => {
  it('accepts the committed default bundle spec', () => {
    const text = readFileSync(
      path.join(PROJECT_ROOT, 'models/bundles/polylink-default.json'),
      'utf8',
    );
    const spec = parseBundleSpec(JSON.parse(text));
    expect(spec.name).toBe('polylink-default');
    expect(Object.keys(spec.components)).toEqual(expect.arrayContaining(['text', 'image']));
  });

  it('accepts a minimal spec', () => {
    expect(parseBundleSpec(minimal).components.text?.files['model.onnx']).toEqual(file);
  });

  it.each([
    ['a non-object', 42, /JSON object/],
    ['a bad name', { ...minimal, name: 'Has Spaces' }, /slug/],
    ['no version', { ...minimal, version: '' }, /version/],
    [
      'an unknown component',
      { ...minimal, components: { sound: minimal.components.text } },
      /unknown component "sound"/,
    ],
    [
      'a file without a pinned hash',
      {
        ...minimal,
        components: {
          text: { ...minimal.components.text, files: { 'model.onnx': { from: 'x' } } },
        },
      },
      /sha256/,
    ],
  ])('rejects %s', (_label, value, message) => {
    expect(() => parseBundleSpec(value)).toThrow(message);
  });
});
