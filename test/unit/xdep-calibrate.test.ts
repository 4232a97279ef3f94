import { describe, expect, it } from 'vitest';
import type { GoldQuery, PredictionLine } from '../../eval/harness/format.js';
import {
  accuracyAt1,
  benchmarkRegionUnits,
  bestThreshold,
  thresholdOutcome,
  type UnitAnswer,
} from '../../eval/xdep/calibrate.js';

const answers: UnitAnswer[] = [
  { gold: 'a', top: 'a', score: 9 },
  { gold: 'b', top: 'b', score: 8 },
  { gold: 'c', top: 'x', score: 3 },
  { gold: null, top: 'y', score: 2 },
  { gold: null, top: 'z', score: 8.5 },
];

describe('xdep calibration', () => {
  it('measures acc@1 over in-KB units only', () => {
    expect(accuracyAt1(answers)).toBeCloseTo(2 / 3);
  });

  it('scores a threshold as micro-F1 over links made and in-KB units', () => {
    // At 8: links a, b (right) and z (wrong): P 2/3, R 2/3.
    expect(thresholdOutcome(answers, 8)).toMatchObject({ precision: 2 / 3, recall: 2 / 3 });
  });

  it('picks the threshold with the best F1, the lower one on a tie', () => {
    const best = bestThreshold(answers);
    // 3: a, b, x, z linked (F1 4/7); 8: a, b, z (2/3); 8.5: a, z (0.4); 9: a alone (0.5).
    expect(best.threshold).toBe(8);
    expect(best.f1).toBeCloseTo(2 / 3);
  });

  it('reads region-only links of dev predictions, by region id or by box', () => {
    const gold = [
      {
        id: 'q1',
        split: 'dev',
        regions: [
          { id: 'r1', box: [0, 0, 10, 10], gold: 'e1' },
          { id: 'r2', box: [20, 20, 5, 5], gold: null },
        ],
      },
    ] as unknown as GoldQuery[];
    const lines: PredictionLine[] = [
      {
        query: 'q1',
        task: 'V&T-KG',
        links: [
          {
            mention: null,
            mentionSpan: null,
            region: 'r1',
            box: null,
            candidates: [{ entity: 'e1', score: 5 }],
            prediction: 'e1',
          },
          {
            mention: 'm1',
            mentionSpan: null,
            region: 'r2',
            box: null,
            candidates: [{ entity: 'e9', score: 9 }],
            prediction: 'e9',
          },
        ],
      },
      {
        query: 'q1',
        task: 'VT-KG',
        links: [
          {
            mention: null,
            mentionSpan: null,
            region: null,
            box: [20, 20, 5, 5],
            candidates: [{ entity: 'e2', score: 1 }],
            prediction: null,
          },
        ],
      },
    ];
    expect(benchmarkRegionUnits(gold, lines)).toEqual([
      { gold: 'e1', top: 'e1', score: 5 },
      { gold: null, top: 'e2', score: 1 },
    ]);
  });
});
