/**
 * Load with faults (issue 11): 8 clients write to the service for 60 s while Neo4j is stopped and
 * started again and the service is killed with SIGKILL and restarted; afterwards the graph is
 * compared with the ledger of acknowledged writes. Its own Neo4j instance (loadfault, Bolt 7721)
 * and the service as a child process on 127.0.0.1; every loop is bounded in count and in time.
 *
 *   npx tsx bench/security/load-fault.ts                       # the full 60 s run
 *   npx tsx bench/security/load-fault.ts --duration 20 --neo4j-stop-at 5 --neo4j-down 4 --kill-at 12
 *
 * Writes bench/results/security-load-fault.json and exits non-zero when a goal is missed: no lost
 * acknowledged write, no half-written entity, no Image node without its file.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createGraph } from '../../src/neo4j/driver.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { benchMachine, percentile, round } from '../report.js';
import {
  authHeaders,
  createApiKey,
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
    duration: { type: 'string', default: '60' },
    clients: { type: 'string', default: '8' },
    'entities-per-client': { type: 'string', default: '5' },
    'neo4j-stop-at': { type: 'string', default: '20' },
    'neo4j-down': { type: 'string', default: '10' },
    'kill-at': { type: 'string', default: '40' },
    'max-ops-per-client': { type: 'string', default: '5000' },
    seed: { type: 'string', default: '11' },
    port: { type: 'string', default: '4721' },
    'bolt-port': { type: 'string', default: '7721' },
    'http-port': { type: 'string', default: '7521' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
    // Where to keep the service's log (warnings and errors of both processes); dropped otherwise.
    'service-log': { type: 'string' },
  },
});
const durationMs = Number(values.duration) * 1000;
const clientCount = Number(values.clients);
const entitiesPerClient = Number(values['entities-per-client']);
const stopAtMs = Number(values['neo4j-stop-at']) * 1000;
const downMs = Number(values['neo4j-down']) * 1000;
const killAtMs = Number(values['kill-at']) * 1000;
const maxOpsPerClient = Number(values['max-ops-per-client']);
const seed = Number(values.seed);
const REQUEST_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 180_000;
const ID_PREFIX = 'lf:';

const log = (message: string) => logLine('load-fault', message);

/** Small deterministic PRNG (mulberry32): a seed gives the same op sequence per client. */
function prng(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface PoolImage {
  readonly file: string;
  readonly sha256: string;
  readonly dataUrl: string;
}

/** Real images (Freeciv flags, Tux Paint stamps): shared between clients on purpose, as in life. */
function loadImagePool(): PoolImage[] {
  const files = [
    ...['aland', 'central_america', 'ddr', 'hre', 'rome', 'usa'].map(
      (name) => `test/fixtures/freeciv/flags/${name}-large.png`,
    ),
    'test/fixtures/tuxpaint/stamps/space/planets/3_earth.png',
    'test/fixtures/tuxpaint/stamps/animals/insects/cartoon/ladybug.png',
    'test/fixtures/tuxpaint/stamps/animals/insects/cartoon/ladybug-2.png',
  ];
  return files.map((file) => {
    const bytes = readFileSync(path.join(PROJECT_ROOT, file));
    return {
      file,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      dataUrl: `data:image/png;base64,${bytes.toString('base64')}`,
    };
  });
}

type Op = 'registerEntity' | 'updateEntity' | 'deleteEntity' | 'linkImage';

interface Content {
  readonly version: number;
  readonly name: string;
  readonly description: string;
  readonly images: readonly string[];
}

/**
 * Per entity, the set of states it may be in given what was acknowledged: 'absent' or 'v<n>'. An
 * acknowledged op collapses the set; an op that failed in a way that may have committed (network
 * error, DATABASE_UNAVAILABLE, INTERNAL_SERVER_ERROR, timeout) adds its outcome to it.
 */
interface EntityLedger {
  readonly id: string;
  readonly name: string;
  possible: Set<string>;
  readonly contents: Map<number, Content>;
  ambiguousOps: number;
}

/** Codes that say the write did not happen: the request was refused before or inside a rolled-back tx. */
const DEFINITE_FAILURES = new Set([
  'BAD_USER_INPUT',
  'CONFLICT',
  'NOT_FOUND',
  'INVALID_IMAGE',
  'UNSUPPORTED_IMAGE_FORMAT',
  'IMAGE_TOO_LARGE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  // Refused connection: the request never reached a server (a reset or a timeout may have).
  'NETWORK_ECONNREFUSED',
]);

interface Sample {
  readonly op: Op;
  readonly client: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ms: number;
  /** 'ok', an extensions.code, 'HTTP_<status>', or 'NETWORK_<code>'. */
  readonly outcome: string;
}

const DOCS: Record<Op, string> = {
  registerEntity:
    'mutation($in: EntityInput!) { registerEntity(input: $in) { status entity { id images { sha256 } } } }',
  updateEntity:
    'mutation($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { id images { sha256 } } }',
  deleteEntity: 'mutation($id: ID!) { deleteEntity(id: $id) { id removedImages } }',
  linkImage:
    'mutation($in: LinkImageInput!) { linkImage(input: $in) { image { sha256 } model triples { nil entity { id } } } }',
};

async function main(): Promise<number> {
  const pool = loadImagePool();
  const instance = neo4jInstance(
    'loadfault',
    Number(values['bolt-port']),
    Number(values['http-port']),
  );
  const workDir = await makeTempDir('polylink-load-fault-');
  const imageDir = path.join(workDir, 'images');
  const logFile = path.join(workDir, 'service.log');
  let service: ChildService | null = null;
  const serviceOptions = {
    port: Number(values.port),
    neo4jUri: instance.uri,
    imageDir,
    logFile,
    nodeEnv: 'production',
  };
  const cleanup = onExit(async () => {
    if (service) await stopService(service);
    await instance.stop();
    if (values['service-log']) await copyFile(logFile, path.resolve(values['service-log']));
    await removeDir(workDir);
  });

  try {
    log(`resetting and starting Neo4j instance ${instance.name} (${instance.uri})`);
    await instance.reset();
    await instance.start();
    service = startService(serviceOptions);
    const firstReadyMs = await waitReady(service, READY_TIMEOUT_MS);
    log(`service pid ${service.pid} ready in ${Math.round(firstReadyMs)} ms`);
    // One admin key per client, as separate programs would have: rate limits are per key.
    const keys = Array.from({ length: clientCount }, (_, client) =>
      createApiKey(instance.uri, 'admin', `load-fault-${client}`),
    );
    const key = keys[0] ?? null;
    log(key === null ? 'no api-keys CLI: sending no key' : `one admin API key per client`);
    const headersOf = (client: number) => ({
      'content-type': 'application/json',
      ...authHeaders(keys[client] ?? null),
    });
    const rssBeforeKiB = rssKiB(service.pid);

    const samples: Sample[] = [];
    const ledgers = new Map<string, EntityLedger>();
    const ackedLinks = new Set<string>();
    const runStart = performance.now();
    // Moved later (at most 30 s) when the faults ran late, so clients still run 10 s after the
    // restarted service is ready: here Neo4j takes 15-20 s to start under load.
    let deadline = runStart + durationMs;
    const hardDeadline = runStart + durationMs + 30_000;
    const faults: Record<string, number | null> = {
      neo4jStopRequestedAtS: null,
      neo4jStoppedAtS: null,
      neo4jStartRequestedAtS: null,
      neo4jReadyAtS: null,
      killAtS: null,
      restartedReadyAtS: null,
      restartReadyMs: null,
    };
    let rssBeforeKillKiB: number | null = null;
    const at = () => (performance.now() - runStart) / 1000;

    const send = async (op: Op, variables: Record<string, unknown>, client: number) => {
      const current = service;
      const startedAt = performance.now();
      const result = current
        ? await request(
            `${current.url}/graphql`,
            { headers: headersOf(client), body: JSON.stringify({ query: DOCS[op], variables }) },
            REQUEST_TIMEOUT_MS,
          )
        : null;
      const endedAt = performance.now();
      let outcome: string;
      if (!result || result.networkError !== null) {
        outcome = `NETWORK_${result?.networkError ?? 'no-service'}`;
      } else {
        try {
          const body = JSON.parse(result.text) as {
            data?: Record<string, unknown> | null;
            errors?: { extensions?: { code?: string } }[];
          };
          const code = body.errors?.[0]?.extensions?.code;
          if (body.errors && body.errors.length > 0) outcome = code ?? 'NO_CODE';
          else if (body.data?.[op]) outcome = 'ok';
          else outcome = `HTTP_${result.status}`;
        } catch {
          outcome = `HTTP_${result.status}_NOT_JSON`;
        }
      }
      samples.push({ op, client, startedAt, endedAt, ms: endedAt - startedAt, outcome });
      return outcome;
    };

    const runClient = async (client: number) => {
      const random = prng(seed * 1000 + client);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const owned: EntityLedger[] = [];
      for (let k = 0; k < entitiesPerClient; k += 1) {
        const ledger: EntityLedger = {
          id: `${ID_PREFIX}c${client}-e${k}`,
          // Stable per entity and word-like, so a caption can name it for the gazetteer.
          name: `Zorvania ${String.fromCharCode(65 + client)}${String.fromCharCode(75 + k)} Republic`,
          possible: new Set(['absent']),
          contents: new Map(),
          ambiguousOps: 0,
        };
        owned.push(ledger);
        ledgers.set(ledger.id, ledger);
      }
      let version = 0;
      const newContent = (ledger: EntityLedger): Content => {
        version += 1;
        const count = 1 + Math.floor(random() * 3);
        const images = [...new Set(Array.from({ length: count }, () => pick(pool).sha256))];
        const content = {
          version,
          name: ledger.name,
          description: `load-fault client ${client} entity ${ledger.id} version ${version}`,
          images,
        };
        ledger.contents.set(version, content);
        return content;
      };
      const dataUrlOf = (sha256: string) => pool.find((image) => image.sha256 === sha256)?.dataUrl;

      for (let ops = 0; ops < maxOpsPerClient && performance.now() < deadline; ops += 1) {
        const ledger = pick(owned);
        const mayBeAbsent = ledger.possible.has('absent');
        const mayBePresent = [...ledger.possible].some((state) => state !== 'absent');
        const roll = random();
        let op: Op;
        if (mayBeAbsent && !mayBePresent) op = 'registerEntity';
        else if (!mayBeAbsent) {
          op = roll < 0.4 ? 'updateEntity' : roll < 0.6 ? 'deleteEntity' : 'linkImage';
        } else op = roll < 0.5 ? 'registerEntity' : 'deleteEntity';

        let outcome: string;
        let target: string | null = null;
        if (op === 'registerEntity' || op === 'updateEntity') {
          const content = newContent(ledger);
          target = `v${content.version}`;
          const fields = {
            name: content.name,
            description: content.description,
            images: content.images.map((sha) => ({ dataUrl: dataUrlOf(sha) })),
          };
          outcome =
            op === 'registerEntity'
              ? await send(op, { in: { id: ledger.id, ...fields } }, client)
              : await send(op, { id: ledger.id, patch: fields }, client);
        } else if (op === 'deleteEntity') {
          target = 'absent';
          outcome = await send(op, { id: ledger.id }, client);
        } else {
          const image = pick(pool);
          outcome = await send(
            op,
            {
              in: {
                image: { dataUrl: image.dataUrl },
                caption: `The flag of ${ledger.name} on a hill.`,
                regions: [{ x: 0, y: 0, width: 24, height: 24 }],
                candidates: 10,
              },
            },
            client,
          );
          if (outcome === 'ok') ackedLinks.add(image.sha256);
        }

        if (target !== null) {
          if (outcome === 'ok') ledger.possible = new Set([target]);
          else if (!DEFINITE_FAILURES.has(outcome)) {
            // May have committed: a register only when the entity may be absent, an update only
            // when it may be present.
            const applies =
              op === 'registerEntity' ? mayBeAbsent : op === 'updateEntity' ? mayBePresent : true;
            if (applies) {
              ledger.possible.add(target);
              ledger.ambiguousOps += 1;
            }
          }
        }
        // The service or the database is down: back off instead of spinning on refusals.
        if (outcome.startsWith('NETWORK_')) await sleep(250);
        else if (outcome !== 'ok' && !DEFINITE_FAILURES.has(outcome)) await sleep(100);
      }
    };

    const runFaults = async () => {
      await sleep(Math.max(0, stopAtMs - (performance.now() - runStart)));
      faults.neo4jStopRequestedAtS = at();
      log('fault: stopping Neo4j');
      await instance.stop();
      faults.neo4jStoppedAtS = at();
      await sleep(Math.max(0, stopAtMs + downMs - (performance.now() - runStart)));
      faults.neo4jStartRequestedAtS = at();
      log('fault: starting Neo4j again');
      await instance.start();
      faults.neo4jReadyAtS = at();
      await sleep(Math.max(0, killAtMs - (performance.now() - runStart)));
      // Kill only once the service has served again after Neo4j came back (at most 15 s more), so
      // the two recoveries are measured apart.
      const neo4jBack = runStart + (faults.neo4jReadyAtS ?? 0) * 1000;
      for (let waited = 0; waited < 150; waited += 1) {
        if (samples.some((sample) => sample.outcome === 'ok' && sample.endedAt >= neo4jBack)) break;
        await sleep(100);
      }
      if (!service) return;
      rssBeforeKillKiB = rssKiB(service.pid);
      faults.killAtS = at();
      log(`fault: kill -9 of the service (pid ${service.pid})`);
      service.kill('SIGKILL');
      await Promise.race([service.exited, sleep(5000)]);
      const killedAt = performance.now();
      service = startService(serviceOptions);
      await waitReady(service, READY_TIMEOUT_MS);
      faults.restartReadyMs = Math.round(performance.now() - killedAt);
      faults.restartedReadyAtS = at();
      deadline = Math.min(hardDeadline, Math.max(deadline, performance.now() + 10_000));
      log(`restarted service pid ${service.pid} ready ${faults.restartReadyMs} ms after the kill`);
    };

    log(
      `${clientCount} clients for ${durationMs / 1000} s; Neo4j stops at ${stopAtMs / 1000} s for ${
        downMs / 1000
      } s; kill -9 at ${killAtMs / 1000} s`,
    );
    const faultRun = runFaults();
    await Promise.all(Array.from({ length: clientCount }, (_, client) => runClient(client)));
    await faultRun;
    const runSeconds = at();
    if (!service) throw new Error('no service after the run');
    await waitReady(service, READY_TIMEOUT_MS);
    const rssAfterKiB = rssKiB(service.pid);

    // --- compare the graph with the ledger ---------------------------------------------------
    const graph = await createGraph({
      uri: instance.uri,
      user: 'neo4j',
      password: '',
      database: 'neo4j',
      timeoutMs: 10_000,
    });
    const observed = await graph.read('loadFault.check', (tx) =>
      tx.query<{ id: string; name: string; description: string; images: string[] }>(
        `MATCH (e:Entity) WHERE e.id STARTS WITH $prefix
         OPTIONAL MATCH (e)-[r:HAS_IMAGE]->(i:Image)
         WITH e, r, i ORDER BY r.position
         RETURN e.id AS id, e.name AS name, e.description AS description,
                [sha IN collect(i.sha256) WHERE sha IS NOT NULL] AS images`,
        { prefix: ID_PREFIX },
      ),
    );
    const allImages = await graph.read('loadFault.images', (tx) =>
      tx.query<{ sha256: string }>('MATCH (i:Image) RETURN i.sha256 AS sha256'),
    );
    const linked = await graph.read('loadFault.links', (tx) =>
      tx.query<{ sha256: string }>('MATCH (l:LinkedImage) RETURN DISTINCT l.sha256 AS sha256'),
    );
    await graph.close();

    const details: string[] = [];
    let lost = 0;
    let halfWritten = 0;
    let indeterminate = 0;
    let consistent = 0;
    const seen = new Set<string>();
    for (const row of observed) {
      seen.add(row.id);
      const ledger = ledgers.get(row.id);
      const version = Number(/version (\d+)$/.exec(row.description)?.[1] ?? Number.NaN);
      const content = ledger?.contents.get(version);
      if (!ledger || !content) {
        halfWritten += 1;
        details.push(`${row.id}: content from no op (${row.description})`);
        continue;
      }
      const sameImages =
        row.images.length === content.images.length &&
        row.images.every((sha, index) => sha === content.images[index]);
      if (row.name !== content.name || !sameImages) {
        halfWritten += 1;
        details.push(
          `${row.id}: v${version} has ${row.images.length} of ${content.images.length} images or a wrong name`,
        );
        continue;
      }
      if (ledger.possible.has(`v${version}`)) {
        if (ledger.possible.size > 1) indeterminate += 1;
        else consistent += 1;
      } else {
        lost += 1;
        details.push(
          `${row.id}: found v${version}, acknowledged state ${[...ledger.possible].join('|')}`,
        );
      }
    }
    for (const ledger of ledgers.values()) {
      if (seen.has(ledger.id)) continue;
      if (ledger.possible.has('absent')) {
        if (ledger.possible.size > 1) indeterminate += 1;
        else consistent += 1;
      } else {
        lost += 1;
        details.push(`${ledger.id}: absent, acknowledged state ${[...ledger.possible].join('|')}`);
      }
    }
    const linkedSet = new Set(linked.map((row) => row.sha256));
    const lostLinks = [...ackedLinks].filter((sha) => !linkedSet.has(sha));
    for (const sha of lostLinks) details.push(`LinkedImage ${sha}: acknowledged, not in the graph`);
    const imageFile = (sha: string) => path.join(imageDir, sha.slice(0, 2), sha);
    const orphanImages = allImages.filter((row) => !existsSync(imageFile(row.sha256)));
    for (const row of orphanImages) details.push(`Image ${row.sha256}: no file in the image dir`);
    const imageShas = new Set(allImages.map((row) => row.sha256));
    const strayFiles: string[] = [];
    for (const sub of existsSync(imageDir) ? await readdir(imageDir) : []) {
      for (const file of await readdir(path.join(imageDir, sub))) {
        if (!file.endsWith('.tmp') && !imageShas.has(file)) strayFiles.push(file);
      }
    }

    // --- report ---------------------------------------------------------------------------------
    const ops: Op[] = ['registerEntity', 'updateEntity', 'deleteEntity', 'linkImage'];
    const byOp = Object.fromEntries(
      ops.map((op) => {
        const mine = samples.filter((sample) => sample.op === op);
        const ok = mine.filter((sample) => sample.outcome === 'ok').map((s) => s.ms);
        const all = mine.map((s) => s.ms);
        ok.sort((a, b) => a - b);
        all.sort((a, b) => a - b);
        const errors: Record<string, number> = {};
        for (const sample of mine) {
          if (sample.outcome !== 'ok') errors[sample.outcome] = (errors[sample.outcome] ?? 0) + 1;
        }
        return [
          op,
          {
            requests: mine.length,
            acknowledged: ok.length,
            errors,
            okLatencyMs: { p50: round(percentile(ok, 0.5)), p95: round(percentile(ok, 0.95)) },
            allLatencyMs: { p50: round(percentile(all, 0.5)), p95: round(percentile(all, 0.95)) },
          },
        ];
      }),
    );
    const errorsByCode: Record<string, number> = {};
    for (const sample of samples) {
      if (sample.outcome !== 'ok') {
        errorsByCode[sample.outcome] = (errorsByCode[sample.outcome] ?? 0) + 1;
      }
    }
    const firstOkAfter = (seconds: number | null) => {
      if (seconds === null) return null;
      const since = runStart + seconds * 1000;
      const first = samples
        .filter((sample) => sample.outcome === 'ok' && sample.endedAt >= since)
        .reduce((min, sample) => Math.min(min, sample.endedAt), Number.POSITIVE_INFINITY);
      return Number.isFinite(first) ? Math.round(first - since) : null;
    };
    const goals = {
      lostAcknowledgedWrites: lost + lostLinks.length,
      halfWrittenEntities: halfWritten,
      imageNodesWithoutFile: orphanImages.length,
    };
    const passed = Object.values(goals).every((count) => count === 0);
    const report = {
      script: 'bench/security/load-fault.ts',
      date: new Date().toISOString(),
      options: {
        durationS: durationMs / 1000,
        clients: clientCount,
        entitiesPerClient,
        neo4jStopAtS: stopAtMs / 1000,
        neo4jDownS: downMs / 1000,
        killAtS: killAtMs / 1000,
        seed,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        nodeEnv: serviceOptions.nodeEnv,
        apiKey: key !== null,
        images: pool.map((image) => image.file),
      },
      runSeconds: round(runSeconds),
      requests: samples.length,
      byOp,
      errorsByCode,
      faults: {
        ...faults,
        firstOkAfterNeo4jReadyMs: firstOkAfter(faults.neo4jReadyAtS ?? null),
        firstOkAfterRestartReadyMs: firstOkAfter(faults.restartedReadyAtS ?? null),
        firstOkAfterKillMs: firstOkAfter(faults.killAtS ?? null),
      },
      checks: {
        entitiesTracked: ledgers.size,
        entitiesInGraph: observed.length,
        consistent,
        indeterminate,
        ambiguousOps: [...ledgers.values()].reduce((sum, l) => sum + l.ambiguousOps, 0),
        lostEntityWrites: lost,
        acknowledgedLinks: ackedLinks.size,
        lostLinks: lostLinks.length,
        halfWritten,
        imageNodes: allImages.length,
        imageNodesWithoutFile: orphanImages.length,
        strayImageFiles: strayFiles.length,
        details: details.slice(0, 50),
      },
      goals,
      passed,
      rssKiB: { beforeLoad: rssBeforeKiB, beforeKill: rssBeforeKillKiB, afterRun: rssAfterKiB },
      machine: benchMachine(),
    };
    await mkdir(values.out, { recursive: true });
    const outFile = path.join(values.out, 'security-load-fault.json');
    await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);

    const rows = ops.map((op) => {
      const entry = byOp[op] as {
        requests: number;
        acknowledged: number;
        okLatencyMs: { p50: number; p95: number };
      };
      return `${op.padEnd(15)} ${String(entry.requests).padStart(6)} ${String(entry.acknowledged).padStart(6)} ${String(entry.okLatencyMs.p50).padStart(8)} ${String(entry.okLatencyMs.p95).padStart(8)}`;
    });
    process.stdout.write(
      [
        `op              reqs    ack  p50 ms   p95 ms`,
        ...rows,
        `errors: ${JSON.stringify(errorsByCode)}`,
        `recovery: first ok ${report.faults.firstOkAfterNeo4jReadyMs} ms after Neo4j ready; restart ready ${faults.restartReadyMs} ms after kill -9, first ok ${report.faults.firstOkAfterKillMs} ms after it`,
        `lost ${goals.lostAcknowledgedWrites}, half-written ${halfWritten}, Image nodes without file ${orphanImages.length}, indeterminate ${indeterminate}, stray files ${strayFiles.length}`,
        `RSS KiB: before ${rssBeforeKiB}, before kill ${rssBeforeKillKiB}, after ${rssAfterKiB}`,
        ...details.slice(0, 20),
        `${passed ? 'PASS' : 'FAIL'}: wrote ${path.relative(PROJECT_ROOT, outFile)}`,
        '',
      ].join('\n'),
    );
    return passed ? 0 : 1;
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
