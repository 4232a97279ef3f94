import type { Task } from '../harness/format.js';
import { TASKS } from '../harness/format.js';
import { pct, withCI } from '../harness/report.js';
import type { Detection, MetricsWithCI, ScoreReport } from '../harness/scoring.js';
import { nilF1 } from '../zemel/score-runs.js';
import { MODE_INFO, type LatencySummary, type Mode } from './convert.js';

/**
 * The README of a service evaluation: per task, the service modes, the paper's figures for
 * reference and the untrained baselines, in the table format of eval/zemel/score-runs.ts. Pure.
 */

/** Zheng et al. 2022's figures quoted for reference: "Pre/5" per task; everything else "–". */
export const PAPER = {
  title: 'paper (WikiMEL-like data, not comparable)',
  pAt5: { 'VT-KG': '82.62', 'V&T-KG': '85.46' } as Record<Task, string>,
};

export interface TaskRow {
  readonly task: Task;
  readonly queries: number;
  readonly atN: Record<string, MetricsWithCI>;
}

export interface BaselineRow {
  readonly title: string;
  readonly thresholds: Partial<Record<Task, number | null>>;
  readonly tasks: readonly TaskRow[];
}

export interface ModeResult {
  readonly mode: Mode;
  /** The NIL threshold the service applied (the linker's, chosen on dev); null: none. */
  readonly nilThreshold: number | null;
  readonly report: ScoreReport;
  readonly latency: LatencySummary;
  /** The service's own `timing.total` per request. */
  readonly serverLatency: LatencySummary;
  readonly wallS: number;
  readonly queriesPerS: number | null;
  readonly errors: readonly { readonly query: string; readonly message: string }[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The rows of a run-baselines `summary.json` (its `baselines` array). */
export function parseBaselineSummary(value: unknown, label = 'baselines'): BaselineRow[] {
  if (!isObject(value) || !Array.isArray(value.baselines))
    throw new Error(`${label}: not a run-baselines summary (no "baselines" array)`);
  return value.baselines.map((b: unknown, i: number): BaselineRow => {
    if (!isObject(b) || !Array.isArray(b.tasks))
      throw new Error(`${label}: baselines[${i}] has no "tasks" array`);
    const thresholds: Partial<Record<Task, number | null>> = {};
    if (isObject(b.thresholds)) {
      for (const task of TASKS) {
        const t = b.thresholds[task];
        if (isObject(t)) thresholds[task] = typeof t.value === 'number' ? t.value : null;
      }
    }
    const fallback = typeof b.baseline === 'string' ? b.baseline : `baseline ${i + 1}`;
    return {
      title: typeof b.title === 'string' ? b.title : fallback,
      thresholds,
      tasks: b.tasks as TaskRow[],
    };
  });
}

const cell = (text: string) => text.replaceAll('|', '\\|');
const taskName = (task: Task) => (task === 'VT-KG' ? 'V-T-KG' : 'V&T-KG');
const threshold = (value: number | null | undefined) =>
  value === null || value === undefined ? 'none' : value.toFixed(3);

/** One row in score-runs.ts's format: P, R@1 and F1 at N = 5 and 100, NIL P/R/F1. */
export function metricsRow(title: string, row: TaskRow, thresholdCell: string): string {
  const a = row.atN['5'];
  const b = row.atN['100'];
  return `| ${cell(title)} | ${row.queries} | ${thresholdCell} | ${withCI(a?.precision)} | ${withCI(b?.precision)} | ${withCI(a?.recallAt1)} | ${withCI(b?.recallAt1)} | ${withCI(a?.f1)} | ${withCI(b?.f1)} | ${withCI(b?.nilPrecision)} | ${withCI(b?.nilRecall)} | ${nilF1(b)} |`;
}

export const TABLE_HEADER = [
  '| system | queries | NIL threshold | P (N=5) | P (N=100) | R@1 (N=5) | R@1 (N=100) | F1 (N=5) | F1 (N=100) | NIL P | NIL R | NIL F1 |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

export function paperRow(task: Task): string {
  return `| ${cell(PAPER.title)} | – | – | ${PAPER.pAt5[task]} | – | – | – | – | – | – | – | – |`;
}

/** Per task: the service modes of that task, the paper, then the baselines. */
export function taskTable(
  task: Task,
  modes: readonly ModeResult[],
  baselines: readonly BaselineRow[],
): string[] {
  const lines = [...TABLE_HEADER];
  for (const m of modes) {
    const t = m.report.tasks.find((x) => x.task === task);
    if (t)
      lines.push(metricsRow(MODE_INFO[m.mode].title, t, `${threshold(m.nilThreshold)} (linker)`));
  }
  lines.push(paperRow(task));
  for (const b of baselines) {
    const t = b.tasks.find((x) => x.task === task);
    if (t)
      lines.push(metricsRow(`${b.title} (untrained baseline)`, t, threshold(b.thresholds[task])));
  }
  return lines;
}

const ms = (value: number | null) => (value === null ? '–' : value.toFixed(0));

export function timingTable(modes: readonly ModeResult[]): string[] {
  const lines = [
    '| mode | requests | errors | wall s | queries/s | p50 ms | p95 ms | server p50 ms | server p95 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const m of modes) {
    lines.push(
      `| ${cell(MODE_INFO[m.mode].title)} | ${m.latency.requests} | ${m.errors.length} | ${m.wallS.toFixed(1)} | ${m.queriesPerS === null ? '–' : m.queriesPerS.toFixed(2)} | ${ms(m.latency.p50Ms)} | ${ms(m.latency.p95Ms)} | ${ms(m.serverLatency.p50Ms)} | ${ms(m.serverLatency.p95Ms)} |`,
    );
  }
  return lines;
}

type DetectionCounts = Detection & { precision: number | null; recall: number | null };

/** Precision and recall cells of a detection count: "75.0 (3/4)". */
function detectionCells(d: DetectionCounts | undefined): [string, string] {
  if (!d) return ['–', '–'];
  return [
    `${pct(d.precision)} (${d.matched}/${d.predicted})`,
    `${pct(d.recall)} (${d.matched}/${d.gold})`,
  ];
}

export function detectionTable(modes: readonly ModeResult[]): string[] {
  const lines = [
    '| mode | mention P | mention R | region P | region R | spurious link sides |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const m of modes) {
    const t = m.report.tasks.find((x) => x.task === 'VT-KG');
    if (!t) continue;
    const [mp, mr] = detectionCells(t.mentionDetection);
    const [rp, rr] = detectionCells(t.regionDetection);
    lines.push(
      `| ${cell(MODE_INFO[m.mode].title)} | ${mp} | ${mr} | ${rp} | ${rr} | ${t.units.spurious} |`,
    );
  }
  return lines;
}

export interface ReadmeInput {
  readonly meta: Record<string, unknown> & { split: string };
  readonly modes: readonly ModeResult[];
  readonly baselines: readonly BaselineRow[];
  /** The baselines summary the rows come from (null: none read). */
  readonly baselinesFile: string | null;
  readonly baselinesQueries: number | null;
}

export function serviceReadme(input: ReadmeInput): string {
  const { meta, modes, baselines } = input;
  const lines = [
    `# Polylink-MEL: the full service through its GraphQL API (${meta.split} split)`,
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
    'Every query of the split was sent to the real HTTP service (`createApp`, the `linkImage` mutation, the query image as a data URL) in these modes:',
    '',
    ...modes.map(
      (m) =>
        `- \`${m.mode}\`: ${MODE_INFO[m.mode].title.replace(/^\([abc]\) service, /, '')}. Given ${MODE_INFO[m.mode].given}. Task ${taskName(MODE_INFO[m.mode].task)}.`,
    ),
    '',
    'Each answer is converted into harness prediction lines (`eval/FORMAT.md`): V&T-KG triples name the gold mention and region ids of the given spans and boxes (by index, checked against the span and the box the service gives back); V-T-KG triples carry their span and box and are matched to the gold by the harness (exact span, IoU >= 0.5, one-to-one). Candidates are the triple’s entity with its score, then its alternatives, best first; `prediction` is the entity or null when the service said NIL. **The service already applied the linker’s NIL threshold (chosen on dev), so the harness applies none of its own.**',
    '',
    'Percentages; brackets: bootstrap 95% intervals over queries (1,000 resamples, seed 1). N: candidate-list size, gold inserted (Zheng et al. 2022). NIL P, NIL R and NIL F1 do not depend on N; NIL F1 is the harmonic mean of NIL P and NIL R (point value).',
    '',
    'How to read the rows:',
    '',
    '- **`linkImage` returns the linked entity and at most 5 alternatives**, so a triple’s candidate list has at most 6 entries; at N = 100 the harness inserts the gold into that short list. The top-1 never changes by the insertion, so R@1 and P at N = 5 and N = 100 coincide; the difference to a list of 100 is only in candidate recall, which the service does not expose.',
    '- **Mode (c) includes detection errors**: spurious mentions and boxes (a detected span or a proposed box that matches no gold mention exactly or no gold region at IoU >= 0.5) count against precision when they link an entity, and missed gold mentions and regions are unanswered units that count against R@1. It is the real end-to-end number. Mode (b) gets the gold spans and boxes, the simplification the baselines use, and only has to pair, link and decide NIL.',
    '- The V-T-KG table holds modes (b) and (c), the V&T-KG table mode (a): a mode is scored on the task it asks the service for.',
    `- The paper row quotes Zheng et al. 2022 (Pre/5, in the P (N=5) column: ${PAPER.pAt5['VT-KG']} on V-T-KG, ${PAPER.pAt5['V&T-KG']} on V&T-KG), measured on their WikiMEL-like data with their own KB: **not comparable** with Polylink-MEL; its other cells are not quoted.`,
    input.baselinesFile === null
      ? '- No untrained baselines were read.'
      : `- The untrained baselines come from \`${input.baselinesFile}\`${input.baselinesQueries !== null ? ` (${input.baselinesQueries} ${meta.split} queries)` : ''}, with their own dev-chosen thresholds; they are comparable with the service rows only when the "queries" columns agree. Their V-T-KG rows had gold spans and boxes, like mode (b).`,
    '',
    '## Timings',
    '',
    'Per request, measured by the client around the HTTP call (base64 image, JSON, GraphQL included); "server" is the service’s own `timing.total`. One untimed warm-up request per mode first (it loads the detector, face and OCR models for mode (c)). Requests one at a time.',
    '',
    ...timingTable(modes),
    '',
  ];
  for (const task of TASKS) {
    if (!modes.some((m) => MODE_INFO[m.mode].task === task)) continue;
    lines.push(`## ${taskName(task)}`, '', ...taskTable(task, modes, baselines), '');
    if (task === 'VT-KG') {
      lines.push(
        'Detection (V-T-KG): predicted link sides matched / predicted, and matched / gold; in mode (b) the spans and boxes are the gold ones.',
        '',
        ...detectionTable(modes),
        '',
      );
    }
  }
  const errors = modes.flatMap((m) => m.errors.map((e) => ({ mode: m.mode, ...e })));
  if (errors.length > 0) {
    lines.push(
      '## Failed requests',
      '',
      `${errors.length} requests failed; their queries count with every unit unanswered.`,
      '',
      ...errors.slice(0, 20).map((e) => `- \`${e.mode}\` ${e.query}: ${cell(e.message)}`),
      '',
    );
  }
  lines.push('Per-mode details (per unit type, domain and kind): `<mode>/metrics.md`.', '');
  return lines.join('\n');
}
