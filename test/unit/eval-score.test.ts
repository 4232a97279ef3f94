import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseGoldQueries,
  parsePredictions,
  type GoldQuery,
  type PredictedLink,
  type PredictionLine,
} from '../../eval/harness/format.js';
import { main } from '../../eval/harness/score.js';
import {
  alignVandT,
  alignVT,
  candidateList,
  decide,
  iou,
  matchBoxes,
  rankCandidates,
  resampleWeights,
  scorePredictions,
  type MetricsWithCI,
  type TaskReport,
} from '../../eval/harness/scoring.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/eval-harness');
const read = (name: string) => readFile(path.join(FIXTURES, name), 'utf8');

const gold = parseGoldQueries(await read('queries.jsonl'));
const mixedVandT = parsePredictions(await read('predictions-vandt.jsonl'));
const vtkg = parsePredictions(await read('predictions-vtkg.jsonl'));

function link(partial: Partial<PredictedLink>): PredictedLink {
  return {
    mention: null,
    mentionSpan: null,
    region: null,
    box: null,
    candidates: [],
    prediction: null,
    ...partial,
  };
}

const cands = (...pairs: [string, number][]) => pairs.map(([entity, score]) => ({ entity, score }));

function only(report: ReturnType<typeof scorePredictions>, task: string): TaskReport {
  const found = report.tasks.find((t) => t.task === task);
  if (!found) throw new Error(`no ${task} in report`);
  return found;
}

function values(m: MetricsWithCI | undefined): Record<string, number | null> {
  if (!m) throw new Error('missing metrics');
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.value]));
}

const FAST = { resamples: 50, seed: 7 };

describe('IoU and region matching', () => {
  it('computes IoU on [x, y, w, h] boxes', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [20, 20, 5, 5])).toBe(0);
    // Touching edges share no area.
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    // 50 in common, 150 in all.
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(1 / 3, 12);
    expect(iou([0, 0, 10, 10], [0, 0, 10, 5])).toBe(0.5);
    expect(iou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });

  it('accepts IoU exactly 0.5 and rejects just below', () => {
    expect(matchBoxes([[0, 0, 10, 10]], [[0, 0, 10, 5]])).toEqual([0]);
    expect(matchBoxes([[0, 0, 10, 10]], [[0, 0, 10, 4.99]])).toEqual([-1]);
  });

  it('matches one-to-one, greedily by IoU rather than by order', () => {
    // P matches A at 70/130 and B at 90/110: it goes to B, and A stays unmatched.
    expect(
      matchBoxes(
        [
          [0, 0, 10, 10],
          [4, 0, 10, 10],
        ],
        [[3, 0, 10, 10]],
      ),
    ).toEqual([-1, 0]);
    // Two predictions on one gold box: only the better one counts.
    expect(
      matchBoxes(
        [[0, 0, 10, 10]],
        [
          [1, 0, 10, 10],
          [0, 0, 10, 10],
        ],
      ),
    ).toEqual([1]);
    // Each gold box gets its own best, though each prediction also overlaps the other gold box.
    expect(
      matchBoxes(
        [
          [0, 0, 10, 10],
          [2, 0, 10, 10],
        ],
        [
          [2, 0, 10, 10],
          [0, 0, 10, 10],
        ],
      ),
    ).toEqual([1, 0]);
  });
});

describe('candidate list of size N (Zheng et al. 2022)', () => {
  const ranked = rankCandidates(
    cands(['a', 0.9], ['b', 0.8], ['c', 0.7], ['d', 0.6], ['e', 0.5], ['f', 0.4]),
  );

  it('ranks by score, stable on ties, each entity once', () => {
    expect(
      rankCandidates(cands(['x', 0.1], ['y', 0.5], ['z', 0.5], ['y', 0.05])).map((c) => c.entity),
    ).toEqual(['y', 'z', 'x']);
  });

  it('keeps the top N when the gold is among them', () => {
    expect(candidateList(ranked, 'e', 5).map((c) => c.entity)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(candidateList(ranked, 'a', 5)).toHaveLength(5);
  });

  it('inserts a gold the system did not retrieve in place of the N-th candidate, ranked last', () => {
    const list = candidateList(ranked, 'g', 5);
    expect(list.map((c) => c.entity)).toEqual(['a', 'b', 'c', 'd', 'g']);
    expect(list[4]?.score).toBe(-Infinity);
  });

  it('keeps the system score for a gold ranked below N', () => {
    expect(candidateList(ranked, 'f', 5)).toEqual(
      cands(['a', 0.9], ['b', 0.8], ['c', 0.7], ['d', 0.6], ['f', 0.4]),
    );
  });

  it('is the top N for a NIL gold, and the whole list when shorter than N', () => {
    expect(candidateList(ranked, null, 5).map((c) => c.entity)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(candidateList(ranked.slice(0, 2), 'g', 5).map((c) => c.entity)).toEqual(['a', 'b', 'g']);
  });

  it('decides NIL by a null prediction or a best score under the threshold', () => {
    const l = link({ candidates: cands(['a', 0.4]), prediction: 'a' });
    expect(decide(l, 'a', 5)).toEqual({ kind: 'entity', entity: 'a' });
    expect(decide(l, 'a', 5, 0.5)).toEqual({ kind: 'nil' });
    expect(decide({ ...l, prediction: null }, 'a', 5)).toEqual({ kind: 'nil' });
    expect(decide(null, 'a', 5)).toEqual({ kind: 'none' });
  });

  it('does not hand out the inserted gold for free when the system found nothing', () => {
    expect(decide(link({ prediction: 'z' }), 'a', 5)).toEqual({ kind: 'entity', entity: 'z' });
    // With any candidate at all, the inserted gold ranks last: the system's top-1 stands.
    expect(decide(link({ candidates: cands(['b', 0.1]), prediction: 'b' }), 'a', 5)).toEqual({
      kind: 'entity',
      entity: 'b',
    });
  });
});

describe('V&T-KG scoring', () => {
  const [q1] = gold as [GoldQuery];

  it('forms units from pairs, lone mentions and lone regions', () => {
    const { outcomes } = alignVandT(q1, []);
    expect(outcomes.map((o) => [o.unit?.type, o.unit?.id, o.unit?.gold])).toEqual([
      ['pair', 'm1+r1', 'A'],
      ['mention', 'm2', null],
      ['region', 'r2', 'B'],
    ]);
  });

  it('scores perfect predictions as 1 everywhere', () => {
    const perfect: PredictionLine[] = [
      {
        query: 'q1',
        task: 'V&T-KG',
        links: [
          link({ mention: 'm1', region: 'r1', candidates: cands(['A', 0.9]), prediction: 'A' }),
          link({ mention: 'm2', candidates: cands(['Y', 0.2]), prediction: null }),
          link({ region: 'r2', candidates: cands(['B', 0.8], ['X', 0.1]), prediction: 'B' }),
        ],
      },
      {
        query: 'q2',
        task: 'V&T-KG',
        links: [
          link({ mention: 'm1', region: 'r1', candidates: cands(['C', 1]), prediction: 'C' }),
        ],
      },
    ];
    const task = only(scorePredictions(gold, perfect, 'test', FAST), 'V&T-KG');
    for (const n of ['5', '100']) {
      expect(values(task.atN[n])).toEqual({
        precision: 1,
        recallAt1: 1,
        f1: 1,
        nilPrecision: 1,
        nilRecall: 1,
        candidateRecall: 1,
      });
    }
    expect(task.atN['100']?.f1.ci95).toEqual([1, 1]);
    expect(task.units).toEqual({ goldNonNil: 3, goldNil: 1, spurious: 0 });
  });

  it('scores all-wrong predictions as 0, with NIL precision undefined', () => {
    const wrong: PredictionLine[] = [
      {
        query: 'q1',
        task: 'V&T-KG',
        links: [
          link({ mention: 'm1', region: 'r1', candidates: cands(['X', 0.9]), prediction: 'X' }),
          link({ mention: 'm2', candidates: cands(['Y', 0.2]), prediction: 'Y' }),
          link({ region: 'r2', candidates: cands(['X', 0.8]), prediction: 'X' }),
        ],
      },
      {
        query: 'q2',
        task: 'V&T-KG',
        links: [
          link({ mention: 'm1', region: 'r1', candidates: cands(['Z', 1]), prediction: 'Z' }),
        ],
      },
    ];
    const task = only(scorePredictions(gold, wrong, 'test', FAST), 'V&T-KG');
    expect(values(task.atN['5'])).toEqual({
      precision: 0,
      recallAt1: 0,
      f1: 0,
      nilPrecision: null,
      nilRecall: 0,
      candidateRecall: 0,
    });
  });

  it('scores a mixed run as worked out by hand', () => {
    // Units: q1 pair (A, right), q1 m2 (NIL, right NIL), q1 r2 (B, wrong: X), q2 pair (C, wrong: Z).
    const report = scorePredictions(gold, mixedVandT, 'test', FAST);
    const task = only(report, 'V&T-KG');
    expect(report.unknownQueries).toBe(1); // q3 is a dev query
    expect(task.queries).toBe(2);
    expect(values(task.atN['5'])).toEqual({
      precision: 1 / 3,
      recallAt1: 1 / 3,
      f1: 1 / 3,
      nilPrecision: 1,
      nilRecall: 1,
      // C is sixth in q2's list: retrieved within 100 but not within 5.
      candidateRecall: 2 / 3,
    });
    expect(values(task.atN['100'])).toMatchObject({ recallAt1: 1 / 3, candidateRecall: 1 });
    expect(values(task.byDomain.animals?.atN['5'])).toMatchObject({
      precision: 0.5,
      recallAt1: 0.5,
    });
    expect(values(task.byDomain.flags?.atN['5'])).toMatchObject({ precision: 0, recallAt1: 0 });
    expect(values(task.byUnitType.pair?.atN['5'])).toMatchObject({
      precision: 0.5,
      recallAt1: 0.5,
    });
    expect(values(task.byUnitType.region?.atN['5'])).toMatchObject({ precision: 0, recallAt1: 0 });
  });

  it('applies a score threshold as NIL', () => {
    // 0.65: q2 (best 0.6) becomes NIL; q1's r2 (best 0.8) stays a wrong link.
    const task = only(
      scorePredictions(gold, mixedVandT, 'test', { ...FAST, threshold: 0.65 }),
      'V&T-KG',
    );
    const m = values(task.atN['5']);
    expect(m.precision).toBe(0.5);
    expect(m.recallAt1).toBe(1 / 3);
    expect(m.f1).toBeCloseTo(0.4, 12);
    expect(m.nilPrecision).toBe(0.5);
    expect(m.nilRecall).toBe(1);
  });

  it('counts a query without predictions as unanswered', () => {
    const task = only(scorePredictions(gold, mixedVandT.slice(0, 1), 'test', FAST), 'V&T-KG');
    expect(values(task.atN['5'])).toMatchObject({ precision: 0.5, recallAt1: 1 / 3 });
  });
});

describe('V-T-KG scoring', () => {
  const [q1] = gold as [GoldQuery];

  it('matches mentions by exact span and regions by IoU, one link answering both', () => {
    const alignment = alignVT(q1, vtkg[0]?.links ?? []);
    expect(
      alignment.outcomes.map((o) => [o.unit?.id ?? 'spurious', o.link?.prediction ?? null]),
    ).toEqual([
      ['m1', 'A'],
      ['m2', null],
      ['r1', 'A'],
      ['r2', null],
      ['spurious', 'B'], // its box overlaps r2 at IoU 0.25 only
      ['spurious', null], // a span no gold mention has
    ]);
    expect(alignment.mentionDetection).toEqual({ gold: 2, predicted: 3, matched: 2 });
    expect(alignment.regionDetection).toEqual({ gold: 2, predicted: 2, matched: 1 });
  });

  it('scores as worked out by hand, q2 unanswered', () => {
    // Gold units: q1 m1 A, m2 NIL, r1 A, r2 B; q2 m1 C, r1 C. Non-NIL predictions: m1, r1 (right),
    // the spurious box (wrong). P = 2/3, R@1 = 2/5, F1 = 1/2.
    const task = only(scorePredictions(gold, vtkg, 'test', FAST), 'VT-KG');
    const m = values(task.atN['100']);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recallAt1).toBeCloseTo(2 / 5, 12);
    expect(m.f1).toBeCloseTo(0.5, 12);
    expect(m.nilPrecision).toBe(1);
    expect(m.nilRecall).toBe(1);
    expect(task.units).toEqual({ goldNonNil: 5, goldNil: 1, spurious: 2 });
    expect(task.predictedQueries).toBe(1);
    expect(values(task.byUnitType.region?.atN['5'])).toMatchObject({
      precision: 0.5,
      recallAt1: 1 / 3,
    });
    expect(task.regionDetection).toMatchObject({
      gold: 3,
      predicted: 2,
      matched: 1,
      recall: 1 / 3,
    });
  });
});

describe('bootstrap', () => {
  // Ten copies of q1 and q2 (the mixed run), so that resamples differ.
  const manyGold: GoldQuery[] = [];
  const manyPredictions: PredictionLine[] = [];
  for (let i = 0; i < 10; i += 1) {
    for (const q of gold.slice(0, 2)) manyGold.push({ ...q, id: `${q.id}-${i}` });
    for (const p of mixedVandT.slice(0, 2))
      manyPredictions.push({ ...p, query: `${p.query}-${i}` });
  }
  const run = (seed: number) =>
    only(scorePredictions(manyGold, manyPredictions, 'test', { resamples: 1000, seed }), 'V&T-KG');

  it('draws n items per resample, the same for the same seed', () => {
    const a = resampleWeights(20, 3, 42);
    expect(a.map((w) => w.reduce((s, k) => s + k, 0))).toEqual([20, 20, 20]);
    expect(resampleWeights(20, 3, 42)).toEqual(a);
    expect(resampleWeights(20, 3, 43)).not.toEqual(a);
  });

  it('is deterministic for a seed, and every interval holds its point estimate', () => {
    const a = run(1);
    expect(run(1)).toEqual(a);
    for (const n of ['5', '100']) {
      for (const [name, estimate] of Object.entries(a.atN[n] ?? {})) {
        if (estimate.value === null) continue;
        const [lo, hi] = estimate.ci95 ?? [Number.NaN, Number.NaN];
        expect(lo, name).toBeLessThanOrEqual(estimate.value);
        expect(hi, name).toBeGreaterThanOrEqual(estimate.value);
      }
    }
    const f1 = a.atN['5']?.f1;
    expect(f1?.value).toBeCloseTo(1 / 3, 12);
    // Twenty queries: a real interval, not a point.
    expect((f1?.ci95?.[1] ?? 0) - (f1?.ci95?.[0] ?? 0)).toBeGreaterThan(0.1);
  });
});

describe('command line', () => {
  it('writes metrics.json and metrics.md', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'eval-score-'));
    try {
      const stdout = process.stdout.write;
      process.stdout.write = () => true;
      try {
        await main([
          '--gold',
          path.join(FIXTURES, 'queries.jsonl'),
          '--predictions',
          path.join(FIXTURES, 'predictions-vandt.jsonl'),
          '--split',
          'test',
          '--resamples',
          '100',
          '--out',
          out,
        ]);
      } finally {
        process.stdout.write = stdout;
      }
      const json = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8')) as {
        tasks: { task: string; atN: Record<string, { recallAt1: { value: number } }> }[];
      };
      expect(json.tasks[0]?.atN['5']?.recallAt1.value).toBeCloseTo(1 / 3, 12);
      const md = await readFile(path.join(out, 'metrics.md'), 'utf8');
      expect(md).toMatch(/\| R@1 +\| 33\.3 \[/);
      expect(md).toContain('## V&T-KG');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('rejects malformed files with the line', () => {
    expect(() => parsePredictions('{"query":"q1","task":"VTKG","links":[]}', 'p.jsonl')).toThrow(
      /p.jsonl: line 1: task/,
    );
    expect(() => parseGoldQueries('{"id":"q"}\n', 'g.jsonl')).toThrow(/g.jsonl: query 1/);
  });
});
