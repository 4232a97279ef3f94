/**
 * The long fuzz (issue 11): ≥ 10,000 seeded inputs from test/fuzz/arbitraries.ts against the
 * service as a child process (its own Neo4j instance, secfuzz, Bolt 7722), judged by
 * test/fuzz/oracle.ts, with the child's RSS sampled throughout. Then every kind of failure found
 * is replayed from its seed and path and shrunk by fast-check to a minimal counterexample.
 *
 *   npx tsx bench/security/fuzz.ts                    # 10,000 inputs, seed 11
 *   npx tsx bench/security/fuzz.ts --runs 300 --seed 7 --node-env development
 *
 * Writes bench/results/security-fuzz.json; exits non-zero when the oracle failed for any input.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { PROJECT_ROOT } from '../../src/paths.js';
import { describeInput, fuzzInputArbitrary, type FuzzInput } from '../../test/fuzz/arbitraries.js';
import { failureCategory, runInput, type Target, type Verdict } from '../../test/fuzz/oracle.js';
import { benchMachine, percentile, round } from '../report.js';
import {
  authHeaders,
  createApiKey,
  isExiting,
  log as logLine,
  makeTempDir,
  neo4jInstance,
  onExit,
  removeDir,
  request,
  rssKiB,
  startService,
  stopService,
  waitReady,
  type ChildService,
} from './harness.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '11' },
    'node-env': { type: 'string', default: 'production' },
    'budget-ms': { type: 'string', default: '15000' },
    'max-rss-mib': { type: 'string', default: '3072' },
    'time-limit-s': { type: 'string', default: '3600' },
    'shrink-s': { type: 'string', default: '30' },
    'max-shrinks': { type: 'string', default: '12' },
    'max-restarts': { type: 'string', default: '5' },
    port: { type: 'string', default: '4722' },
    'bolt-port': { type: 'string', default: '7722' },
    'http-port': { type: 'string', default: '7522' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
const numRuns = Number(values.runs);
const seed = Number(values.seed);
const budgetMs = Number(values['budget-ms']);
const maxRssKiB = Number(values['max-rss-mib']) * 1024;
const READY_TIMEOUT_MS = 180_000;
const ID_PREFIX = 'fz:';

const log = (message: string) => logLine('fuzz', message);

interface Found {
  count: number;
  firstIndex: number;
  failure: string;
  input: FuzzInput;
}

async function main(): Promise<number> {
  const instance = neo4jInstance(
    'secfuzz',
    Number(values['bolt-port']),
    Number(values['http-port']),
  );
  const workDir = await makeTempDir('polylink-fuzz-');
  const serviceOptions = {
    port: Number(values.port),
    neo4jUri: instance.uri,
    imageDir: path.join(workDir, 'images'),
    logFile: path.join(workDir, 'service.log'),
    nodeEnv: values['node-env'],
  };
  let service: ChildService | null = null;
  let sampler: NodeJS.Timeout | null = null;
  const cleanup = onExit(async () => {
    if (sampler) clearInterval(sampler);
    if (service) await stopService(service);
    await instance.stop();
    await removeDir(workDir);
  });

  try {
    log(`resetting and starting Neo4j instance ${instance.name} (${instance.uri})`);
    await instance.reset();
    await instance.start();
    service = startService(serviceOptions);
    await waitReady(service, READY_TIMEOUT_MS);
    log(`service pid ${service.pid} ready (NODE_ENV=${serviceOptions.nodeEnv})`);
    const admin = createApiKey(instance.uri, 'admin', 'fuzz-admin');
    const read = createApiKey(instance.uri, 'read', 'fuzz-read');
    const probe = await request(
      `${service.url}/graphql`,
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      },
      10_000,
    );
    const authEnforced = probe.text.includes('UNAUTHENTICATED');
    log(
      `keys: ${admin === null ? 'none (no api-keys CLI)' : 'admin and read'}; anonymous refused: ${authEnforced}`,
    );

    // One stored image, so `ImageInput.sha256` values sometimes name something that exists.
    const flag = await readFile(
      path.join(PROJECT_ROOT, 'test/fixtures/freeciv/flags/usa-large.png'),
    );
    const seeded = await request(
      `${service.url}/graphql`,
      {
        headers: { 'content-type': 'application/json', ...authHeaders(admin) },
        body: JSON.stringify({
          query:
            'mutation($in: EntityInput!) { registerEntity(input: $in) { entity { images { sha256 } } } }',
          variables: {
            in: {
              id: `${ID_PREFIX}seed`,
              name: 'United States of America',
              images: [{ dataUrl: `data:image/png;base64,${flag.toString('base64')}` }],
            },
          },
        }),
      },
      60_000,
    );
    const knownSha256 = [...seeded.text.matchAll(/"sha256":"([0-9a-f]{64})"/g)].map(
      (m) => m[1] ?? '',
    );

    let maxRss = rssKiB(service.pid) ?? 0;
    const rssBefore = maxRss;
    sampler = setInterval(() => {
      const now = service ? rssKiB(service.pid) : null;
      if (now !== null) maxRss = Math.max(maxRss, now);
    }, 500);
    const target: Target = {
      get baseUrl() {
        return service?.url ?? '';
      },
      keys: { admin, read },
      authEnforced,
      budgetMs,
      maxRssKiB,
      rssKiB: () => (service ? rssKiB(service.pid) : null),
    };

    let restarts = 0;
    const crashes: { index: number; how: string; input: unknown }[] = [];
    /** A dead child is a finding; restart it (a bounded number of times) so the run goes on. */
    const ensureAlive = async (index: number, input: FuzzInput) => {
      if (service?.alive()) return;
      if (isExiting()) throw new Error('stopping');
      const how = service
        ? await Promise.race([service.exited, sleep(1000).then(() => 'unknown')])
        : 'unknown';
      crashes.push({ index, how, input: describeInput(input) });
      if (restarts >= Number(values['max-restarts'])) throw new Error('the service keeps dying');
      restarts += 1;
      log(`the service died at input ${index}; restarting (${restarts})`);
      service = startService(serviceOptions);
      await waitReady(service, READY_TIMEOUT_MS);
    };

    const arbitrary = fuzzInputArbitrary({ idPrefix: ID_PREFIX, knownSha256 });
    const byKind: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    const byCode: Record<string, number> = {};
    const latencies: number[] = [];
    const notes: Record<string, number> = {};
    const found = new Map<string, Found>();
    let failedInputs = 0;
    let index = 0;
    let slowest = { ms: 0, index: -1, kind: '' };
    const started = performance.now();
    const shrunk: Record<string, unknown> = {};
    let mainSeconds = 0;
    let interrupted = false;
    /** The report so far; written every 1,000 inputs too, so a run cut short still leaves data. */
    const writeReport = async (stage: 'main-pass' | 'done') => {
      const rssNow = service ? rssKiB(service.pid) : null;
      const sorted = [...latencies].sort((a, b) => a - b);
      const failures = [...found.entries()].map(([category, entry]) => ({
        category,
        count: entry.count,
        firstIndex: entry.firstIndex,
        example: entry.failure.slice(0, 400),
        firstInput: describeInput(entry.input),
        minimal: shrunk[category] ?? null,
      }));
      const report = {
        script: 'bench/security/fuzz.ts',
        stage,
        date: new Date().toISOString(),
        seed,
        runs: index,
        runsAsked: numRuns,
        interrupted,
        mainPassSeconds: round(
          stage === 'done' ? mainSeconds : (performance.now() - started) / 1000,
        ),
        service: { nodeEnv: serviceOptions.nodeEnv, apiKeys: admin !== null, authEnforced },
        oracle: { budgetMs, maxRssMiB: maxRssKiB / 1024 },
        inputsByKind: byKind,
        responsesByStatus: byStatus,
        responsesByCode: byCode,
        notes,
        latencyMs: {
          p50: round(percentile(sorted, 0.5)),
          p95: round(percentile(sorted, 0.95)),
          p99: round(percentile(sorted, 0.99)),
          max: round(slowest.ms),
          slowestInput: slowest,
        },
        rssKiB: { before: rssBefore, max: maxRss, atEnd: rssNow },
        crashes,
        restarts,
        failedInputs,
        failures,
        machine: benchMachine(),
      };
      await mkdir(values.out, { recursive: true });
      const outFile = path.join(values.out, 'security-fuzz.json');
      await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);

      return { report, outFile };
    };
    log(`main pass: ${numRuns} inputs, seed ${seed}`);
    const details = await fc.check(
      fc.asyncProperty(arbitrary, async (input) => {
        const verdict: Verdict = await runInput(target, input);
        byKind[input.kind] = (byKind[input.kind] ?? 0) + 1;
        byStatus[String(verdict.status)] = (byStatus[String(verdict.status)] ?? 0) + 1;
        for (const code of new Set(verdict.codes)) byCode[code] = (byCode[code] ?? 0) + 1;
        for (const note of verdict.notes) notes[note] = (notes[note] ?? 0) + 1;
        latencies.push(verdict.ms);
        if (verdict.ms > slowest.ms) slowest = { ms: verdict.ms, index, kind: input.kind };
        if (verdict.failures.length > 0) failedInputs += 1;
        for (const failure of verdict.failures) {
          const category = `${input.kind}/${failureCategory(failure)}`;
          const entry = found.get(category);
          if (entry) entry.count += 1;
          else found.set(category, { count: 1, firstIndex: index, failure, input });
        }
        await ensureAlive(index, input);
        index += 1;
        if (index % 1000 === 0) await writeReport('main-pass');
        if (index % 500 === 0) {
          log(
            `${index} inputs, ${failedInputs} failed, ${found.size} kinds, max RSS ${Math.round(maxRss / 1024)} MiB`,
          );
        }
        // Always true: the main pass records every failure; shrinking comes afterwards.
        return true;
      }),
      {
        seed,
        numRuns,
        interruptAfterTimeLimit: Number(values['time-limit-s']) * 1000,
      },
    );
    mainSeconds = (performance.now() - started) / 1000;
    interrupted = details.interrupted;
    log(
      `main pass done: ${index} inputs in ${Math.round(mainSeconds)} s, ${found.size} kinds of failure`,
    );

    // Replays each kind's first failing input (same seed, its path) and shrinks it.
    const kinds = [...found.entries()].slice(0, Number(values['max-shrinks']));
    for (const [category, entry] of kinds) {
      log(`shrinking ${category} from input ${entry.firstIndex}`);
      const result = await fc.check(
        fc.asyncProperty(arbitrary, async (input) => {
          const verdict = await runInput(target, input);
          await ensureAlive(-1, input);
          return !verdict.failures.some(
            (failure) => `${input.kind}/${failureCategory(failure)}` === category,
          );
        }),
        {
          seed,
          path: String(entry.firstIndex),
          numRuns: 1,
          interruptAfterTimeLimit: Number(values['shrink-s']) * 1000,
        },
      );
      const counterexample = result.counterexample?.[0];
      shrunk[category] = counterexample
        ? {
            replay: { seed, path: result.counterexamplePath },
            shrinks: result.numShrinks,
            interrupted: result.interrupted,
            input: describeInput(counterexample),
          }
        : { reproduced: false };
    }

    if (sampler) clearInterval(sampler);
    const { report, outFile } = await writeReport('done');
    process.stdout.write(
      [
        `inputs ${index} (seed ${seed}): ${JSON.stringify(byKind)}`,
        `status: ${JSON.stringify(byStatus)}`,
        `codes: ${JSON.stringify(byCode)}`,
        `latency p50 ${report.latencyMs.p50} ms, max ${report.latencyMs.max} ms; RSS max ${Math.round(maxRss / 1024)} MiB; crashes ${crashes.length}`,
        `failed inputs ${failedInputs}:`,
        ...report.failures.map((f) => `  ${f.category} ×${f.count}: ${f.example.slice(0, 160)}`),
        `${failedInputs === 0 ? 'PASS' : 'FAIL'}: wrote ${path.relative(PROJECT_ROOT, outFile)}`,
        '',
      ].join('\n'),
    );
    return failedInputs === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
