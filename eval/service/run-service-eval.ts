import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, type App } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { readGoldQueries, type GoldQuery, type PredictionLine } from '../harness/format.js';
import { machine } from '../harness/machine.js';
import { writeReport } from '../harness/score.js';
import { scorePredictions } from '../harness/scoring.js';
import { fileExists, writeFormatted } from '../harness/write.js';
import {
  importBenchmarkKb,
  instanceConfig,
  parseInstance,
  runNeo4jScript,
  SERVICE_EVAL_INSTANCE,
  writeJsonLines,
} from '../harness/benchmark-db.js';
import { linkImage, serviceClient, type ServiceClient } from './client.js';
import {
  dataUrlOf,
  emptyLine,
  latency,
  linkInputOf,
  MODE_INFO,
  MODES,
  parseModes,
  predictionLine,
  type Mode,
  type ServiceResult,
} from './convert.js';
import {
  parseBaselineSummary,
  serviceReadme,
  type BaselineRow,
  type ModeResult,
} from './report.js';

/**
 * Issue 6: the full service, through its GraphQL API, on the benchmark's test split, scored by the
 * harness. Starts its own Neo4j (like eval/baselines/run-baselines.ts), registers the KB through
 * the service, starts the real HTTP app on an ephemeral port, sends every query to `linkImage` in
 * three modes (V&T-KG with gold spans, boxes and pairs; V-T-KG with gold spans and boxes; V-T-KG
 * with nothing given), converts the answers into harness prediction lines and scores them.
 */

const USAGE = `usage: run-service-eval.ts [--kb var/benchmark/kb.jsonl] [--queries var/benchmark/queries.jsonl]
  [--split test] [--modes ${MODES.join(',')}] [--limit-queries N]
  [--out eval-results/<date>-service] [--predictions-dir var/eval/<date>-service]
  [--baselines eval-results/2026-11-25-baselines/summary.json | --baselines none]
  [--reuse-db] [--keep-db] [--import-only] [--instance NAME:BOLT_PORT:HTTP_PORT]
  --import-only: reset, start Neo4j and register the KB, leave Neo4j running; a later --reuse-db
    run skips all that. Neo4j instance "svc-eval" (Bolt 7694, HTTP 7481, no auth).`;

const CANDIDATES = 100;
const BATCH = 50;
const DEFAULT_BASELINES = 'eval-results/2026-11-25-baselines/summary.json';

function log(message: string): void {
  process.stderr.write(`[service-eval ${new Date().toISOString()}] ${message}\n`);
}

interface ModeRun {
  readonly lines: PredictionLine[];
  readonly clientMs: number[];
  readonly serverMs: number[];
  readonly wallS: number;
  readonly errors: { query: string; message: string }[];
  readonly first: ServiceResult | null;
}

async function runMode(
  client: ServiceClient,
  mode: Mode,
  queries: readonly GoldQuery[],
): Promise<ModeRun> {
  const images = new Map<string, string>();
  const inputOf = async (query: GoldQuery) => {
    let dataUrl = images.get(query.image);
    if (dataUrl === undefined) {
      const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, query.image)));
      dataUrl = dataUrlOf(bytes, query.image);
      // Only the last image: the full split's images would be ~100 MB of base64.
      images.clear();
      images.set(query.image, dataUrl);
    }
    return linkInputOf(query, mode, { dataUrl, candidates: CANDIDATES });
  };
  // Warm-up, untimed: the first request of a mode may load models (the vision models in (c)).
  const warm = queries[0];
  if (warm) {
    const answer = await linkImage(client, await inputOf(warm));
    log(
      `${mode}: warm-up ${warm.id} ${answer.ms.toFixed(0)} ms${answer.error ? ` (${answer.error})` : ''}`,
    );
  }
  const lines: PredictionLine[] = [];
  const clientMs: number[] = [];
  const serverMs: number[] = [];
  const errors: { query: string; message: string }[] = [];
  let first: ServiceResult | null = null;
  const started = performance.now();
  for (const [i, query] of queries.entries()) {
    const input = await inputOf(query);
    const answer = await linkImage(client, input);
    clientMs.push(answer.ms);
    let line: PredictionLine | null = null;
    let error = answer.error;
    if (answer.result) {
      first ??= answer.result;
      const total = answer.result.timing.find((t) => t.stage === 'total');
      if (total) serverMs.push(total.ms);
      try {
        line = predictionLine(query, mode, answer.result);
      } catch (conversion) {
        error = conversion instanceof Error ? conversion.message : String(conversion);
      }
    }
    if (line === null) {
      errors.push({ query: query.id, message: error ?? 'no answer' });
      log(`${mode}: ${query.id} failed: ${error}`);
      line = emptyLine(query, mode);
    }
    lines.push(line);
    if ((i + 1) % 50 === 0 || i + 1 === queries.length) {
      const s = (performance.now() - started) / 1000;
      log(`${mode}: ${i + 1}/${queries.length} queries in ${s.toFixed(0)} s`);
    }
  }
  const wallS = (performance.now() - started) / 1000;
  return { lines, clientMs, serverMs, wallS, errors, first };
}

async function readBaselines(file: string): Promise<BaselineRow[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new Error(`${file}: not valid JSON`);
  }
  return parseBaselineSummary(value, file);
}

function positiveInteger(value: string | undefined, name: string): number {
  if (value === undefined) return Infinity;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kb: { type: 'string', default: 'var/benchmark/kb.jsonl' },
      queries: { type: 'string', default: 'var/benchmark/queries.jsonl' },
      split: { type: 'string', default: 'test' },
      modes: { type: 'string', default: MODES.join(',') },
      out: { type: 'string' },
      'predictions-dir': { type: 'string' },
      baselines: { type: 'string', default: DEFAULT_BASELINES },
      'reuse-db': { type: 'boolean', default: false },
      'keep-db': { type: 'boolean', default: false },
      'import-only': { type: 'boolean', default: false },
      'limit-queries': { type: 'string' },
      /** Another disposable instance than svc-eval (its images under var/eval/NAME-images). */
      instance: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const INSTANCE_ENV = values.instance ? parseInstance(values.instance) : SERVICE_EVAL_INSTANCE;
  const started = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const name = `${date}-service`;
  const outDir = path.resolve(values.out ?? path.join('eval-results', name));
  const predictionsDir = path.resolve(values['predictions-dir'] ?? path.join('var/eval', name));
  const split = values.split;
  const modes = parseModes(values.modes);
  const limit = positiveInteger(values['limit-queries'], 'limit-queries');
  const baselinesFile = values.baselines === 'none' ? null : values.baselines;

  const inSplit = values['import-only']
    ? []
    : (await readGoldQueries(values.queries)).filter((q) => q.split === split);
  const gold = inSplit.slice(0, limit);
  if (gold.length === 0 && !values['import-only'])
    throw new Error(`no ${split} queries in ${values.queries}`);
  const baselines =
    baselinesFile !== null && !values['import-only'] && (await fileExists(baselinesFile))
      ? await readBaselines(baselinesFile)
      : [];
  if (baselinesFile !== null && baselines.length === 0 && !values['import-only'])
    log(`no baselines read from ${baselinesFile}`);
  log(`${gold.length} ${split} queries, modes ${modes.join(', ')}`);

  const timings: Record<string, number> = {};
  let t0 = Date.now();
  if (!values['reuse-db']) runNeo4jScript('reset.sh', INSTANCE_ENV);
  runNeo4jScript('start.sh', INSTANCE_ENV);
  timings.neo4jStartS = (Date.now() - t0) / 1000;

  const config = instanceConfig(INSTANCE_ENV, CANDIDATES);
  const logger = createLogger(config.logLevel);
  let entities = 0;
  let entitiesInGraph = 0;
  const results: ModeResult[] = [];
  let app: App | null = null;
  let linker: Record<string, unknown> = {};
  let bundle: string | null = null;
  try {
    t0 = Date.now();
    app = await createApp(config, logger);
    timings.appStartS = (Date.now() - t0) / 1000;
    log(`service at ${app.graphqlUrl}`);
    const models = app.backend.models;
    if (!models?.linker) throw new Error('the model bundle has no linker: linkImage cannot run');
    bundle = models.manifest.id;
    linker = {
      name: `${models.linker.name}@${models.linker.version}`,
      fingerprint: models.linker.fingerprint,
      nilThresholds: models.linker.thresholds,
    };

    t0 = Date.now();
    entities = values['reuse-db']
      ? 0
      : await importBenchmarkKb(app.services, values.kb, {
          batchSize: Math.min(BATCH, config.limits.maxBatchSize),
          log,
        });
    timings.importS = (Date.now() - t0) / 1000;
    // With --reuse-db nothing is registered: say what the graph holds instead.
    entitiesInGraph = (await app.services.queries.page({ first: 1 })).totalCount;
    log(`registered ${entities} entities in ${timings.importS.toFixed(0)} s`);
    if (values['import-only']) return;

    const client = await serviceClient(app, 'service evaluation');
    for (const mode of modes) {
      const run = await runMode(client, mode, gold);
      if (run.errors.length === gold.length)
        throw new Error(`${mode}: every request failed (${run.errors[0]?.message})`);
      await writeJsonLines(path.join(predictionsDir, `${mode}.${split}.jsonl`), run.lines);
      t0 = Date.now();
      // No threshold: `prediction` is already the service's NIL decision.
      const report = scorePredictions(gold, run.lines, split);
      const info = MODE_INFO[mode];
      const nilThreshold = run.first?.nilThreshold ?? null;
      await writeReport(path.join(outDir, mode), report, {
        mode,
        title: info.title,
        given: info.given,
        serviceNilThreshold: nilThreshold,
        predictions: path.relative(
          PROJECT_ROOT,
          path.join(predictionsDir, `${mode}.${split}.jsonl`),
        ),
      });
      timings[`scoring.${mode}.S`] = (Date.now() - t0) / 1000;
      results.push({
        mode,
        nilThreshold,
        report,
        latency: latency(run.clientMs),
        serverLatency: latency(run.serverMs),
        wallS: Math.round(run.wallS * 10) / 10,
        queriesPerS: run.wallS > 0 ? Math.round((gold.length / run.wallS) * 1000) / 1000 : null,
        errors: run.errors,
      });
      log(`${mode}: scored (${run.errors.length} failed requests)`);
    }
  } finally {
    await app?.close();
    if (!values['keep-db'] && !values['import-only']) runNeo4jScript('stop.sh', INSTANCE_ENV);
  }
  if (values['import-only']) return;
  timings.wallS = (Date.now() - started) / 1000;

  const meta = {
    date: new Date().toISOString(),
    kb: values.kb,
    queries: values.queries,
    split,
    queriesScored: gold.length,
    queriesInSplit: inSplit.length,
    entitiesRegistered: entities,
    entitiesInGraph,
    bundle,
    linker,
    candidatesPerList: CANDIDATES,
    api: 'GraphQL linkImage over HTTP (createApp, ephemeral port), image as a data URL',
    predictions: path.relative(PROJECT_ROOT, predictionsDir),
    baselines: baselinesFile,
    machine: machine(),
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    timings,
  };
  const baselinesQueries =
    baselines[0]?.tasks[0]?.queries !== undefined ? baselines[0].tasks[0].queries : null;
  await mkdir(outDir, { recursive: true });
  await writeFormatted(
    path.join(outDir, 'summary.json'),
    `${JSON.stringify(
      {
        ...meta,
        modes: results.map((r) => ({
          mode: r.mode,
          title: MODE_INFO[r.mode].title,
          task: MODE_INFO[r.mode].task,
          given: MODE_INFO[r.mode].given,
          nilThreshold: r.nilThreshold,
          timing: {
            wallS: r.wallS,
            queriesPerS: r.queriesPerS,
            client: r.latency,
            server: r.serverLatency,
          },
          errors: r.errors,
          tasks: r.report.tasks.map((t) => ({
            task: t.task,
            queries: t.queries,
            predictedQueries: t.predictedQueries,
            units: t.units,
            ...(t.mentionDetection ? { mentionDetection: t.mentionDetection } : {}),
            ...(t.regionDetection ? { regionDetection: t.regionDetection } : {}),
            atN: t.atN,
          })),
        })),
      },
      null,
      2,
    )}\n`,
  );
  const readmeFile = path.join(outDir, 'README.md');
  await writeFormatted(
    readmeFile,
    serviceReadme({ meta, modes: results, baselines, baselinesFile, baselinesQueries }),
  );
  process.stdout.write(await readFile(readmeFile, 'utf8'));
  const failed = results.reduce((n, r) => n + r.errors.length, 0);
  if (failed > 0) {
    log(`${failed} requests failed (listed in the README)`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
}
