import { describe, expect, it } from 'vitest';
import type { GoldQuery } from '../../eval/harness/format.js';
import { scorePredictions } from '../../eval/harness/scoring.js';
import {
  candidatesOf,
  dataUrlOf,
  emptyLine,
  latency,
  linkInputOf,
  parseModes,
  predictionLine,
  vandtUnits,
  type ServiceResult,
  type ServiceTriple,
} from '../../eval/service/convert.js';
import { parseBaselineSummary, taskTable, type ModeResult } from '../../eval/service/report.js';

/**
 * Hand-worked query: "The cat and the dog." in a 320x160 image.
 * m1 "cat" [4, 7) gold A, m2 "dog" [16, 19) gold NIL; r1 [10, 10, 20, 20] gold A,
 * r2 [300, 10, 30.4, 20] gold B (sticks out of the image: the service clips it to [300, 10, 20, 20]).
 * Gold pair m1-r1. V&T-KG units in the service's order: pair m1+r1, lone m2, lone r2.
 */
const QUERY: GoldQuery = {
  id: 'q1',
  split: 'test',
  kind: 'scene',
  domain: 'd',
  image: 'var/benchmark/images/q1.jpg',
  width: 320,
  height: 160,
  caption: 'The cat and the dog.',
  mentions: [
    { id: 'm1', start: 4, end: 7, text: 'cat', gold: 'A' },
    { id: 'm2', start: 16, end: 19, text: 'dog', gold: null },
  ],
  regions: [
    { id: 'r1', box: [10, 10, 20, 20], gold: 'A' },
    { id: 'r2', box: [300, 10, 30.4, 20], gold: 'B' },
  ],
  pairs: [{ mention: 'm1', region: 'r1' }],
};

const alt = (id: string, score: number) => ({ score, entity: { id } });
const triple = (t: Partial<ServiceTriple>): ServiceTriple => ({
  nil: false,
  score: null,
  mention: null,
  region: null,
  entity: null,
  alternatives: [],
  ...t,
});
const result = (task: string, triples: ServiceTriple[]): ServiceResult => ({
  task,
  model: 'linker:0123456789abcdef',
  modelName: 'zemel-poly@1.0.0',
  nilThreshold: 12.9,
  triples,
  timing: [{ stage: 'total', ms: 10 }],
});

/** The service's V&T-KG answer for QUERY: alternatives deliberately out of order in the pair. */
const VANDT_TRIPLES: ServiceTriple[] = [
  triple({
    mention: { start: 4, end: 7 },
    region: { x: 10, y: 10, width: 20, height: 20 },
    entity: { id: 'A' },
    score: 15,
    alternatives: [alt('C', 9), alt('B', 12)],
  }),
  triple({
    mention: { start: 16, end: 19 },
    nil: true,
    score: 8,
    alternatives: [alt('D', 8), alt('A', 3)],
  }),
  triple({
    region: { x: 300, y: 10, width: 20, height: 20 },
    entity: { id: 'B' },
    score: 14,
  }),
];

describe('linkInputOf', () => {
  const options = { dataUrl: 'data:image/jpeg;base64,AAAA', candidates: 100 };

  it('gives gold spans, boxes and pairs (as indices) in V&T-KG', () => {
    const q: GoldQuery = { ...QUERY, pairs: [{ mention: 'm2', region: 'r1' }] };
    expect(linkInputOf(q, 'vandt-kg', options)).toEqual({
      image: { dataUrl: options.dataUrl },
      caption: 'The cat and the dog.',
      candidates: 100,
      mentions: [
        { start: 4, end: 7 },
        { start: 16, end: 19 },
      ],
      regions: [
        { x: 10, y: 10, width: 20, height: 20 },
        { x: 300, y: 10, width: 30.4, height: 20 },
      ],
      pairs: [{ mention: 1, region: 0 }],
    });
  });

  it('gives spans and boxes but no pairs in mode (b), nothing in mode (c)', () => {
    const given = linkInputOf(QUERY, 'vt-kg-given', options);
    expect(given.mentions).toHaveLength(2);
    expect(given.regions).toHaveLength(2);
    expect(given).not.toHaveProperty('pairs');
    expect(linkInputOf(QUERY, 'vt-kg-auto', options)).toEqual({
      image: { dataUrl: options.dataUrl },
      caption: QUERY.caption,
      candidates: 100,
    });
  });

  it('makes data URLs by file type', () => {
    expect(dataUrlOf(new Uint8Array([1, 2, 3]), 'a/b.JPG')).toBe('data:image/jpeg;base64,AQID');
    expect(() => dataUrlOf(new Uint8Array([1]), 'a/b.txt')).toThrow(/no image type/);
  });

  it('parses --modes', () => {
    expect(parseModes('vt-kg-auto, vandt-kg,vt-kg-auto')).toEqual(['vt-kg-auto', 'vandt-kg']);
    expect(() => parseModes('vt-kg')).toThrow(/unknown mode/);
  });
});

describe('predictionLine, V&T-KG', () => {
  it('lists the units in the order linkImage answers them', () => {
    expect(vandtUnits(QUERY).map((u) => [u.mention?.id ?? null, u.region?.id ?? null])).toEqual([
      ['m1', 'r1'],
      ['m2', null],
      [null, 'r2'],
    ]);
  });

  it('names the gold ids by index, sorts candidates, keeps NIL as a null prediction', () => {
    expect(predictionLine(QUERY, 'vandt-kg', result('V&T-KG', VANDT_TRIPLES))).toEqual({
      query: 'q1',
      task: 'V&T-KG',
      links: [
        {
          mention: 'm1',
          mentionSpan: null,
          region: 'r1',
          box: null,
          candidates: [
            { entity: 'A', score: 15 },
            { entity: 'B', score: 12 },
            { entity: 'C', score: 9 },
          ],
          prediction: 'A',
        },
        {
          mention: 'm2',
          mentionSpan: null,
          region: null,
          box: null,
          candidates: [
            { entity: 'D', score: 8 },
            { entity: 'A', score: 3 },
          ],
          prediction: null,
        },
        {
          mention: null,
          mentionSpan: null,
          region: 'r2',
          box: null,
          candidates: [{ entity: 'B', score: 14 }],
          prediction: 'B',
        },
      ],
    });
  });

  it('refuses triples that do not match their unit', () => {
    const answer = (triples: ServiceTriple[]) =>
      predictionLine(QUERY, 'vandt-kg', result('V&T-KG', triples));
    const [pair, mention, region] = VANDT_TRIPLES as [ServiceTriple, ServiceTriple, ServiceTriple];
    expect(() => answer([pair, mention])).toThrow(/2 triples for 3 V&T-KG units/);
    expect(() => answer([pair, region, mention])).toThrow(/triple 1: mention missing/);
    expect(() => answer([pair, { ...mention, mention: { start: 16, end: 18 } }, region])).toThrow(
      /span \[16, 18\) is not m2's/,
    );
    // The unclipped box is not what the service reports for r2.
    const unclipped = { ...region, region: { x: 300, y: 10, width: 30, height: 20 } };
    expect(() => answer([pair, mention, unclipped])).toThrow(/box \[300, 10, 30, 20\] is not r2's/);
    expect(() => predictionLine(QUERY, 'vandt-kg', result('VT-KG', VANDT_TRIPLES))).toThrow(
      /answered VT-KG in mode vandt-kg/,
    );
  });

  it('scores every V&T-KG unit right on the hand-worked answer', () => {
    const line = predictionLine(QUERY, 'vandt-kg', result('V&T-KG', VANDT_TRIPLES));
    const report = scorePredictions([QUERY], [line], 'test', { resamples: 10 });
    const at = report.tasks[0]!.atN['100']!;
    expect(report.tasks[0]!.task).toBe('V&T-KG');
    expect([
      at.precision.value,
      at.recallAt1.value,
      at.nilPrecision.value,
      at.nilRecall.value,
    ]).toEqual([1, 1, 1, 1]);
  });
});

describe('predictionLine, V-T-KG', () => {
  /**
   * t0: span [4, 7) + box [11, 11, 20, 20] (IoU with r1 361/439) linked to A: answers m1 and r1.
   * t1: span [16, 19) NIL (best D 8): answers m2, gold NIL.
   * t2: a box matching no gold region, linked to B with a low score (1; below any threshold the
   *     harness might apply, but the service decided): spurious, counts as a predicted link.
   * t3: a span matching no gold mention, NIL, no candidates at all.
   * r2 is unanswered. Units: gold non-NIL m1, r1, r2 (3), gold NIL m2 (1).
   * Predicted non-NIL: t0 twice (its two sides) + t2 = 3, correct 2: P 2/3, R@1 2/3.
   * NIL: m2 predicted NIL and gold NIL (t3 is not a gold unit): NIL P 1/1, NIL R 1/1.
   */
  const triples: ServiceTriple[] = [
    triple({
      mention: { start: 4, end: 7 },
      region: { x: 11, y: 11, width: 20, height: 20 },
      entity: { id: 'A' },
      score: 15,
      alternatives: [alt('B', 2)],
    }),
    triple({ mention: { start: 16, end: 19 }, nil: true, score: 8, alternatives: [alt('D', 8)] }),
    triple({ region: { x: 200, y: 100, width: 10, height: 10 }, entity: { id: 'B' }, score: 1 }),
    triple({ mention: { start: 0, end: 3 }, nil: true }),
  ];

  it('carries spans and boxes, no ids', () => {
    const line = predictionLine(QUERY, 'vt-kg-auto', result('VT-KG', triples));
    expect(line.task).toBe('VT-KG');
    expect(
      line.links.map((l) => [l.mention, l.mentionSpan, l.region, l.box, l.prediction]),
    ).toEqual([
      [null, [4, 7], null, [11, 11, 20, 20], 'A'],
      [null, [16, 19], null, null, null],
      [null, null, null, [200, 100, 10, 10], 'B'],
      [null, [0, 3], null, null, null],
    ]);
    expect(line.links[3]!.candidates).toEqual([]);
  });

  it('scores as worked out by hand, with no threshold of the harness', () => {
    const line = predictionLine(QUERY, 'vt-kg-auto', result('VT-KG', triples));
    const report = scorePredictions([QUERY], [line], 'test', { resamples: 10 });
    const task = report.tasks[0]!;
    expect(report.threshold).toBeNull();
    expect(task.units).toEqual({ goldNonNil: 3, goldNil: 1, spurious: 2 });
    for (const n of ['5', '100']) {
      const at = task.atN[n]!;
      expect(at.precision.value).toBeCloseTo(2 / 3);
      expect(at.recallAt1.value).toBeCloseTo(2 / 3);
      expect(at.nilPrecision.value).toBe(1);
      expect(at.nilRecall.value).toBe(1);
    }
    expect(task.mentionDetection).toMatchObject({ gold: 2, predicted: 3, matched: 2 });
    expect(task.regionDetection).toMatchObject({ gold: 2, predicted: 2, matched: 1 });
  });

  it('a failed request leaves every unit unanswered', () => {
    const report = scorePredictions([QUERY], [emptyLine(QUERY, 'vt-kg-given')], 'test', {
      resamples: 10,
    });
    const at = report.tasks[0]!.atN['100']!;
    expect(report.tasks[0]!.task).toBe('VT-KG');
    expect(at.recallAt1.value).toBe(0);
    expect(at.precision.value).toBeNull();
  });
});

describe('candidatesOf', () => {
  it('refuses an inconsistent triple', () => {
    expect(() => candidatesOf(triple({ nil: true, entity: { id: 'A' }, score: 3 }))).toThrow(
      /nil is true but the entity is A/,
    );
    expect(() => candidatesOf(triple({ entity: { id: 'A' } }))).toThrow(/without a score/);
  });

  it('keeps each entity once, best first, stable for ties', () => {
    expect(
      candidatesOf(
        triple({
          entity: { id: 'A' },
          score: 5,
          alternatives: [alt('B', 5), alt('A', 4), alt('C', 6)],
        }),
      ),
    ).toEqual([
      { entity: 'C', score: 6 },
      { entity: 'A', score: 5 },
      { entity: 'B', score: 5 },
    ]);
  });
});

describe('latency and tables', () => {
  it('gives p50 and p95 by linear interpolation', () => {
    expect(latency([40, 10, 30, 20])).toEqual({ requests: 4, p50Ms: 25, p95Ms: 38.5, meanMs: 25 });
    expect(latency([])).toEqual({ requests: 0, p50Ms: null, p95Ms: null, meanMs: null });
  });

  it('puts the service modes, then the paper, then the baselines in a task table', () => {
    const line = predictionLine(QUERY, 'vandt-kg', result('V&T-KG', VANDT_TRIPLES));
    const report = scorePredictions([QUERY], [line], 'test', { resamples: 10 });
    const mode: ModeResult = {
      mode: 'vandt-kg',
      nilThreshold: 12.911911,
      report,
      latency: latency([1]),
      serverLatency: latency([1]),
      wallS: 1,
      queriesPerS: 1,
      errors: [],
    };
    const baselines = parseBaselineSummary({
      baselines: [
        {
          baseline: 'fusion',
          title: '(d) fusion',
          thresholds: { 'V&T-KG': { value: 0.5, devF1: 0.9 } },
          tasks: [{ task: 'V&T-KG', queries: 768, atN: report.tasks[0]!.atN }],
        },
      ],
    });
    const rows = taskTable('V&T-KG', [mode], baselines).slice(2);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^\| \(a\) service, V&T-KG.* \| 1 \| 12\.912 \(linker\) \| 100\.0/);
    expect(rows[1]).toBe(
      '| paper (WikiMEL-like data, not comparable) | – | – | 85.46 | – | – | – | – | – | – | – | – |',
    );
    expect(rows[2]).toMatch(/^\| \(d\) fusion \(untrained baseline\) \| 768 \| 0\.500 \|/);
    expect(taskTable('VT-KG', [mode], [])[2]).toContain('| 82.62 |');
    expect(() => parseBaselineSummary({})).toThrow(/no "baselines" array/);
  });
});
