import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GoldQuery, PredictionLine, Task } from '../../eval/harness/format.js';
import type { MetricsWithCI } from '../../eval/harness/scoring.js';
import {
  nilF1,
  parseRunSpec,
  scoreRuns,
  type RunsSummary,
  type ScoreRunsResult,
  type Thresholds,
} from '../../eval/zemel/score-runs.js';

/**
 * Worked example. Every query has one mention ("thing", [0, 5)), so each query is one unit.
 *
 * dev d1 (gold A) tops A 0.9, d2 (NIL) tops C 0.3, d3 (gold B) tops B 0.7. Thresholds tried:
 * never NIL: P 2/3, R 1 (F1 0.8); 0.3: the same; 0.7: d2 NIL, P 1, R 1 (F1 1); 0.9: d3 NIL too
 * (F1 2/3). So the full run's threshold is 0.7.
 *
 * test t1 (gold A) tops A 0.95, t2 (NIL) tops D 0.5, t3 (gold B) tops B 0.65, t4 (gold C) tops
 * C 0.9. At 0.7, t2 and t3 become NIL: P 2/2, R@1 2/3, NIL P 1/2, NIL R 1/1. Without the
 * threshold P would be 3/4 and R@1 1.
 *
 * The subset run names other dev queries: e1 (gold A) tops A 0.9, e2 (gold B) tops B 0.5 and
 * n1-n3 (NIL) top C 0.5; u1, u2 (gold A) are dev queries it does not name. On its own five
 * queries, threshold 0.9 (link e1 only: P 1, R 1/2, F1 2/3) beats linking all (P 2/5, R 2/2,
 * F1 4/7); with u1, u2 counted as unanswered, linking all would win (F1 4/9 against 2/5). On test
 * it has only t1, t2: scored on those two queries, R@1 1/1 and NIL R 1/1 at 0.9; on the whole test
 * split it would be R@1 1/3 over 4 queries. (The full run's dev file does not name e1-u2 either.)
 */

const gq = (id: string, split: string, gold: string | null): GoldQuery => ({
  id,
  split,
  kind: 'single',
  domain: 'd',
  image: `${id}.png`,
  width: 10,
  height: 10,
  caption: 'thing here',
  mentions: [{ id: 'm1', start: 0, end: 5, text: 'thing', gold }],
  regions: [],
  pairs: [],
});

const GOLD: GoldQuery[] = [
  gq('x1', 'train', 'A'),
  gq('d1', 'dev', 'A'),
  gq('d2', 'dev', null),
  gq('d3', 'dev', 'B'),
  gq('e1', 'dev', 'A'),
  gq('e2', 'dev', 'B'),
  gq('n1', 'dev', null),
  gq('n2', 'dev', null),
  gq('n3', 'dev', null),
  gq('u1', 'dev', 'A'),
  gq('u2', 'dev', 'A'),
  gq('t1', 'test', 'A'),
  gq('t2', 'test', null),
  gq('t3', 'test', 'B'),
  gq('t4', 'test', 'C'),
];

const TOPS: Record<string, [string, number][]> = {
  d1: [
    ['A', 0.9],
    ['B', 0.1],
  ],
  d2: [['C', 0.3]],
  d3: [['B', 0.7]],
  e1: [['A', 0.9]],
  e2: [['B', 0.5]],
  n1: [['C', 0.5]],
  n2: [['C', 0.5]],
  n3: [['C', 0.5]],
  t1: [
    ['A', 0.95],
    ['C', 0.2],
  ],
  t2: [['D', 0.5]],
  t3: [
    ['B', 0.65],
    ['A', 0.1],
  ],
  t4: [['C', 0.9]],
};

function line(query: string, task: Task): PredictionLine {
  const candidates = (TOPS[query] ?? []).map(([entity, score]) => ({ entity, score }));
  return {
    query,
    task,
    links: [
      {
        mention: task === 'V&T-KG' ? 'm1' : null,
        mentionSpan: task === 'VT-KG' ? [0, 5] : null,
        region: null,
        box: null,
        candidates,
        prediction: candidates[0]?.entity ?? null,
      },
    ],
  };
}

const jsonl = (lines: readonly object[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const both = (queries: readonly string[]) =>
  queries.flatMap((q) => [line(q, 'VT-KG'), line(q, 'V&T-KG')]);

async function writeRun(
  dir: string,
  dev: readonly PredictionLine[],
  test: readonly PredictionLine[],
  meta?: object,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'dev.jsonl'), jsonl(dev));
  await writeFile(path.join(dir, 'test.jsonl'), jsonl(test));
  if (meta) await writeFile(path.join(dir, 'run.json'), JSON.stringify(meta));
}

const BASELINE_SUMMARY = {
  baselines: [
    {
      baseline: 'fusion',
      title: '(d) text + image late fusion',
      thresholds: { 'V&T-KG': { value: 0.989, devF1: 0.9 } },
      tasks: [
        {
          task: 'V&T-KG',
          queries: 768,
          atN: {
            '5': { precision: { value: 0.5, ci95: [0.4, 0.6] } },
            '100': {
              precision: { value: 0.772, ci95: [0.752, 0.79] },
              nilPrecision: { value: 0.5, ci95: [0.4, 0.6] },
              nilRecall: { value: 0.25, ci95: [0.2, 0.3] },
            },
          },
        },
      ],
    },
  ],
};

/** The cells of the README table row whose first cell is `title`, in the section of `task`. */
function tableRow(readme: string, heading: string, title: string): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`no section ${heading}`);
  const row = section
    .split('\n')
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    )
    .find((cells) => cells[0] === title);
  if (!row) throw new Error(`no row ${title} in ${heading}`);
  return row;
}

function at(summary: RunsSummary, run: string, task: Task, n: string): MetricsWithCI {
  const m = summary.runs.find((r) => r.name === run)?.tasks.find((t) => t.task === task)?.atN[n];
  if (!m) throw new Error(`no ${run} ${task} N=${n}`);
  return m;
}

let root: string;
let result: ScoreRunsResult;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'eval-score-runs-'));
  await writeFile(path.join(root, 'queries.jsonl'), jsonl(GOLD));
  await writeFile(path.join(root, 'baselines.json'), JSON.stringify(BASELINE_SUMMARY));
  await writeRun(
    path.join(root, 'full'),
    both(['d1', 'd2', 'd3']),
    both(['t1', 't2', 't3', 't4']),
    { title: 'Tiny poly head', head: 'poly', codes: 16 },
  );
  // The subset run has V&T-KG lines only and no run.json.
  await writeRun(
    path.join(root, 'subset'),
    ['e1', 'e2', 'n1', 'n2', 'n3'].map((q) => line(q, 'V&T-KG')),
    ['t1', 't2'].map((q) => line(q, 'V&T-KG')),
  );
  result = await scoreRuns({
    gold: path.join(root, 'queries.jsonl'),
    runs: [
      { name: 'full', dir: path.join(root, 'full') },
      { name: 'subset', dir: path.join(root, 'subset') },
    ],
    out: path.join(root, 'out'),
    baselines: path.join(root, 'baselines.json'),
    resamples: 50,
    log: () => {},
  });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('scoreRuns', () => {
  it('chooses the NIL threshold per task on the dev predictions', () => {
    const full = result.summary.runs.find((r) => r.name === 'full');
    expect(full?.thresholds['V&T-KG']).toEqual({ value: 0.7, devF1: 1 });
    expect(full?.thresholds['VT-KG']).toEqual({ value: 0.7, devF1: 1 });
    const subset = result.summary.runs.find((r) => r.name === 'subset');
    expect(subset?.thresholds['V&T-KG']).toEqual({ value: 0.9, devF1: 2 / 3 });
    expect(subset?.thresholds['VT-KG']).toBeUndefined();
  });

  it('makes a test link whose top score is below the threshold NIL', () => {
    for (const task of ['VT-KG', 'V&T-KG'] as const) {
      const m = at(result.summary, 'full', task, '100');
      // t2 (NIL gold, 0.5) and t3 (gold B, 0.65) are NIL; t1 and t4 are linked, both right.
      expect(m.precision.value).toBe(1);
      expect(m.recallAt1.value).toBeCloseTo(2 / 3, 12);
      expect(m.nilPrecision.value).toBe(0.5);
      expect(m.nilRecall.value).toBe(1);
    }
    const report = result.reports.full?.tasks.find((t) => t.task === 'V&T-KG');
    expect(report?.units).toEqual({ goldNonNil: 3, goldNil: 1, spurious: 0 });
  });

  it('scores a run on the queries its own files name', () => {
    const subset = result.summary.runs.find((r) => r.name === 'subset');
    expect(subset?.queries).toEqual({ dev: 5, test: 2 });
    expect(subset?.meta).toBeNull();
    expect(subset?.tasks.map((t) => [t.task, t.queries])).toEqual([['V&T-KG', 2]]);
    const m = at(result.summary, 'subset', 'V&T-KG', '100');
    expect(m.recallAt1.value).toBe(1);
    expect(m.nilRecall.value).toBe(1);
    expect(result.summary.runs.find((r) => r.name === 'full')?.queries).toEqual({
      dev: 3,
      test: 4,
    });
  });

  it('writes per-run metrics with the thresholds, a summary and a README', async () => {
    const out = path.join(root, 'out');
    const metrics = JSON.parse(await readFile(path.join(out, 'full', 'metrics.json'), 'utf8')) as {
      thresholds: Thresholds;
      split: string;
    };
    expect(metrics.thresholds['V&T-KG']?.value).toBe(0.7);
    expect(metrics.split).toBe('test');
    expect(await readFile(path.join(out, 'subset', 'metrics.md'), 'utf8')).toContain('V&T-KG');
    const summary = JSON.parse(
      await readFile(path.join(out, 'summary.json'), 'utf8'),
    ) as RunsSummary;
    expect(summary.runs[0]?.meta).toEqual({ title: 'Tiny poly head', head: 'poly', codes: 16 });
    expect(summary.runs[0]?.title).toBe('Tiny poly head');
    expect(summary.machine.node).toBe(process.version);
    expect(await readFile(path.join(out, 'README.md'), 'utf8')).toBe(result.readme);
  });

  it('puts each run and the baselines in the README tables', () => {
    const full = tableRow(result.readme, 'V&T-KG', 'Tiny poly head');
    // run, queries, threshold, P5, P100, R@1 5, R@1 100, F1 5, F1 100, NIL P, NIL R, NIL F1
    expect(full).toHaveLength(12);
    expect(full.slice(0, 3)).toEqual(['Tiny poly head', '4', '0.700']);
    expect(full[4]).toMatch(/^100\.0 \[/);
    expect(full[6]).toMatch(/^66\.7 \[\d+\.\d, \d+\.\d\]$/);
    expect(full[9]).toMatch(/^50\.0 \[/);
    expect(full[11]).toBe('66.7');
    expect(tableRow(result.readme, 'V-T-KG', 'Tiny poly head')[1]).toBe('4');
    expect(tableRow(result.readme, 'V&T-KG', 'subset').slice(0, 3)).toEqual([
      'subset',
      '2',
      '0.900',
    ]);
    expect(() => tableRow(result.readme, 'V-T-KG', 'subset')).toThrow();
    const baseline = tableRow(
      result.readme,
      'V&T-KG',
      '(d) text + image late fusion (untrained baseline)',
    );
    expect(baseline.slice(0, 5)).toEqual([
      '(d) text + image late fusion (untrained baseline)',
      '768',
      '0.989',
      '50.0 [40.0, 60.0]',
      '77.2 [75.2, 79.0]',
    ]);
    expect(baseline[11]).toBe('33.3');
  });
});

describe('inputs', () => {
  it('parses NAME=DIR', () => {
    expect(parseRunSpec('poly16=var/zemel/runs/a=b')).toEqual({
      name: 'poly16',
      dir: 'var/zemel/runs/a=b',
    });
    expect(() => parseRunSpec('var/zemel/runs/a')).toThrow(/NAME=DIR/);
    expect(() => parseRunSpec('a/b=dir')).toThrow(/NAME=DIR/);
  });

  it('rejects a test file naming queries outside the test split, and unsorted candidates', async () => {
    const gold = path.join(root, 'queries.jsonl');
    const wrong = path.join(root, 'wrong');
    await writeRun(wrong, both(['d1']), both(['t1', 'd2']));
    await expect(
      scoreRuns({ gold, runs: [{ name: 'w', dir: wrong }], out: path.join(root, 'w'), log() {} }),
    ).rejects.toThrow(/not test queries/);
    const unsorted = path.join(root, 'unsorted');
    const bad = line('t3', 'V&T-KG');
    await writeRun(unsorted, both(['d1']), [
      {
        ...bad,
        links: [{ ...bad.links[0]!, candidates: [...bad.links[0]!.candidates].reverse() }],
      },
    ]);
    await expect(
      scoreRuns({
        gold,
        runs: [{ name: 'u', dir: unsorted }],
        out: path.join(root, 'u'),
        log() {},
      }),
    ).rejects.toThrow(/not sorted/);
  });

  it('gives NIL F1 from NIL P and R, with the report interval only when it has one', () => {
    const est = (value: number | null, ci95: [number, number] | null = null) => ({ value, ci95 });
    const base = {
      precision: est(null),
      recallAt1: est(null),
      f1: est(null),
      candidateRecall: est(null),
    };
    expect(nilF1({ ...base, nilPrecision: est(0.5, [0, 1]), nilRecall: est(1, [0, 1]) })).toBe(
      '66.7',
    );
    expect(nilF1({ ...base, nilPrecision: est(null), nilRecall: est(0) })).toBe('–');
    const withOwn = {
      ...base,
      nilPrecision: est(0.5),
      nilRecall: est(1),
      nilF1: est(0.6, [0.5, 0.7]),
    } as MetricsWithCI;
    expect(nilF1(withOwn)).toBe('60.0 [50.0, 70.0]');
  });
});
