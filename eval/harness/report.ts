import type { Estimate, GroupReport, MetricName, ScoreReport, TaskReport } from './scoring.js';

/** Markdown rendering of a ScoreReport: percentages with one decimal and their 95% intervals. */

export function pct(value: number | null): string {
  return value === null ? '–' : (100 * value).toFixed(1);
}

export function withCI(estimate: Estimate | undefined): string {
  if (!estimate || estimate.value === null) return '–';
  const ci = estimate.ci95;
  return ci ? `${pct(estimate.value)} [${pct(ci[0])}, ${pct(ci[1])}]` : pct(estimate.value);
}

const HEADLINE: { name: MetricName; label: string }[] = [
  { name: 'precision', label: 'Precision' },
  { name: 'recallAt1', label: 'R@1' },
  { name: 'f1', label: 'micro-F1' },
  { name: 'nilPrecision', label: 'NIL precision' },
  { name: 'nilRecall', label: 'NIL recall' },
  { name: 'candidateRecall', label: 'gold in system top N (before insertion)' },
];

function headlineTable(report: GroupReport, ns: readonly number[]): string[] {
  const lines = [
    `| metric | ${ns.map((n) => `N = ${n}`).join(' | ')} |`,
    `| --- | ${ns.map(() => '---').join(' | ')} |`,
  ];
  for (const { name, label } of HEADLINE) {
    lines.push(
      `| ${label} | ${ns.map((n) => withCI(report.atN[String(n)]?.[name])).join(' | ')} |`,
    );
  }
  return lines;
}

function groupTable(
  title: string,
  groups: Record<string, GroupReport>,
  ns: readonly number[],
): string[] {
  const n = ns[ns.length - 1] ?? 100;
  const n0 = ns[0] ?? 5;
  const lines = [
    `| ${title} | queries | gold units (non-NIL / NIL) | R@1 N=${n0} | P N=${n} | R@1 N=${n} | F1 N=${n} | NIL P | NIL R |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [key, g] of Object.entries(groups)) {
    const at = g.atN[String(n)];
    lines.push(
      `| ${key} | ${g.queries} | ${g.units.goldNonNil} / ${g.units.goldNil} | ${withCI(g.atN[String(n0)]?.recallAt1)} | ${withCI(at?.precision)} | ${withCI(at?.recallAt1)} | ${withCI(at?.f1)} | ${withCI(at?.nilPrecision)} | ${withCI(at?.nilRecall)} |`,
    );
  }
  return lines;
}

function taskSection(task: TaskReport, ns: readonly number[]): string[] {
  const lines = [
    `## ${task.task === 'VT-KG' ? 'V-T-KG' : 'V&T-KG'}`,
    '',
    `${task.queries} queries (${task.predictedQueries} with predictions); gold units: ${task.units.goldNonNil} non-NIL, ${task.units.goldNil} NIL; ${task.units.spurious} predicted link sides matched no gold unit.`,
    '',
    ...headlineTable(task, ns),
    '',
  ];
  if (task.mentionDetection && task.regionDetection) {
    const m = task.mentionDetection;
    const r = task.regionDetection;
    lines.push(
      `Detection: mentions ${m.matched}/${m.predicted} predicted matched, ${m.matched}/${m.gold} gold found (exact span); regions ${r.matched}/${r.predicted} predicted matched, ${r.matched}/${r.gold} gold found (IoU >= 0.5).`,
      '',
    );
  }
  lines.push(...groupTable('unit', task.byUnitType, ns), '');
  lines.push(...groupTable('domain', task.byDomain, ns), '');
  lines.push(...groupTable('kind', task.byKind, ns), '');
  return lines;
}

export function renderMarkdown(report: ScoreReport, title = 'Polylink-MEL scores'): string {
  const lines = [
    `# ${title}`,
    '',
    `Split: ${report.split ?? 'all'}. Percentages; brackets are percentile-bootstrap 95% intervals over queries (${report.resamples} resamples, seed ${report.seed}). Candidate lists of size N hold the gold entity plus the system's candidates (Zheng et al. 2022), so R@1 measures ranking with the gold present. NIL threshold: ${report.threshold ?? 'none (only null predictions)'}.`,
    '',
  ];
  for (const task of report.tasks) lines.push(...taskSection(task, report.ns));
  if (report.unknownQueries > 0)
    lines.push(
      `${report.unknownQueries} predicted queries are not in this split and were ignored.`,
      '',
    );
  return `${lines.join('\n').trimEnd()}\n`;
}
