import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentFingerprint, parseBundleSpec } from '../../src/models/bundle.js';
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

describe('componentFingerprint', () => {
  const hash = (digit: string) => ({ sha256: digit.repeat(64) });

  it("names a model.onnx component by its model's sha256, whatever else it holds", () => {
    expect(
      componentFingerprint('text', { 'model.onnx': hash('a'), 'tokenizer.json': hash('b') }),
    ).toBe(`text:${'a'.repeat(16)}`);
  });

  it('names a component of several graphs by all of them, in any order', () => {
    const linker = {
      'candidate.onnx': hash('1'),
      'context_codes.onnx': hash('2'),
      'poly_score.onnx': hash('3'),
      'linker.json': hash('4'),
      'parity.json': hash('5'),
    };
    const fingerprint = componentFingerprint('linker', linker);
    expect(fingerprint).toMatch(/^linker:[0-9a-f]{16}$/);
    const reordered = Object.fromEntries(Object.entries(linker).reverse());
    expect(componentFingerprint('linker', reordered)).toBe(fingerprint);
    // Any graph changing changes it; the manifest and parity fixture alone do not.
    expect(componentFingerprint('linker', { ...linker, 'poly_score.onnx': hash('6') })).not.toBe(
      fingerprint,
    );
    expect(componentFingerprint('linker', { ...linker, 'parity.json': hash('6') })).toBe(
      fingerprint,
    );
  });

  it('falls back to the first file of a component without ONNX files', () => {
    expect(componentFingerprint('x', { 'keys.txt': hash('c') })).toBe(`x:${'c'.repeat(16)}`);
  });
});
