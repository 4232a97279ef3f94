import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DenseVectorIndex, type EntityVectors } from '../../src/vectors/dense-index.js';
import { jsScorer, onnxMatMulScorer, type RowScorer } from '../../src/vectors/row-scorer.js';
import { createLogger } from '../../src/logger.js';

const unit = (...values: number[]) => {
  const norm = Math.hypot(...values);
  return Float32Array.from(values.map((v) => v / norm));
};

function entity(
  id: string,
  options: {
    text?: Float32Array | null;
    images?: { sha256: string; vector: Float32Array | null; robust?: Float32Array | null }[];
    domain?: string;
  },
): EntityVectors {
  return {
    key: { id, name: id.toUpperCase(), aliases: [], contentHash: `h-${id}` },
    domain: options.domain ?? 'd',
    text: options.text ?? null,
    images: (options.images ?? []).map((image) => ({ robust: null, ...image })),
  };
}

const ids = (hits: readonly { entity: { id: string } }[]) => hits.map((hit) => hit.entity.id);

describe('DenseVectorIndex', () => {
  it('returns the top k by cosine, best first, with the cosine', async () => {
    const index = new DenseVectorIndex({ text: 2 });
    index.upsert(entity('a', { text: unit(1, 0) }));
    index.upsert(entity('b', { text: unit(1, 1) }));
    index.upsert(entity('c', { text: unit(0, 1) }));
    index.upsert(entity('d', { text: unit(-1, 0) }));
    const hits = await index.search('text', { vector: unit(1, 0.2), limit: 3, domain: null });
    expect(ids(hits)).toEqual(['a', 'b', 'c']);
    expect(hits[0]!.cosine).toBeCloseTo(1 / Math.hypot(1, 0.2), 6);
    expect(hits[0]!.entity).toEqual({ id: 'a', name: 'A', aliases: [], contentHash: 'h-a' });
  });

  it('breaks ties by entity id, as the Neo4j query orders them', async () => {
    const index = new DenseVectorIndex({ text: 2 });
    for (const id of ['m', 'c', 'x', 'a']) index.upsert(entity(id, { text: unit(1, 1) }));
    index.upsert(entity('z', { text: unit(1, 0) }));
    expect(ids(await index.search('text', { vector: unit(1, 1), limit: 3, domain: null }))).toEqual(
      ['a', 'c', 'm'],
    );
  });

  it('filters by domain before ranking (no fewer hits than asked while the domain has them)', async () => {
    const index = new DenseVectorIndex({ text: 2 });
    for (let i = 0; i < 20; i += 1) {
      index.upsert(entity(`near${i}`, { text: unit(1, i / 100), domain: 'other' }));
    }
    index.upsert(entity('far1', { text: unit(0, 1), domain: 'mine' }));
    index.upsert(entity('far2', { text: unit(-1, 1), domain: 'mine' }));
    expect(
      ids(await index.search('text', { vector: unit(1, 0), limit: 2, domain: 'mine' })),
    ).toEqual(['far1', 'far2']);
    expect(await index.search('text', { vector: unit(1, 0), limit: 2, domain: 'none' })).toEqual(
      [],
    );
  });

  it('ranks an entity by its best image and names that image', async () => {
    const index = new DenseVectorIndex({ image: 2, imageRobust: 2 });
    index.upsert(
      entity('a', {
        images: [
          { sha256: 'a1', vector: unit(0, 1), robust: unit(1, 0) },
          { sha256: 'a2', vector: unit(1, 0.1), robust: unit(0, 1) },
        ],
      }),
    );
    index.upsert(entity('b', { images: [{ sha256: 'b1', vector: unit(1, 0.5) }] }));
    const hits = await index.search('image', { vector: unit(1, 0), limit: 10, domain: null });
    expect(ids(hits)).toEqual(['a', 'b']);
    expect(hits[0]!.imageSha256).toBe('a2');
    const robust = await index.search('imageRobust', {
      vector: unit(1, 0),
      limit: 10,
      domain: null,
    });
    expect(robust.map((hit) => [hit.entity.id, hit.imageSha256])).toEqual([['a', 'a1']]);
  });

  it('gives a shared image to each entity that has it', async () => {
    const index = new DenseVectorIndex({ image: 2 });
    index.upsert(entity('a', { images: [{ sha256: 's', vector: unit(1, 0) }] }));
    index.upsert(entity('b', { images: [{ sha256: 's', vector: unit(1, 0) }] }));
    expect(
      ids(await index.search('image', { vector: unit(1, 0), limit: 5, domain: null })),
    ).toEqual(['a', 'b']);
  });

  it('replaces an entity on update and forgets it on delete', async () => {
    const index = new DenseVectorIndex({ text: 2, image: 2 });
    index.upsert(entity('a', { text: unit(1, 0), images: [{ sha256: 'a1', vector: unit(1, 0) }] }));
    index.upsert(entity('b', { text: unit(0, 1) }));
    index.upsert(entity('a', { text: unit(0, 1), domain: 'moved' }));
    expect(ids(await index.search('text', { vector: unit(1, 0), limit: 5, domain: null }))).toEqual(
      ['a', 'b'],
    );
    expect(await index.search('image', { vector: unit(1, 0), limit: 5, domain: null })).toEqual([]);
    expect(
      ids(await index.search('text', { vector: unit(1, 0), limit: 5, domain: 'moved' })),
    ).toEqual(['a']);
    expect(index.remove('a')).toBe(true);
    expect(index.remove('a')).toBe(false);
    expect(ids(await index.search('text', { vector: unit(1, 0), limit: 5, domain: null }))).toEqual(
      ['b'],
    );
    expect(index.stats().rows.text).toEqual({ live: 1, dead: 2, dimension: 2 });
  });

  it('refuses a vector of the wrong width and finds nothing for a kind it was not given', async () => {
    const index = new DenseVectorIndex({ text: 2 });
    expect(() => index.upsert(entity('a', { text: unit(1, 0, 0) }))).toThrow(/3 dimensions/);
    expect(await index.search('image', { vector: unit(1, 0), limit: 5, domain: null })).toEqual([]);
  });

  it('agrees with a brute-force sort through growth, updates, deletes and compaction', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 60 }),
            remove: fc.boolean(),
            images: fc.array(
              fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 3, maxLength: 3 }),
              {
                maxLength: 3,
              },
            ),
            domain: fc.constantFrom('x', 'y'),
          }),
          { maxLength: 300 },
        ),
        fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom(null, 'x'),
        async (operations, queryValues, limit, domain) => {
          const index = new DenseVectorIndex({ image: 3 }, { minDeadRows: 4 });
          const truth = new Map<string, { domain: string; vectors: Float32Array[] }>();
          const toVector = (values: number[]) =>
            values.every((v) => v === 0) ? null : unit(...values);
          for (const op of operations) {
            const id = `e${String(op.id).padStart(2, '0')}`;
            if (op.remove) {
              index.remove(id);
              truth.delete(id);
              continue;
            }
            const images = op.images.map((values, i) => ({
              sha256: `${id}-${i}`,
              vector: toVector(values),
            }));
            index.upsert(entity(id, { images, domain: op.domain }));
            truth.set(id, {
              domain: op.domain,
              vectors: images.flatMap((image) => (image.vector ? [image.vector] : [])),
            });
          }
          const query = toVector(queryValues) ?? unit(1, 0, 0);
          const expected = [...truth.entries()]
            .filter(([, t]) => t.vectors.length > 0 && (domain === null || t.domain === domain))
            .map(([id, t]) => ({
              id,
              score: Math.max(
                ...t.vectors.map((v) => v[0]! * query[0]! + v[1]! * query[1]! + v[2]! * query[2]!),
              ),
            }))
            .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
            .slice(0, limit);
          const hits = await index.search('image', { vector: query, limit, domain });
          expect(hits.map((hit) => hit.entity.id)).toEqual(expected.map((e) => e.id));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('scores rows the same in ONNX Runtime as in JS (float32 sums) and ranks alike', async () => {
    const scorers: RowScorer[] = [jsScorer, await onnxMatMulScorer(createLogger('silent'))];
    const d = 37;
    const random = (seed: number) => () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    const next = random(42);
    const vectors = Array.from({ length: 300 }, () => unit(...Array.from({ length: d }, next)));
    const query = unit(...Array.from({ length: d }, next));
    const matrix = new Float32Array(vectors.length * d);
    vectors.forEach((v, i) => matrix.set(v, i * d));
    const [js, onnx] = await Promise.all(
      scorers.map(async (s) => Array.from(await s.score(matrix, vectors.length, d, query))),
    );
    onnx!.forEach((score, i) => expect(score).toBeCloseTo(js![i]!, 5));
    const lists = await Promise.all(
      scorers.map(async (scorer) => {
        const index = new DenseVectorIndex({ image: d }, { scorer });
        vectors.forEach((vector, i) =>
          index.upsert(entity(`e${i}`, { images: [{ sha256: `s${i}`, vector }] })),
        );
        return ids(await index.search('image', { vector: query, limit: 50, domain: null }));
      }),
    );
    expect(lists[1]).toEqual(lists[0]);
    await scorers[1]!.close();
  });
});
