/**
 * Throughput of `linkImage` over HTTP (issue 13): the real app on an ephemeral port, the benchmark
 * KB registered in its own Neo4j, 1,000 candidates, a closed loop of C clients (C = 1, 4, 8) each
 * sending its next request as soon as the last one is answered. Reports requests per second, the
 * client's p50 / p99, and what the two cores were doing meanwhile (this process's CPU time, the
 * Neo4j process's CPU time, the event loop's utilisation, the server's per-stage means), which says
 * what saturates.
 *
 *   npx tsx bench/link-image-throughput.ts                 # resets the instance, imports the KB
 *   npx tsx bench/link-image-throughput.ts --reuse-db      # the KB is already there (--keep-db)
 *
 * Writes bench/results/link-image-throughput{suffix}.{json,md}. A benchmark, not a test: the
 * figures depend on the machine and on what else it is doing (the load average is recorded).
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { PROJECT_ROOT } from '../src/paths.js';
import {
  importBenchmarkKb,
  instanceConfig,
  parseInstance,
  runNeo4jScript,
  type InstanceEnv,
} from '../eval/harness/benchmark-db.js';
import { readGoldQueries, type GoldQuery } from '../eval/harness/format.js';
import { linkImage, serviceClient, type ServiceClient } from '../eval/service/client.js';
import {
  dataUrlOf,
  linkInputOf,
  MODE_INFO,
  parseModes,
  type LinkImageVariables,
  type Mode,
} from '../eval/service/convert.js';
import { benchMachine, evenlySpread, percentile, round } from './report.js';

const { values } = parseArgs({
  options: {
    kb: { type: 'string', default: 'var/benchmark/kb.jsonl' },
    queries: { type: 'string', default: 'var/benchmark/queries.jsonl' },
    modes: { type: 'string', default: 'vandt-kg,vt-kg-given,vt-kg-auto' },
    concurrency: { type: 'string', default: '1,4,8' },
    /** Requests per concurrency level (after the warm-up pass). */
    requests: { type: 'string', default: '64' },
    sample: { type: 'string', default: '30' },
    candidates: { type: 'string', default: '1000' },
    'max-regions': { type: 'string', default: '5' },
    'reuse-db': { type: 'boolean', default: false },
    'keep-db': { type: 'boolean', default: false },
    /** Its own disposable Neo4j by default, so that it can run beside the service evaluation. */
    instance: { type: 'string', default: 'throughput:7791:7591' },
    suffix: { type: 'string', default: '' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
const levels = values.concurrency.split(',').map(Number);
const requestsPerLevel = Number(values.requests);
const sampleSize = Number(values.sample);
const candidates = Number(values.candidates);
const maxRegions = Number(values['max-regions']);
const modes = parseModes(values.modes);
const instance: InstanceEnv = parseInstance(values.instance);
const baseName = `link-image-throughput${values.suffix}`;

function log(message: string): void {
  process.stderr.write(`[link-image-throughput ${new Date().toISOString()}] ${message}\n`);
}

/** `size` test queries with at most `maxRegions` regions, evenly spread (deterministic). */
function sampleQueries(all: readonly GoldQuery[]): GoldQuery[] {
  const eligible = all.filter((q) => q.split === 'test' && q.regions.length <= maxRegions);
  return evenlySpread(eligible, sampleSize);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux clock ticks). */
function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function neo4jPid(): number | null {
  const file = path.join(
    PROJECT_ROOT,
    'var/neo4j/instances',
    instance.NEO4J_INSTANCE!,
    'run/neo4j.pid',
  );
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

interface LevelResult {
  readonly mode: Mode;
  readonly title: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly wallS: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU use in cores (1.0 = one core busy all the time) of this process and of Neo4j. */
  readonly serviceCores: number;
  readonly neo4jCores: number | null;
  readonly eventLoopUtilization: number;
  /** Server-side mean ms per stage (stages overlap: caption and image sides run concurrently). */
  readonly stageMeanMs: Record<string, number>;
}

async function measureLevel(
  client: ServiceClient,
  mode: Mode,
  inputs: readonly LinkImageVariables[],
  concurrency: number,
): Promise<LevelResult> {
  const latencies: number[] = [];
  const stageSums = new Map<string, number>();
  let errors = 0;
  let next = 0;
  const pid = neo4jPid();
  const neo4jBefore = pid === null ? null : processCpuSeconds(pid);
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const index = next;
      next += 1;
      if (index >= requestsPerLevel) return;
      const answer = await linkImage(client, inputs[index % inputs.length]!);
      if (!answer.result) {
        errors += 1;
        log(`${mode} c=${concurrency}: ${answer.error}`);
        continue;
      }
      latencies.push(answer.ms);
      for (const { stage, ms } of answer.result.timing) {
        stageSums.set(stage, (stageSums.get(stage) ?? 0) + ms);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const elu = performance.eventLoopUtilization(eluBefore);
  const neo4jAfter = pid === null ? null : processCpuSeconds(pid);
  const sorted = [...latencies].sort((a, b) => a - b);
  const answered = Math.max(1, latencies.length);
  const result: LevelResult = {
    mode,
    title: MODE_INFO[mode].title,
    concurrency,
    requests: latencies.length,
    errors,
    wallS: round(wallS),
    requestsPerS: round(latencies.length / wallS),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    serviceCores: round((cpu.user + cpu.system) / 1e6 / wallS),
    neo4jCores:
      neo4jBefore === null || neo4jAfter === null
        ? null
        : round((neo4jAfter - neo4jBefore) / wallS),
    eventLoopUtilization: round(elu.utilization * 100) / 100,
    stageMeanMs: Object.fromEntries(
      [...stageSums].map(([stage, sum]) => [stage, round(sum / answered)]),
    ),
  };
  log(JSON.stringify(result));
  return result;
}

const queries = sampleQueries(await readGoldQueries(values.queries));
if (queries.length === 0) throw new Error(`no test queries with 1..${maxRegions} regions`);
log(`${queries.length} test queries; concurrency ${levels.join(', ')}; ${requestsPerLevel} each`);

if (!values['reuse-db']) runNeo4jScript('reset.sh', instance);
runNeo4jScript('start.sh', instance);
const config = instanceConfig(instance, candidates);
const app = await createApp(config, createLogger(config.logLevel));
const client = await serviceClient(app, 'throughput benchmark');
const results: LevelResult[] = [];
let entities: number;
try {
  if (!values['reuse-db']) {
    await importBenchmarkKb(app.services, values.kb, { batchSize: 50, log });
  }
  entities = (await app.services.queries.page({ first: 1 })).totalCount;
  log(`${entities} entities in the graph`);
  for (const mode of modes) {
    const inputs = await Promise.all(
      queries.map(async (query) => {
        const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, query.image)));
        return linkInputOf(query, mode, { dataUrl: dataUrlOf(bytes, query.image), candidates });
      }),
    );
    // One untimed pass: lazily created models, Neo4j's page cache and the JIT.
    for (const input of inputs) await linkImage(client, input);
    for (const concurrency of levels) {
      results.push(await measureLevel(client, mode, inputs, concurrency));
    }
  }
} finally {
  await app.close();
  if (!values['keep-db']) runNeo4jScript('stop.sh', instance);
}

const report = {
  date: new Date().toISOString(),
  bundle: app.backend.models?.manifest.id ?? null,
  executionProvider: config.models.executionProvider,
  vectorSearch: config.vectors.search,
  intraOpThreads: config.models.intraOpThreads,
  entities,
  candidates,
  maxRegions,
  queries: queries.map((q) => q.id),
  requestsPerLevel,
  loop: 'closed: C clients in this process, each sending its next request when answered',
  warmUp: 'one untimed pass over the queries per mode',
  machine: benchMachine(),
  results,
};
await mkdir(values.out, { recursive: true });
await writeFile(path.join(values.out, `${baseName}.json`), `${JSON.stringify(report, null, 2)}\n`);
const { machine } = report;
await writeFile(
  path.join(values.out, `${baseName}.md`),
  [
    `Measured ${report.date.slice(0, 10)} on ${machine.cpuModel} (${machine.cores} cores), ${machine.os}, Node ${machine.node}, bundle ${report.bundle}, dense k-NN ${report.vectorSearch === 'memory' ? 'in process' : 'in Neo4j'}, load average at the end ${machine.loadAverageAtEnd.join(' ')}. The app over HTTP on ${entities} entities, ${candidates} candidates, ${queries.length} test queries with 1–${maxRegions} regions, ${requestsPerLevel} requests per level after one untimed pass. Cores = CPU time / wall time (2.0 = both cores busy); the service's figure includes the benchmark's own clients (the same process).`,
    '',
    '| mode | clients | req/s | p50 ms | p99 ms | service cores | Neo4j cores | event loop busy | errors |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...results.map(
      (r) =>
        `| ${r.title} | ${r.concurrency} | ${r.requestsPerS} | ${r.p50Ms} | ${r.p99Ms} | ${r.serviceCores} | ${r.neo4jCores ?? '–'} | ${Math.round(r.eventLoopUtilization * 100)}% | ${r.errors} |`,
    ),
    '',
  ].join('\n'),
);
log(`wrote ${path.relative(PROJECT_ROOT, values.out)}/${baseName}.{json,md}`);
