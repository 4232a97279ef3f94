import { describe, expect, it } from 'vitest';
import {
  alignByBestSharedCandidate,
  applyThreshold,
  chooseThreshold,
  fuse,
  predictQuery,
  restrict,
  type RawCandidate,
} from '../../eval/baselines/baselines.js';
import type { GeneratorHit, GeneratorName } from '../../src/candidates/merge.js';
import { candidateText } from '../../src/linking/link-input.js';
import type { GoldQuery } from '../../eval/harness/format.js';

const hit = (generator: GeneratorName, score: number): GeneratorHit => ({
  generator,
  score,
  rank: 1,
  matchedName: null,
});
const raw = (id: string, ...hits: GeneratorHit[]): RawCandidate => ({
  entity: { id },
  generators: hits,
});
const c = (entity: string, score: number) => ({ entity, score });

const query: GoldQuery = {
  id: 'q',
  split: 'dev',
  kind: 'scene',
  domain: 'd',
  image: 'x.png',
  width: 100,
  height: 100,
  caption: 'A lion and a dodo.',
  mentions: [
    { id: 'm1', start: 2, end: 6, text: 'lion', gold: 'L' },
    { id: 'm2', start: 13, end: 17, text: 'dodo', gold: null },
  ],
  regions: [
    { id: 'r1', box: [0, 0, 50, 50], gold: 'L' },
    { id: 'r2', box: [50, 0, 50, 50], gold: 'G' },
  ],
  pairs: [{ mention: 'm1', region: 'r1' }],
};

const found = {
  mentions: [
    [raw('L', hit('BM25', 1), hit('DENSE_TEXT', 0.5)), raw('T', hit('DENSE_TEXT', 0.8))],
    [raw('D', hit('SHARED_WORDS', 0.4))],
  ],
  regions: [
    [
      raw('T', hit('DENSE_IMAGE', 0.7)),
      raw('L', hit('DENSE_IMAGE', 0.6)),
      raw('G', hit('DENSE_IMAGE', 0.1)),
    ],
    [raw('G', hit('DENSE_IMAGE', 0.9)), raw('L', hit('DENSE_IMAGE', 0.2))],
  ],
};

describe('baseline candidate lists', () => {
  it('keeps only the candidates of the chosen generators, scored by them alone', () => {
    const lists = found.mentions[0] ?? [];
    expect(restrict(lists, ['BM25', 'SHARED_WORDS', 'CONTAINMENT', 'ACRONYM'])).toEqual([
      c('L', 0.6),
    ]);
    expect(restrict(lists, ['DENSE_TEXT'])).toEqual([c('T', 0.8), c('L', 0.5)]);
  });

  it('fuses by summed min-max normalised scores', () => {
    // text: L 1, T 0; image: T 1, L 0.5, G 0 → L 1.5, T 1, G 0.
    expect(fuse([c('L', 0.9), c('T', 0.3)], [c('T', 0.7), c('L', 0.4), c('G', 0.1)])).toEqual([
      c('L', 1.5),
      c('T', 1),
      c('G', 0),
    ]);
  });

  it('pairs mentions with regions by their best shared candidate, one-to-one', () => {
    const mentions = [[c('L', 1), c('T', 0)], [c('D', 1)]];
    const regions = [
      [c('T', 1), c('L', 0)],
      [c('L', 1), c('G', 0)],
    ];
    // m1 shares L with r2 at 1 + 1 = 2 (with r1 only T or L at 1); m2 shares nothing.
    expect(alignByBestSharedCandidate(mentions, regions)).toEqual([[0, 1]]);
  });
});

describe('baseline predictions', () => {
  it('links V&T-KG pairs by id; text-only baselines leave lone regions unlinked', () => {
    const line = predictQuery('dense-text', 'V&T-KG', query, found);
    expect(line.links.map((l) => [l.mention, l.region, l.prediction])).toEqual([
      ['m1', 'r1', 'T'],
      ['m2', null, null], // D has no DENSE_TEXT hit: empty list, NIL
    ]);
  });

  it('links V-T-KG regions by box for the image baseline', () => {
    const line = predictQuery('dense-image', 'VT-KG', query, found);
    expect(line.links.map((l) => [l.mentionSpan, l.box, l.prediction])).toEqual([
      [null, [0, 0, 50, 50], 'T'],
      [null, [50, 0, 50, 50], 'G'],
    ]);
  });

  it('fuses the gold pair in V&T-KG and aligns by itself in V-T-KG', () => {
    const vt = predictQuery('fusion', 'V&T-KG', query, found);
    // text (BM25+rules+dense): L 1 − (1−0.6)(1−0.3) = 0.72, T 0.48 → L 1, T 0; image T 1, L 0.833, G 0.
    expect(vt.links[0]?.candidates.map((x) => x.entity)).toEqual(['L', 'T', 'G']);
    expect(vt.links[0]?.prediction).toBe('L');
    const vtkg = predictQuery('fusion', 'VT-KG', query, found);
    expect(vtkg.links.map((l) => [l.mentionSpan, l.box])).toEqual([
      // m1–r1 share L at 1 + 0.833, m1–r2 only L at 1 + 0; m2 shares nothing.
      [
        [2, 6],
        [0, 0, 50, 50],
      ],
      [[13, 17], null],
      [null, [50, 0, 50, 50]],
    ]);
  });

  it('chooses the NIL threshold on dev and applies it', () => {
    const lines = [predictQuery('bm25-rules', 'V&T-KG', query, found)];
    // Pair: L at 0.6 (right). m2: D at 0.7·0.4 = 0.28 (gold NIL). r2 has no text: unanswered.
    // Thresholds tried: none, 0.28, 0.6; only 0.6 makes m2 NIL: P 1, R@1 1/2, F1 2/3.
    const { threshold, f1 } = chooseThreshold([query], lines, 'dev');
    expect(threshold).toBeCloseTo(0.6, 12);
    expect(f1).toBeCloseTo(2 / 3, 12);
    const applied = applyThreshold(lines, threshold);
    expect(applied[0]?.links.map((l) => l.prediction)).toEqual(['L', null]);
  });
});

describe('inputs the project services accept', () => {
  it('clips riddle mentions to 500 characters at a word boundary', () => {
    const long = `${'word '.repeat(150)}end`;
    const clipped = candidateText(long);
    expect(clipped.length).toBeLessThanOrEqual(500);
    expect(clipped.endsWith('word')).toBe(true);
    expect(candidateText('  Holy Roman  ')).toBe('Holy Roman');
  });
});
