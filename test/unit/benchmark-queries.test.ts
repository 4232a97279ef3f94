import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { dHashOf } from '../../eval/build/compose.js';
import { alphaBBox, boxInside } from '../../eval/build/geometry.js';
import { dHash, hammingDistance, NEAR_DUPLICATE_MAX_DISTANCE } from '../../eval/build/phash.js';
import { buildCaption, makeRiddle, maskNames } from '../../eval/build/text.js';

interface Query {
  id: string;
  kind: string;
  image: string;
  width: number;
  height: number;
  caption: string;
  mentions: { id: string; start: number; end: number; text: string; gold: string | null }[];
  regions: { id: string; box: [number, number, number, number]; gold: string | null }[];
  pairs: { mention: string; region: string }[];
}
const dir = 'test/fixtures/benchmark';
const readJsonl = <T>(f: string): T[] =>
  readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
const kb = readJsonl<{ id: string; images: { path: string }[] }>(`${dir}/kb.jsonl`);
const queries = readJsonl<Query>(`${dir}/queries.jsonl`);
const kbIds = new Set(kb.map((e) => e.id));
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('dHash (pure)', () => {
  const gradient = (w: number, h: number, f: (x: number, y: number) => number) => ({
    width: w,
    height: h,
    data: Uint8Array.from({ length: w * h }, (_, k) => f(k % w, Math.floor(k / w))),
  });

  it('is 64 bits: all ones for a left-to-right darkening ramp, zeros for the reverse', () => {
    expect(dHash(gradient(90, 80, (x) => 255 - x * 2))).toBe('ffffffffffffffff');
    expect(dHash(gradient(90, 80, (x) => x * 2))).toBe('0000000000000000');
  });

  it('does not depend on the resolution of the same picture', () => {
    // A 9×8 cell pattern drawn at two resolutions.
    const f = (w: number, h: number) => (x: number, y: number) =>
      (Math.floor((x * 9) / w) * 37 + Math.floor((y * 8) / h) * 71) % 256;
    const small = dHash(gradient(90, 80, f(90, 80)));
    expect(small).toBe(dHash(gradient(180, 160, f(180, 160))));
    expect(small).not.toBe('0000000000000000');
  });

  it('counts differing bits', () => {
    expect(hammingDistance('ffffffffffffffff', '0000000000000000')).toBe(64);
    expect(hammingDistance('00000000000000f1', '0000000000000000')).toBe(5);
  });
});

describe('dHash on real images', () => {
  const kbImages = kb
    .flatMap((e) => e.images.map((i) => i.path))
    .filter((p) => !p.endsWith('.svg'));

  it('is stable under JPEG re-encoding (quality 50 and 85) and rescaling', async () => {
    for (const q of queries) {
      const original = await dHashOf(q.image);
      for (const quality of [50, 85]) {
        const again = await sharp(q.image).jpeg({ quality }).toBuffer();
        expect(hammingDistance(original, await dHashOf(again))).toBeLessThanOrEqual(6);
      }
      const half = await sharp(q.image)
        .resize({ width: Math.round(q.width / 2) })
        .jpeg()
        .toBuffer();
      expect(hammingDistance(original, await dHashOf(half))).toBeLessThanOrEqual(6);
    }
  });

  it('differs for different pictures', async () => {
    const hashes = await Promise.all(queries.map((q) => dHashOf(q.image)));
    for (let a = 0; a < hashes.length; a++) {
      for (let b = a + 1; b < hashes.length; b++) {
        expect(hammingDistance(hashes[a] ?? '', hashes[b] ?? '')).toBeGreaterThan(
          NEAR_DUPLICATE_MAX_DISTANCE,
        );
      }
    }
    expect(kbImages.length).toBeGreaterThan(5);
  });
});

describe('fixture queries', () => {
  it('has about ten queries with three scenes and twenty KB entities', () => {
    expect(queries.length).toBe(10);
    expect(queries.filter((q) => q.kind === 'scene').length).toBe(3);
    expect(kb.length).toBe(20);
  });

  it('never uses a KB image of a gold entity as the query image (exact and perceptual)', async () => {
    for (const q of queries) {
      const qs = sha(q.image);
      const qh = await dHashOf(q.image);
      const golds = new Set([...q.mentions, ...q.regions].map((x) => x.gold));
      for (const e of kb.filter((k) => golds.has(k.id))) {
        for (const img of e.images) {
          expect(sha(img.path)).not.toBe(qs);
          expect(hammingDistance(qh, await dHashOf(img.path))).toBeGreaterThan(
            NEAR_DUPLICATE_MAX_DISTANCE,
          );
        }
      }
    }
  });

  it('has boxes inside the images, with the recorded image size', async () => {
    for (const q of queries) {
      const m = await sharp(q.image).metadata();
      expect([m.width, m.height]).toEqual([q.width, q.height]);
      for (const r of q.regions)
        expect(boxInside(r.box, q.width, q.height), `${q.id} ${r.id}`).toBe(true);
    }
  });

  it('has mention offsets that match the caption text', () => {
    for (const q of queries) {
      for (const m of q.mentions) {
        expect(q.caption.slice(m.start, m.end)).toBe(m.text);
        expect(m.end).toBeGreaterThan(m.start);
      }
    }
  });

  it('has pairs that reference existing mentions and regions', () => {
    for (const q of queries) {
      for (const p of q.pairs) {
        const m = q.mentions.find((x) => x.id === p.mention);
        const r = q.regions.find((x) => x.id === p.region);
        expect(m).toBeDefined();
        expect(r).toBeDefined();
        expect(m?.gold).toBe(r?.gold);
      }
    }
  });

  it('has golds that are KB ids or NIL, with NIL regions in some scene', () => {
    const golds = queries.flatMap((q) => [...q.mentions, ...q.regions].map((x) => x.gold));
    for (const g of golds) if (g !== null) expect(kbIds.has(g)).toBe(true);
    expect(golds).toContain(null);
  });
});

describe('text helpers', () => {
  it('records mention offsets in UTF-16 code units', () => {
    const c = buildCaption(['Ça 🦒 ', { mention: 'giraffe', key: 'm1' }, '.']);
    const span = c.spans.get('m1') ?? [0, 0];
    expect(c.text.slice(span[0], span[1])).toBe('giraffe');
  });

  it('masks whole-word names only and refuses empty riddles', () => {
    expect(maskNames('The Sioux were Siouxsie fans.', ['Sioux']).text).toBe(
      'The this were Siouxsie fans.',
    );
    expect(makeRiddle('A giraffe.', ['Giraffe'])).toBeUndefined();
    expect(makeRiddle('The Sioux were a nation of the northern plains.', ['Sioux'])).toBe(
      'This were a nation of the northern plains.',
    );
  });

  it('finds the tight box of the opaque pixels', () => {
    const rgba = new Uint8Array(5 * 4 * 4);
    rgba[(1 * 5 + 2) * 4 + 3] = 255;
    rgba[(2 * 5 + 3) * 4 + 3] = 1;
    expect(alphaBBox(rgba, 5, 4)).toEqual([2, 1, 2, 2]);
    expect(alphaBBox(new Uint8Array(16), 2, 2)).toBeUndefined();
  });
});
