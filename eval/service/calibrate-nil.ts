import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { chooseThreshold } from '../baselines/baselines.js';
import {
  importBenchmarkKb,
  runNeo4jScript,
  SERVICE_EVAL_INSTANCE,
  serviceEvalConfig,
} from '../harness/benchmark-db.js';
import { readGoldQueries, type PredictionLine } from '../harness/format.js';
import { machine } from '../harness/machine.js';
import { linkImage, serviceClient } from './client.js';
import {
  dataUrlOf,
  emptyLine,
  linkInputOf,
  MODE_INFO,
  predictionLine,
  type Mode,
} from './convert.js';

/**
 * The NIL threshold chosen through the service itself (issue 6): every dev query is sent to
 * `linkImage` over HTTP with the NIL decision switched off (a threshold far below any score), and
 * the harness picks, per task, the threshold with the best dev micro-F1 at N = 100, exactly as
 * eval/zemel/score-runs.ts picked the one in the linker's `linker.json` from predict.py's dev
 * predictions. Reports both, so a drift between the service and the offline predictions shows.
 *
 *   npx tsx eval/service/calibrate-nil.ts [--reuse-db] [--keep-db]
 */

const { values } = parseArgs({
  options: {
    kb: { type: 'string', default: 'var/benchmark/kb.jsonl' },
    queries: { type: 'string', default: 'var/benchmark/queries.jsonl' },
    split: { type: 'string', default: 'dev' },
    out: { type: 'string' },
    'reuse-db': { type: 'boolean', default: false },
    'keep-db': { type: 'boolean', default: false },
  },
});

const CANDIDATES = 100;
/** Far below any linker score: every triple keeps its best entity, so the harness can decide. */
const NO_NIL = -1e30;
const MODES: readonly Mode[] = ['vandt-kg', 'vt-kg-given'];

function log(message: string): void {
  process.stderr.write(`[calibrate-nil ${new Date().toISOString()}] ${message}\n`);
}

const split = values.split;
const gold = (await readGoldQueries(values.queries)).filter((q) => q.split === split);
if (gold.length === 0) throw new Error(`no ${split} queries in ${values.queries}`);
const date = new Date().toISOString().slice(0, 10);
const outFile = path.resolve(
  values.out ?? path.join('eval-results', `${date}-service`, 'nil-calibration.json'),
);

if (!values['reuse-db']) runNeo4jScript('reset.sh', SERVICE_EVAL_INSTANCE);
runNeo4jScript('start.sh', SERVICE_EVAL_INSTANCE);
const config = serviceEvalConfig(CANDIDATES);
const app = await createApp(config, createLogger(config.logLevel));
const client = await serviceClient(app, 'NIL calibration');
const results: {
  mode: Mode;
  task: string;
  queries: number;
  failed: number;
  linker: number | null;
  service: number | null;
  devF1AtService: number | null;
}[] = [];
try {
  if (!values['reuse-db']) await importBenchmarkKb(app.services, values.kb, { batchSize: 50, log });
  const linker = app.backend.models?.linker;
  if (!linker) throw new Error('the model bundle has no linker');
  for (const mode of MODES) {
    const lines: PredictionLine[] = [];
    let failed = 0;
    for (const query of gold) {
      const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, query.image)));
      const input = {
        ...linkInputOf(query, mode, {
          dataUrl: dataUrlOf(bytes, query.image),
          candidates: CANDIDATES,
        }),
        nilThreshold: NO_NIL,
      };
      const answer = await linkImage(client, input);
      if (answer.result) lines.push(predictionLine(query, mode, answer.result));
      else {
        failed += 1;
        log(`${mode}: ${query.id} failed: ${answer.error}`);
        lines.push(emptyLine(query, mode));
      }
    }
    const { task } = MODE_INFO[mode];
    const chosen = chooseThreshold(gold, lines, split);
    const result = {
      mode,
      task,
      queries: gold.length,
      failed,
      linker: linker.thresholds[task] ?? null,
      service: Number.isFinite(chosen.threshold) ? chosen.threshold : null,
      devF1AtService: chosen.f1,
    };
    results.push(result);
    log(JSON.stringify(result));
  }
} finally {
  await app.close();
  if (!values['keep-db']) runNeo4jScript('stop.sh', SERVICE_EVAL_INSTANCE);
}

await mkdir(path.dirname(outFile), { recursive: true });
await writeFile(
  outFile,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      split,
      candidates: CANDIDATES,
      method:
        'linkImage over HTTP with nilThreshold -1e30 on every dev query; per task the threshold with the best dev micro-F1 at N = 100 (eval/baselines chooseThreshold), next to the linker.json threshold chosen the same way from predict.py',
      machine: machine(),
      results,
    },
    null,
    2,
  )}\n`,
);
log(`wrote ${path.relative(PROJECT_ROOT, outFile)}`);
