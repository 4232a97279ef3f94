import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyThreshold, chooseThreshold } from '../baselines/baselines.js';
import {
  readGoldQueries,
  readPredictions,
  TASKS,
  type GoldQuery,
  type PredictionLine,
  type Task,
} from '../harness/format.js';
import { machine } from '../harness/machine.js';
import { pct, withCI } from '../harness/report.js';
import { optionalNumber, writeReport } from '../harness/score.js';
import {
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  scorePredictions,
  type Estimate,
  type GroupReport,
  type MetricsWithCI,
  type ScoreReport,
} from '../harness/scoring.js';
import { fileExists, writeFormatted } from '../harness/write.js';

/**
 * Scores the raw predictions of trained linker runs (models/zemel/) with the evaluation harness,
 * as run-baselines.ts scores the baselines: per run and task, the NIL threshold with the best
 * micro-F1 at N = 100 on the run's dev predictions, applied to its test predictions. A run may
 * cover only a subset of the queries (an expensive reranker evaluated on a fixed subset); it is
 * scored on the gold queries its own files name, dev and test separately.
 */

const USAGE = `usage: score-runs.ts --gold var/benchmark/queries.jsonl --run NAME=DIR [--run NAME=DIR ...]
  [--out eval-results/<date>-zemel] [--split test] [--dev-split dev]
  [--baselines eval-results/2026-11-25-baselines/summary.json] [--resamples 1000] [--seed 1]
  DIR holds <split>.jsonl and <dev-split>.jsonl (harness prediction lines of both tasks, candidates
  best first, prediction = top candidate or null, no threshold applied) and optionally run.json
  (free-form metadata, copied into the summary; its "title" names the run in the tables).`;

export interface RunSpec {
  /** Folder name of the run's metrics under the output folder. */
  readonly name: string;
  readonly dir: string;
}

export interface ScoreRunsOptions {
  /** Gold queries (`var/benchmark/queries.jsonl`). */
  readonly gold: string;
  readonly runs: readonly RunSpec[];
  readonly out: string;
  /** Scored split; the run's predictions are `<dir>/<split>.jsonl`. Default `test`. */
  readonly split?: string;
  /** Split the thresholds are chosen on; `<dir>/<devSplit>.jsonl`. Default `dev`. */
  readonly devSplit?: string;
  /** A run-baselines `summary.json` whose rows are added to the tables. */
  readonly baselines?: string;
  readonly resamples?: number;
  readonly seed?: number;
  /** Progress messages (default: stderr). */
  readonly log?: (message: string) => void;
}

export type Thresholds = Partial<Record<Task, { value: number | null; devF1: number | null }>>;

interface TaskSummary {
  readonly task: Task;
  readonly queries: number;
  readonly predictedQueries?: number;
  readonly units?: GroupReport['units'];
  readonly atN: Record<string, MetricsWithCI>;
}

export interface RunSummary {
  readonly name: string;
  readonly title: string;
  readonly dir: string;
  /** Gold queries scored: those named in the run's dev and test files. */
  readonly queries: { readonly dev: number; readonly test: number };
  readonly thresholds: Thresholds;
  /** The run's `run.json`, or null when it has none. */
  readonly meta: Record<string, unknown> | null;
  readonly tasks: TaskSummary[];
}

export interface RunsSummary {
  readonly date: string;
  readonly gold: string;
  readonly split: string;
  readonly devSplit: string;
  readonly baselines: string | null;
  readonly machine: ReturnType<typeof machine>;
  readonly timings: { readonly scoringS: number };
  readonly runs: RunSummary[];
}

interface BaselineRow {
  readonly title: string;
  readonly thresholds: Thresholds;
  readonly tasks: readonly TaskSummary[];
}

export interface ScoreRunsResult {
  readonly summary: RunsSummary;
  readonly readme: string;
  readonly reports: Record<string, ScoreReport>;
}

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `NAME=DIR` of the command line. */
export function parseRunSpec(text: string): RunSpec {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq) : '';
  const dir = eq > 0 ? text.slice(eq + 1) : '';
  if (!RUN_NAME.test(name) || dir === '')
    throw new Error(`--run ${text}: expected NAME=DIR with NAME of letters, digits, ".", "_", "-"`);
  return { name, dir };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readRunMeta(dir: string): Promise<Record<string, unknown> | null> {
  const file = path.join(dir, 'run.json');
  if (!(await fileExists(file))) return null;
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new Error(`${file}: not valid JSON`);
  }
  if (!isObject(value)) throw new Error(`${file}: must be a JSON object`);
  return value;
}

/**
 * The run's prediction lines of one split and the gold queries they name. Strict: a line whose
 * query is not a gold query of that split, or whose candidates are not sorted best first (the
 * threshold is applied to the first candidate), is an error.
 */
async function readRunSplit(
  file: string,
  gold: readonly GoldQuery[],
  split: string,
): Promise<{ lines: PredictionLine[]; gold: GoldQuery[] }> {
  if (!(await fileExists(file))) throw new Error(`${file}: no such file`);
  const lines = await readPredictions(file);
  if (lines.length === 0) throw new Error(`${file}: no prediction lines`);
  const bySplit = new Map(gold.filter((q) => q.split === split).map((q) => [q.id, q]));
  const unknown = [...new Set(lines.map((l) => l.query))].filter((id) => !bySplit.has(id));
  if (unknown.length > 0)
    throw new Error(
      `${file}: ${unknown.length} queries are not ${split} queries of the gold (${unknown.slice(0, 3).join(', ')})`,
    );
  lines.forEach((line, index) =>
    line.links.forEach((link) => {
      for (let i = 1; i < link.candidates.length; i += 1) {
        if ((link.candidates[i]?.score ?? 0) > (link.candidates[i - 1]?.score ?? 0))
          throw new Error(`${file}: line ${index + 1}: candidates are not sorted best first`);
      }
    }),
  );
  const named = new Set(lines.map((l) => l.query));
  return { lines, gold: [...bySplit.values()].filter((q) => named.has(q.id)) };
}

/**
 * applyThreshold, except that a link the run itself left NIL (`prediction: null`) stays NIL, as
 * the harness's decide() treats it on dev when the threshold is chosen.
 */
function thresholdLines(lines: readonly PredictionLine[], threshold: number): PredictionLine[] {
  return applyThreshold(lines, threshold).map((line, i) => ({
    ...line,
    links: line.links.map((link, j) =>
      lines[i]?.links[j]?.prediction === null ? { ...link, prediction: null } : link,
    ),
  }));
}

function taskSummaries(report: ScoreReport): TaskSummary[] {
  return report.tasks.map((t) => ({
    task: t.task,
    queries: t.queries,
    predictedQueries: t.predictedQueries,
    units: t.units,
    atN: t.atN,
  }));
}

/** The thresholds of a baseline summary entry: `{ [task]: { value, devF1 } }`. */
function baselineThresholds(value: unknown): Thresholds {
  const out: Thresholds = {};
  if (!isObject(value)) return out;
  for (const task of TASKS) {
    const t = value[task];
    if (!isObject(t)) continue;
    const num = (x: unknown) => (typeof x === 'number' ? x : null);
    out[task] = { value: num(t.value), devF1: num(t.devF1) };
  }
  return out;
}

async function readBaselines(file: string): Promise<BaselineRow[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new Error(`${file}: not valid JSON`);
  }
  if (!isObject(value) || !Array.isArray(value.baselines))
    throw new Error(`${file}: not a run-baselines summary (no "baselines" array)`);
  return value.baselines.map((b: unknown, i: number): BaselineRow => {
    if (!isObject(b) || !Array.isArray(b.tasks))
      throw new Error(`${file}: baselines[${i}] has no "tasks" array`);
    const fallback = typeof b.baseline === 'string' ? b.baseline : `baseline ${i + 1}`;
    return {
      title: typeof b.title === 'string' ? b.title : fallback,
      thresholds: baselineThresholds(b.thresholds),
      tasks: b.tasks as TaskSummary[],
    };
  });
}

// ---------------------------------------------------------------------------------------------
// README

const cell = (text: string) => text.replaceAll('|', '\\|');

/** NIL F1: the report's own estimate when it has one, else the harmonic mean of NIL P and R. */
export function nilF1(at: MetricsWithCI | undefined): string {
  const own = (at as Partial<Record<string, Estimate>> | undefined)?.nilF1;
  if (own) return withCI(own);
  const p = at?.nilPrecision?.value ?? null;
  const r = at?.nilRecall?.value ?? null;
  if (p === null || r === null) return '–';
  return pct(p + r > 0 ? (2 * p * r) / (p + r) : 0);
}

function row(
  title: string,
  task: TaskSummary,
  threshold: number | null | undefined,
  ns: readonly [string, string],
): string {
  const [n0, n] = ns;
  const a = task.atN[n0];
  const b = task.atN[n];
  const thr = threshold === null || threshold === undefined ? 'none' : threshold.toFixed(3);
  return `| ${cell(title)} | ${task.queries} | ${thr} | ${withCI(a?.precision)} | ${withCI(b?.precision)} | ${withCI(a?.recallAt1)} | ${withCI(b?.recallAt1)} | ${withCI(a?.f1)} | ${withCI(b?.f1)} | ${withCI(b?.nilPrecision)} | ${withCI(b?.nilRecall)} | ${nilF1(b)} |`;
}

export function summaryMarkdown(
  summary: RunsSummary,
  baselines: readonly BaselineRow[],
  resamples: number,
  seed: number,
): string {
  const { runs, ...meta } = summary;
  const lines = [
    `# Polylink-MEL trained linker runs (${summary.split} split)`,
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
    `Percentages; brackets: bootstrap 95% intervals over queries (${resamples.toLocaleString('en-US')} resamples, seed ${seed}). N: candidate-list size, gold inserted (Zheng et al. 2022). NIL threshold chosen per run and task on the run's own ${summary.devSplit} predictions, for micro-F1 at N = 100. Each run is scored on the ${summary.split} queries its prediction file names ("queries"); a run on a subset is not directly comparable with a row on the whole split. NIL P, NIL R and NIL F1 do not depend on N; NIL F1 is the harmonic mean of NIL P and NIL R (point value).`,
    '',
    '## Runs',
    '',
  ];
  for (const r of runs) {
    const about = r.meta === null ? 'no run.json' : `run.json: \`${JSON.stringify(r.meta)}\``;
    lines.push(
      `- \`${r.name}\`: ${r.title}; \`${r.dir}\`; ${r.queries.test} ${summary.split} / ${r.queries.dev} ${summary.devSplit} queries; ${about}`,
    );
  }
  lines.push('');
  if (summary.baselines !== null)
    lines.push(
      `Untrained baselines: from \`${summary.baselines}\` (their own ${summary.devSplit} thresholds, their own query set).`,
      '',
    );
  const ns: [string, string] = ['5', '100'];
  for (const task of TASKS) {
    lines.push(
      `## ${task === 'VT-KG' ? 'V-T-KG' : 'V&T-KG'}`,
      '',
      '| run | queries | NIL threshold | P (N=5) | P (N=100) | R@1 (N=5) | R@1 (N=100) | F1 (N=5) | F1 (N=100) | NIL P | NIL R | NIL F1 |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of runs) {
      const t = r.tasks.find((x) => x.task === task);
      if (t) lines.push(row(r.title, t, r.thresholds[task]?.value, ns));
    }
    for (const b of baselines) {
      const t = b.tasks.find((x) => x.task === task);
      if (t) lines.push(row(`${b.title} (untrained baseline)`, t, b.thresholds[task]?.value, ns));
    }
    lines.push('');
  }
  lines.push('Per-run details (per unit type, domain and kind): `<run>/metrics.md`.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Scoring

export async function scoreRuns(options: ScoreRunsOptions): Promise<ScoreRunsResult> {
  const log =
    options.log ??
    ((message: string) =>
      process.stderr.write(`[score-runs ${new Date().toISOString()}] ${message}\n`));
  const split = options.split ?? 'test';
  const devSplit = options.devSplit ?? 'dev';
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const seed = options.seed ?? DEFAULT_SEED;
  if (options.runs.length === 0) throw new Error('no runs to score');
  const names = options.runs.map((r) => r.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new Error(`run name ${duplicate} is given twice`);
  for (const r of options.runs) parseRunSpec(`${r.name}=${r.dir}`);

  const started = Date.now();
  const gold = await readGoldQueries(options.gold);
  const baselines = options.baselines ? await readBaselines(options.baselines) : [];
  const runs: RunSummary[] = [];
  const reports: Record<string, ScoreReport> = {};
  for (const spec of options.runs) {
    const meta = await readRunMeta(spec.dir);
    const title = typeof meta?.title === 'string' ? meta.title : spec.name;
    const dev = await readRunSplit(path.join(spec.dir, `${devSplit}.jsonl`), gold, devSplit);
    const test = await readRunSplit(path.join(spec.dir, `${split}.jsonl`), gold, split);
    log(`${spec.name}: ${test.gold.length} ${split} and ${dev.gold.length} ${devSplit} queries`);
    const thresholds: Thresholds = {};
    const testLines: PredictionLine[] = [];
    for (const task of TASKS) {
      const devLines = dev.lines.filter((l) => l.task === task);
      const lines = test.lines.filter((l) => l.task === task);
      if (lines.length === 0) continue;
      const chosen =
        devLines.length > 0
          ? chooseThreshold(dev.gold, devLines, devSplit)
          : { threshold: -Infinity, f1: null };
      thresholds[task] = {
        value: Number.isFinite(chosen.threshold) ? chosen.threshold : null,
        devF1: chosen.f1,
      };
      testLines.push(...thresholdLines(lines, chosen.threshold));
    }
    const report = scorePredictions(test.gold, testLines, split, { resamples, seed });
    await writeReport(path.join(options.out, spec.name), report, {
      run: spec.name,
      title,
      dir: spec.dir,
      gold: options.gold,
      devSplit,
      queries: { dev: dev.gold.length, test: test.gold.length },
      thresholds,
      meta,
    });
    reports[spec.name] = report;
    runs.push({
      name: spec.name,
      title,
      dir: spec.dir,
      queries: { dev: dev.gold.length, test: test.gold.length },
      thresholds,
      meta,
      tasks: taskSummaries(report),
    });
    log(`${spec.name}: scored`);
  }
  const summary: RunsSummary = {
    date: new Date().toISOString(),
    gold: options.gold,
    split,
    devSplit,
    baselines: options.baselines ?? null,
    machine: machine(),
    timings: { scoringS: (Date.now() - started) / 1000 },
    runs,
  };
  await writeFormatted(
    path.join(options.out, 'summary.json'),
    `${JSON.stringify(summary, null, 2)}\n`,
  );
  const readmeFile = path.join(options.out, 'README.md');
  await writeFormatted(readmeFile, summaryMarkdown(summary, baselines, resamples, seed));
  // What was written, i.e. after Prettier (tables aligned).
  const readme = await readFile(readmeFile, 'utf8');
  return { summary, readme, reports };
}

export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      gold: { type: 'string' },
      run: { type: 'string', multiple: true },
      out: { type: 'string' },
      split: { type: 'string', default: 'test' },
      'dev-split': { type: 'string', default: 'dev' },
      baselines: { type: 'string' },
      resamples: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.gold || !values.run || values.run.length === 0) throw new Error(USAGE);
  const date = new Date().toISOString().slice(0, 10);
  const resamples = optionalNumber(values.resamples, 'resamples');
  const seed = optionalNumber(values.seed, 'seed');
  const { readme } = await scoreRuns({
    gold: values.gold,
    runs: values.run.map(parseRunSpec),
    out: values.out ?? path.join('eval-results', `${date}-zemel`),
    split: values.split,
    devSplit: values['dev-split'],
    ...(values.baselines !== undefined ? { baselines: values.baselines } : {}),
    ...(resamples !== undefined ? { resamples } : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  process.stdout.write(readme);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
