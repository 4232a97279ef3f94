import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServices, openBackend } from '../../src/backend.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { Services } from '../../src/backend.js';
import {
  readGoldQueries,
  type GoldQuery,
  type PredictionLine,
  type Task,
} from '../harness/format.js';
import { machine } from '../harness/machine.js';
import { withCI } from '../harness/report.js';
import { writeReport } from '../harness/score.js';
import { candidateText } from '../../src/linking/link-input.js';
import { writeFormatted } from '../harness/write.js';
import { importBenchmarkKb, runNeo4jScript, writeJsonLines } from '../harness/benchmark-db.js';
import { scorePredictions, type ScoreReport } from '../harness/scoring.js';
import {
  applyThreshold,
  BASELINE_TITLES,
  BASELINES,
  chooseThreshold,
  predictQuery,
  type Baseline,
  type QueryCandidates,
  type RawCandidate,
} from './baselines.js';

const USAGE = `usage: run-baselines.ts [--kb var/benchmark/kb.jsonl] [--queries var/benchmark/queries.jsonl]
  [--split test] [--dev-split dev] [--out eval-results/<date>-baselines] [--predictions-dir var/eval/<name>]
  [--reuse-db] [--keep-db] [--import-only] [--limit-queries N] [--dev-limit N] [--candidates-out FILE]
  --import-only: reset, start and load the KB, leave Neo4j running; a later --reuse-db run skips all that.
  --candidates-out: instead of scoring, write the raw candidates (with provenance) of every query of
    every split as JSON lines { query, split, mentions: [[...]], regions: [[...]] } (the trained
    linker's training lists and evaluation lists, models/zemel/).`;

const TASKS: readonly Task[] = ['VT-KG', 'V&T-KG'];
const LIMIT = 100;
const BATCH = 50;
const INSTANCE_ENV = {
  NEO4J_INSTANCE: 'eval',
  NEO4J_AUTH_ENABLED: 'false',
  NEO4J_BOLT_PORT: '7692',
  NEO4J_HTTP_PORT: '7479',
};

function log(message: string): void {
  process.stderr.write(`[baselines ${new Date().toISOString()}] ${message}\n`);
}

const toRaw = (candidates: readonly RawCandidate[]): RawCandidate[] =>
  candidates.map((c) => ({ entity: { id: c.entity.id }, generators: c.generators }));

/** Candidates of a mention text: the same text always gives the same list, so ask once. */
const mentionCache = new Map<string, RawCandidate[]>();

/** One CandidateService call per gold mention (its text) and per gold region (image + box). */
async function generateFor(services: Services, query: GoldQuery): Promise<QueryCandidates> {
  const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, query.image)));
  const mentions: RawCandidate[][] = [];
  for (const mention of query.mentions) {
    // Riddle mentions (whole descriptions) can be longer than a candidate query takes.
    const text = candidateText(mention.text);
    let list = mentionCache.get(text);
    if (list === undefined) {
      list =
        text === ''
          ? []
          : toRaw(await services.candidates.generate({ mention: text, limit: LIMIT }));
      mentionCache.set(text, list);
    }
    mentions.push(list);
  }
  const regions: RawCandidate[][] = [];
  for (const region of query.regions) {
    const [x, y, width, height] = region.box;
    regions.push(
      toRaw(
        await services.candidates.generate({
          image: { bytes, box: { x, y, width, height } },
          limit: LIMIT,
        }),
      ),
    );
  }
  return { mentions, regions };
}

/** Raw candidates of every query, in file order, one JSON line each (written as it goes). */
async function dumpCandidates(
  services: Services,
  queries: readonly GoldQuery[],
  file: string,
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const out = createWriteStream(file);
  const t0 = Date.now();
  for (const [i, query] of queries.entries()) {
    const found = await generateFor(services, query);
    const slim = (list: readonly RawCandidate[]) =>
      list.map((c) => ({
        entity: c.entity.id,
        generators: c.generators.map((h) => ({ generator: h.generator, score: h.score })),
      }));
    const line = {
      query: query.id,
      split: query.split,
      mentions: found.mentions.map(slim),
      regions: found.regions.map(slim),
    };
    if (!out.write(JSON.stringify(line) + '\n')) await once(out, 'drain');
    if ((i + 1) % 100 === 0)
      log(
        `candidates for ${i + 1}/${queries.length} queries (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
  }
  out.end();
  await once(out, 'finish');
  log(`wrote ${file}`);
}

interface BaselineResult {
  readonly baseline: Baseline;
  readonly title: string;
  readonly thresholds: Partial<Record<Task, { value: number | null; devF1: number | null }>>;
  readonly report: ScoreReport;
}

function summaryMarkdown(
  meta: Record<string, unknown> & { split: string },
  results: readonly BaselineResult[],
): string {
  const lines = [
    `# Polylink-MEL baselines (${meta.split} split)`,
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
    'Percentages; brackets: bootstrap 95% intervals over queries (1,000 resamples, seed 1). N: candidate-list size, gold inserted (Zheng et al. 2022). NIL threshold chosen on the dev split for micro-F1 at N = 100.',
    '',
  ];
  for (const task of TASKS) {
    lines.push(
      `## ${task === 'VT-KG' ? 'V-T-KG' : 'V&T-KG'}`,
      '',
      '| baseline | NIL threshold | P (N=100) | R@1 (N=5) | R@1 (N=100) | F1 (N=100) | NIL P | NIL R | gold in top 100 |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of results) {
      const t = r.report.tasks.find((x) => x.task === task);
      if (!t) continue;
      const at = t.atN['100'];
      const thr = r.thresholds[task]?.value;
      lines.push(
        `| ${r.title} | ${thr === null || thr === undefined ? 'none' : thr.toFixed(3)} | ${withCI(at?.precision)} | ${withCI(t.atN['5']?.recallAt1)} | ${withCI(at?.recallAt1)} | ${withCI(at?.f1)} | ${withCI(at?.nilPrecision)} | ${withCI(at?.nilRecall)} | ${withCI(at?.candidateRecall)} |`,
      );
    }
    lines.push('');
  }
  lines.push('Per-baseline details (per unit type, domain and kind): `<baseline>/metrics.md`.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kb: { type: 'string', default: 'var/benchmark/kb.jsonl' },
      queries: { type: 'string', default: 'var/benchmark/queries.jsonl' },
      split: { type: 'string', default: 'test' },
      'dev-split': { type: 'string', default: 'dev' },
      out: { type: 'string' },
      'predictions-dir': { type: 'string' },
      'reuse-db': { type: 'boolean', default: false },
      'keep-db': { type: 'boolean', default: false },
      'import-only': { type: 'boolean', default: false },
      'limit-queries': { type: 'string' },
      'dev-limit': { type: 'string' },
      'candidates-out': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const started = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const name = `${date}-baselines`;
  const outDir = path.resolve(values.out ?? path.join('eval-results', name));
  const predictionsDir = path.resolve(values['predictions-dir'] ?? path.join('var/eval', name));
  const split = values.split;
  const devSplit = values['dev-split'];
  const limitQueries = values['limit-queries'] ? Number(values['limit-queries']) : Infinity;

  const allGold = values['import-only'] ? [] : await readGoldQueries(values.queries);
  const pick = (s: string) => allGold.filter((q) => q.split === s).slice(0, limitQueries);
  const testGold = pick(split);
  const devGold = pick(devSplit).slice(
    0,
    values['dev-limit'] ? Number(values['dev-limit']) : Infinity,
  );
  if (testGold.length === 0 && !values['import-only'])
    throw new Error(`no ${split} queries in ${values.queries}`);
  log(`${testGold.length} ${split} and ${devGold.length} ${devSplit} queries`);

  const timings: Record<string, number> = {};
  let t0 = Date.now();
  if (!values['reuse-db']) runNeo4jScript('reset.sh', INSTANCE_ENV);
  runNeo4jScript('start.sh', INSTANCE_ENV);
  timings.neo4jStartS = (Date.now() - t0) / 1000;

  const config = parseConfig({
    ...process.env,
    NEO4J_URI: `bolt://127.0.0.1:${INSTANCE_ENV.NEO4J_BOLT_PORT}`,
    NEO4J_USER: 'neo4j',
    NEO4J_PASSWORD: '',
    NEO4J_DATABASE: 'neo4j',
    POLYLINK_IMAGE_DIR: path.join(PROJECT_ROOT, 'var/eval/images'),
    POLYLINK_MAX_CANDIDATES: String(LIMIT),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const logger = createLogger(config.logLevel);
  const backend = await openBackend(config, logger);
  const results: BaselineResult[] = [];
  let entities = 0;
  try {
    if (!backend.encoders?.text || !backend.encoders.image)
      throw new Error('the baselines need the model bundle with text and image encoders');
    const services = createServices({
      backend,
      config,
      logger,
      publicBaseUrl: 'http://127.0.0.1:4000',
    });
    t0 = Date.now();
    entities = values['reuse-db']
      ? 0
      : await importBenchmarkKb(services, values.kb, {
          batchSize: Math.min(BATCH, config.limits.maxBatchSize),
          log,
        });
    timings.importS = (Date.now() - t0) / 1000;
    log(`registered ${entities} entities in ${timings.importS.toFixed(0)} s`);
    if (values['import-only']) return;

    const candidatesOut = values['candidates-out'];
    if (candidatesOut !== undefined) {
      await dumpCandidates(services, allGold, path.resolve(candidatesOut));
      return;
    }

    t0 = Date.now();
    const found = new Map<string, QueryCandidates>();
    let done = 0;
    for (const query of [...devGold, ...testGold]) {
      found.set(query.id, await generateFor(services, query));
      done += 1;
      if (done % 50 === 0)
        log(`candidates for ${done}/${devGold.length + testGold.length} queries`);
    }
    timings.candidatesS = (Date.now() - t0) / 1000;
    timings.queriesPerS = (devGold.length + testGold.length) / timings.candidatesS;

    t0 = Date.now();
    for (const baseline of BASELINES) {
      const thresholds: BaselineResult['thresholds'] = {};
      const testLines: PredictionLine[] = [];
      for (const task of TASKS) {
        const predict = (qs: readonly GoldQuery[]) =>
          qs.map((q) =>
            predictQuery(baseline, task, q, found.get(q.id) ?? { mentions: [], regions: [] }),
          );
        const dev = predict(devGold);
        const chosen =
          devGold.length > 0
            ? chooseThreshold(devGold, dev, devSplit)
            : { threshold: -Infinity, f1: null };
        thresholds[task] = {
          value: Number.isFinite(chosen.threshold) ? chosen.threshold : null,
          devF1: chosen.f1,
        };
        testLines.push(...applyThreshold(predict(testGold), chosen.threshold));
      }
      await writeJsonLines(path.join(predictionsDir, `${baseline}.${split}.jsonl`), testLines);
      const report = scorePredictions(testGold, testLines, split);
      await writeReport(path.join(outDir, baseline), report, { baseline, thresholds });
      results.push({ baseline, title: BASELINE_TITLES[baseline], thresholds, report });
      log(`${baseline}: scored`);
    }
    timings.scoringS = (Date.now() - t0) / 1000;
  } finally {
    await backend.close();
    if (!values['keep-db'] && !values['import-only']) runNeo4jScript('stop.sh', INSTANCE_ENV);
  }
  if (values['import-only'] || values['candidates-out'] !== undefined) return;
  timings.wallS = (Date.now() - started) / 1000;
  const meta = {
    date: new Date().toISOString(),
    kb: values.kb,
    queries: values.queries,
    split,
    devSplit,
    testQueries: testGold.length,
    devQueries: devGold.length,
    devQueriesAvailable: allGold.filter((q) => q.split === devSplit).length,
    entitiesRegistered: entities,
    bundle: backend.encoders?.bundleId ?? null,
    candidatesPerCall: LIMIT,
    predictions: path.relative(PROJECT_ROOT, predictionsDir),
    machine: machine(),
    timings,
  };
  await mkdir(outDir, { recursive: true });
  await writeFormatted(
    path.join(outDir, 'summary.json'),
    `${JSON.stringify(
      {
        ...meta,
        baselines: results.map((r) => ({
          baseline: r.baseline,
          title: r.title,
          thresholds: r.thresholds,
          tasks: r.report.tasks.map((t) => ({
            task: t.task,
            queries: t.queries,
            units: t.units,
            atN: t.atN,
          })),
        })),
      },
      null,
      2,
    )}\n`,
  );
  const md = summaryMarkdown(meta, results);
  await writeFormatted(path.join(outDir, 'README.md'), md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
