import path from 'node:path';
import { parseArgs } from 'node:util';
import { readGoldQueries, readPredictions } from './format.js';
import { renderMarkdown } from './report.js';
import { writeFormatted } from './write.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, scorePredictions, type ScoreReport } from './scoring.js';

export * from './format.js';
export * from './scoring.js';
export { renderMarkdown } from './report.js';

const USAGE =
  'usage: score.ts --gold queries.jsonl --predictions predictions.jsonl --out DIR [--split test] [--threshold T] [--resamples 1000] [--seed 1]';

/** Writes `metrics.json` and `metrics.md` into `dir`. */
export async function writeReport(
  dir: string,
  report: ScoreReport,
  extra: object = {},
): Promise<void> {
  await writeFormatted(
    path.join(dir, 'metrics.json'),
    `${JSON.stringify({ ...extra, ...report }, null, 2)}\n`,
  );
  await writeFormatted(
    path.join(dir, 'metrics.md'),
    renderMarkdown(report, `Scores: ${path.basename(dir)}`),
  );
}

export function optionalNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`--${name} must be a number`);
  return parsed;
}

export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      gold: { type: 'string' },
      predictions: { type: 'string' },
      split: { type: 'string' },
      out: { type: 'string' },
      threshold: { type: 'string' },
      resamples: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  if (!values.gold || !values.predictions || !values.out) throw new Error(USAGE);
  const threshold = optionalNumber(values.threshold, 'threshold');
  const report = scorePredictions(
    await readGoldQueries(values.gold),
    await readPredictions(values.predictions),
    values.split ?? null,
    {
      resamples: optionalNumber(values.resamples, 'resamples') ?? DEFAULT_RESAMPLES,
      seed: optionalNumber(values.seed, 'seed') ?? DEFAULT_SEED,
      ...(threshold !== undefined ? { threshold } : {}),
    },
  );
  await writeReport(values.out, report, { gold: values.gold, predictions: values.predictions });
  process.stdout.write(renderMarkdown(report));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
