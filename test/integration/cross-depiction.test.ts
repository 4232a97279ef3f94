import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { imageVectorEncoderFactory } from '../../src/inference/vision/image-vector-encoder.js';
import { createModelRegistry, type ModelRegistry } from '../../src/inference/model-registry.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';

/**
 * Issue 12's done-when test: a picture by another hand than the KB's, ranked first among more
 * than 50 distractors by the image vectors the service serves (DENSE_IMAGE's `encodeImage`).
 * The KB is every Freeciv nation's flag (Debian freeciv-data, extracted by scripts/test.sh); the
 * queries are flag-icons SVGs (test/fixtures/flag-icons). Flags keep their design across artists,
 * which is why they pass; on drawings in another style the same vectors rank the right entity
 * first far less often (EVAL.md, "Held-out sources").
 */
const PAIRS = [
  ['de', 'freeciv-nation:german'],
  ['jp', 'freeciv-nation:japanese'],
  ['us', 'freeciv-nation:american'],
  ['ca', 'freeciv-nation:canadian'],
  ['se', 'freeciv-nation:swedish'],
] as const;

let registry: ModelRegistry;
const kb: { id: string; vector: Float32Array; robust: Float32Array | null }[] = [];

beforeAll(async () => {
  const config = parseConfig({}, PROJECT_ROOT);
  registry = await createModelRegistry(config.models, createLogger('silent'), {
    imageEncoder: imageVectorEncoderFactory(config.images),
  });
  const image = registry.encoders.image;
  if (!image) throw new Error('the default bundle has no image encoder');
  const lines = (await readFile(path.join(PROJECT_ROOT, 'var/demo/freeciv/entities.jsonl'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { id: string; images: { path: string }[] });
  for (const nation of lines) {
    const flag = nation.images[0];
    if (!flag) continue;
    const { embedding, robust } = await image.encodeImageVectors(
      await readFile(path.resolve(PROJECT_ROOT, flag.path)),
    );
    kb.push({ id: nation.id, vector: embedding, robust });
  }
}, 300_000);

afterAll(async () => {
  await registry?.close();
});

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

async function queryVectors(iso: string) {
  return registry.encoders.image!.encodeImageVectors(
    await readFile(path.join(PROJECT_ROOT, 'test/fixtures/flag-icons', `${iso}.svg`)),
  );
}

describe('cross-depiction retrieval with the served image vectors', () => {
  it.each(PAIRS)('ranks the Freeciv flag first for the flag-icons %s.svg', async (iso, nation) => {
    expect(kb.length).toBeGreaterThan(500);
    const query = (await queryVectors(iso)).embedding;
    const ranked = kb
      .map(({ id, vector }) => ({ id, cosine: dot(vector, query) }))
      .sort((a, b) => b.cosine - a.cosine);
    expect(ranked[0]?.id).toBe(nation);
  });

  // The default bundle's style-robust head (DENSE_IMAGE_ROBUST) keeps what the plain vectors get
  // right on flags. Its whitening was fitted on an unlabelled pool that holds flag-icons pictures
  // (models/converted/image-robust/SOURCE.md), never on the Freeciv flags of this KB.
  it.each(PAIRS)(
    'ranks it first by the style-robust vectors too for %s.svg',
    async (iso, nation) => {
      const query = (await queryVectors(iso)).robust;
      expect(query, 'the default bundle has the style-robust head').not.toBeNull();
      const ranked = kb
        .map(({ id, robust: vector }) => ({ id, cosine: dot(vector!, query!) }))
        .sort((a, b) => b.cosine - a.cosine);
      expect(ranked[0]?.id).toBe(nation);
    },
  );
});
