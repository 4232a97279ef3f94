/**
 * Scale benchmark (issue 13, "Scale"): grows the graph to N entities with images, registers them
 * through the service, then measures what the issue asks with the service running.
 *
 * The KB (var/eval/scale-<N>/kb.jsonl, import format plus `origin` and `synthetic`):
 *   1. real: the benchmark KB (var/benchmark/kb.jsonl), the held-out cross-depiction sources'
 *      KB entities (var/xdep/{wesnoth,cards}/kb.jsonl), the cross-depiction pool's concepts that
 *      the benchmark KB does not already hold (var/xdep/train-pairs.jsonl: real names, every
 *      style's picture; their description is written from the name and the styles, since the
 *      pool has none) and the demo sets' entities not already in it (var/demo/*).
 *   2. synthetic, to reach N: real entity k mod R (R = the real ones with images) re-used with a
 *      deterministic variation of its first picture (flip, rotation, hue, size from the variant
 *      number, sharp), id `synthetic:<n>`, name `<real name> (synthetic variant <v>)`, tag and
 *      field `synthetic: true`. Latency, memory and throughput only: never a quality figure.
 *
 * Phases (one process each, so the measurements see a fresh service):
 *   npx tsx bench/scale.ts --n 10000 --phase import    # reset the instance, build KB, register it
 *   npx tsx bench/scale.ts --n 10000 --phase measure   # start-up, RSS, k-NN, recall, searchKeys,
 *                                                      # linkImage, store size, re-encode subset
 *   npx tsx bench/scale.ts --n 100000 --phase grow     # after the 10k import and measure: copies
 *                                                      # of the real entities written by Cypher up
 *                                                      # to N (no picture bytes; see growPhase),
 *   npx tsx bench/scale.ts --n 100000 --phase measure --reencode-subset 0  # then measured
 *   npx tsx bench/scale.ts --n 100000 --phase knn-only # in-process k-NN and memory on N vectors
 *                                                      # grown from the graph's stored ones (no
 *                                                      # registration: see the report)
 * Options: --instance NAME:BOLT:HTTP (default scale:7700:7487), --queries (k-NN queries, 200),
 * --k (1000), --link-sample (linkImage V&T-KG test queries, 30), --reencode-subset (500).
 * Writes bench/results/scale-<N>.{json,md} (the import phase's figures in scale-<N>-import.json,
 * merged by the measure phase). Every timing is printed with the load average next to it.
 * A benchmark, not a test: on a shared 2-core machine the figures depend on the load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
// eslint-disable-next-line no-restricted-imports -- the offline KB builder makes the synthetic pictures; it is not service code
import sharp from 'sharp';
import { createApp, type App } from '../src/app.js';
import { parseConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createGraph } from '../src/neo4j/driver.js';
import type { EntityProjection } from '../src/neo4j/entity-repository.js';
import { searchEntityImages } from '../src/neo4j/vector-repository.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { CandidateService } from '../src/services/candidate-service.js';
import type { EntityInput } from '../src/services/entity-service.js';
import { DenseVectorIndex } from '../src/vectors/dense-index.js';
import { onnxMatMulScorer } from '../src/vectors/row-scorer.js';
import { loadEntityVectorsPage, type EntityVectorRow } from '../src/neo4j/vector-changes.js';
import type { ImportLine } from '../src/cli/import-file.js';
import {
  evaluationConfig,
  importFieldsOf,
  parseInstance,
  runNeo4jScript,
} from '../eval/harness/benchmark-db.js';
import { readGoldQueries, type GoldQuery } from '../eval/harness/format.js';
import { linkImage, serviceClient } from '../eval/service/client.js';
import { dataUrlOf, linkInputOf } from '../eval/service/convert.js';
import { benchMachine, evenlySpread, gaussian, percentile, round } from './report.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    phase: { type: 'string', default: 'import' },
    instance: { type: 'string', default: 'scale:7700:7487' },
    queries: { type: 'string', default: '200' },
    k: { type: 'string', default: '1000' },
    'link-sample': { type: 'string', default: '30' },
    'reencode-subset': { type: 'string', default: '500' },
    'batch-size': { type: 'string', default: '50' },
    /** knn-only: keep int8 copies (two-stage search), noise on the grown image vectors. */
    quantised: { type: 'string', default: '1' },
    sigma: { type: 'string', default: '0.05' },
    /** Internal: a child process that times createApp in one vector mode and prints JSON. */
    'startup-child': { type: 'string' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
const N = Number(values.n);
const quantised = values.quantised !== '0';
const sigma = Number(values.sigma);
const instance = parseInstance(values.instance);
const workDir = path.join(PROJECT_ROOT, `var/eval/scale-${N}`);
const kbFile = path.join(workDir, 'kb.jsonl');
const imageDir = `var/eval/${instance.NEO4J_INSTANCE}-images`;
const loadavg = () => os.loadavg().map(round);

function log(message: string): void {
  process.stderr.write(
    `[scale ${new Date().toISOString()} load ${loadavg().join(' ')}] ${message}\n`,
  );
}

function config(mode: 'memory' | 'neo4j', maxCandidates = 1000): Config {
  const base = evaluationConfig(instance, { maxCandidates, imageDir });
  return parseConfig({
    ...process.env,
    NEO4J_URI: base.neo4j.uri,
    NEO4J_USER: 'neo4j',
    NEO4J_PASSWORD: '',
    NEO4J_DATABASE: 'neo4j',
    POLYLINK_HOST: '127.0.0.1',
    POLYLINK_PORT: '0',
    POLYLINK_PUBLIC_URL: '',
    POLYLINK_IMAGE_DIR: path.join(PROJECT_ROOT, imageDir),
    POLYLINK_MAX_CANDIDATES: String(maxCandidates),
    POLYLINK_RATE_LINK_IMAGE: '0',
    POLYLINK_RATE_REGISTRATIONS: '0',
    POLYLINK_VECTOR_SEARCH: mode,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
}

// --- the KB --------------------------------------------------------------------------------------

interface KbLine {
  id: string;
  name: string;
  aliases?: string[];
  description?: string;
  domain?: string;
  tags?: string[];
  images?: { path: string }[];
  origin: string;
  synthetic: boolean;
  /** Synthetic lines: the real entity and the variation of its first picture. */
  variantOf?: string;
  variant?: number;
}

async function readJsonl<T>(file: string): Promise<T[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

function importFields(line: Record<string, unknown>, origin: string): KbLine {
  return { ...importFieldsOf(line as unknown as ImportLine), origin, synthetic: false };
}

async function realEntities(): Promise<{ lines: KbLine[]; counts: Record<string, number> }> {
  const lines: KbLine[] = [];
  const ids = new Set<string>();
  const counts: Record<string, number> = {};
  const add = (line: KbLine) => {
    if (ids.has(line.id)) return;
    ids.add(line.id);
    lines.push(line);
    counts[line.origin] = (counts[line.origin] ?? 0) + 1;
  };
  const r = (p: string) => path.join(PROJECT_ROOT, p);
  for (const line of await readJsonl<Record<string, unknown>>(r('var/benchmark/kb.jsonl')))
    add(importFields(line, 'benchmark-kb'));
  for (const source of ['wesnoth', 'cards']) {
    for (const line of await readJsonl<Record<string, unknown>>(r(`var/xdep/${source}/kb.jsonl`)))
      add(importFields(line, `xdep-${source}`));
  }
  // The pool: one entity per concept not already in the KB (by folded name, or emoji codepoints).
  const knownNames = new Set(lines.map((l) => l.name.toLowerCase()));
  const knownEmoji = new Set(
    lines.filter((l) => l.id.startsWith('emoji:')).map((l) => l.id.replaceAll('-FE0F', '')),
  );
  const pool = new Map<string, { name: string; styles: string[]; paths: string[] }>();
  for (const pair of await readJsonl<{
    concept: string;
    name: string;
    style: string;
    path: string;
  }>(r('var/xdep/train-pairs.jsonl'))) {
    // circle-flags draws on a 4096x4096 canvas: over the service's SVG limit (4 MP), rejected.
    if (pair.style === 'circle-flags') continue;
    const entry = pool.get(pair.concept) ?? { name: pair.name, styles: [], paths: [] };
    entry.styles.push(pair.style);
    entry.paths.push(pair.path);
    pool.set(pair.concept, entry);
  }
  for (const [concept, entry] of pool) {
    if (knownNames.has(entry.name.toLowerCase()) || knownEmoji.has(concept)) continue;
    const kind = concept.split(':')[0]!;
    add({
      id: `xdep-pool:${concept}`,
      name: entry.name,
      description: `${kind === 'flag' ? 'The flag' : 'The emoji'} ${entry.name}, as drawn in the ${[...new Set(entry.styles)].join(', ')} styles.`,
      domain: `xdep-pool/${kind}`,
      tags: [kind],
      // At most 4 pictures (the registration limit per entity is checked by the service).
      images: entry.paths.slice(0, 4).map((p) => ({ path: p })),
      origin: 'xdep-pool',
      synthetic: false,
    });
  }
  for (const set of ['freeciv', 'tuxpaint']) {
    for (const line of await readJsonl<Record<string, unknown>>(
      r(`var/demo/${set}/entities.jsonl`),
    ))
      add(importFields(line, `demo-${set}`));
  }
  return { lines, counts };
}

/** The deterministic variation of a picture for variant v (distinct bytes for distinct v). */
async function variantImage(file: string, v: number): Promise<Buffer> {
  let image = sharp(file, { animated: false }).rotate(90 * (v % 4));
  if (Math.floor(v / 4) % 2 === 1) image = image.flop();
  const size = 96 + ((v * 7) % 97);
  return image
    .resize(size, size, { fit: 'contain', background: { r: 255, g: 255, b: 255, alpha: 0 } })
    .modulate({ hue: (v * 37) % 360, saturation: 0.8 + ((v * 13) % 5) / 10 })
    .png()
    .toBuffer();
}

async function buildKb(): Promise<{ lines: KbLine[]; counts: Record<string, number> }> {
  const { lines, counts } = await realEntities();
  const withImages = lines.filter((l) => l.images && l.images.length > 0);
  const real = Math.min(lines.length, N);
  const out = lines.slice(0, real);
  await mkdir(path.join(workDir, 'images'), { recursive: true });
  for (let n = real; n < N; n += 1) {
    const base = withImages[(n - real) % withImages.length]!;
    const v = Math.floor((n - real) / withImages.length) + 1;
    const file = path.join(workDir, 'images', `synthetic-${n}.png`);
    if (!existsSync(file)) {
      await writeFile(
        file,
        await variantImage(path.join(PROJECT_ROOT, base.images![0]!.path), v * 31 + n),
      );
    }
    out.push({
      id: `synthetic:${n}`,
      name: `${base.name} (synthetic variant ${v})`,
      ...(base.aliases ? { aliases: base.aliases } : {}),
      description: `${base.description ?? ''} [Synthetic entity: a variation of ${base.id}.]`,
      ...(base.domain !== undefined ? { domain: base.domain } : {}),
      tags: [...(base.tags ?? []), 'synthetic'],
      images: [{ path: path.relative(PROJECT_ROOT, file) }],
      origin: 'synthetic',
      synthetic: true,
      variantOf: base.id,
      variant: v,
    });
    if ((n - real) % 1000 === 999) log(`made ${n - real + 1} synthetic pictures`);
  }
  if (N > real) counts.synthetic = N - real;
  await writeFile(kbFile, out.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return { lines: out, counts: { ...counts, realAvailable: lines.length } };
}

// --- phase: import ------------------------------------------------------------------------------

async function importPhase(): Promise<void> {
  const builtAt = performance.now();
  const { lines, counts } = await buildKb();
  log(
    `KB of ${lines.length}: ${JSON.stringify(counts)} in ${round(performance.now() - builtAt)} ms`,
  );
  runNeo4jScript('reset.sh', instance);
  runNeo4jScript('start.sh', instance);
  const app = await createApp(config('neo4j'), createLogger(config('neo4j').logLevel));
  const batchSize = Number(values['batch-size']);
  const started = performance.now();
  const samples: { done: number; ms: number; load: number[] }[] = [];
  let images = 0;
  let failed = 0;
  try {
    for (let i = 0; i < lines.length; i += batchSize) {
      const batch = lines.slice(i, i + batchSize);
      const inputs: EntityInput[] = await Promise.all(
        batch.map(async (l) => {
          const pics = await Promise.all(
            (l.images ?? []).map(async (image) => {
              const file = path.resolve(PROJECT_ROOT, image.path);
              return { kind: 'bytes' as const, bytes: await readFile(file), label: file };
            }),
          );
          images += pics.length;
          return {
            id: l.id,
            name: l.name,
            ...(l.aliases ? { aliases: l.aliases } : {}),
            ...(l.description !== undefined ? { description: l.description } : {}),
            ...(l.domain !== undefined ? { domain: l.domain } : {}),
            ...(l.tags ? { tags: l.tags } : {}),
            images: pics,
          };
        }),
      );
      try {
        await app.services.entities.registerMany(inputs);
      } catch (error) {
        // One bad picture fails its batch: register that batch one by one and count the failures.
        log(`batch at ${i} failed (${String(error)}); one by one`);
        for (const input of inputs) {
          try {
            await app.services.entities.registerMany([input]);
          } catch (e) {
            failed += 1;
            log(`  ${input.id}: ${String(e)}`);
          }
        }
      }
      const done = Math.min(i + batchSize, lines.length);
      if (done % 500 < batchSize || done === lines.length) {
        const ms = performance.now() - started;
        samples.push({ done, ms: round(ms), load: loadavg() });
        log(`registered ${done}/${lines.length}: ${round((done * 1000) / ms)} entities/s`);
      }
    }
  } finally {
    await app.close();
  }
  const ms = performance.now() - started;
  const realCount = lines.filter((l) => !l.synthetic).length;
  const realSample = samples.filter((s) => s.done <= realCount).at(-1);
  const report = {
    date: new Date().toISOString(),
    n: N,
    kb: { file: path.relative(PROJECT_ROOT, kbFile), counts },
    registration: {
      entities: lines.length - failed,
      failed,
      images,
      batchSize,
      seconds: round(ms / 1000),
      entitiesPerSecond: round(((lines.length - failed) * 1000) / ms),
      imagesPerSecond: round((images * 1000) / ms),
      realPartEntitiesPerSecond: realSample
        ? round((realSample.done * 1000) / realSample.ms)
        : null,
      note: 'EntityService.registerMany in batches, in process (no HTTP), POLYLINK_VECTOR_SEARCH=neo4j; the images are decoded, stored and encoded (image + text vectors, candidate vectors) during registration',
      progress: samples,
    },
    loadAverageAtEnd: loadavg(),
  };
  await mkdir(values.out, { recursive: true });
  await writeFile(
    path.join(values.out, `scale-${N}-import.json`),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  log(`import done: ${JSON.stringify(report.registration).slice(0, 400)}`);
}

// --- phase: measure -----------------------------------------------------------------------------

interface Dist {
  p50Ms: number;
  p99Ms: number;
  n: number;
}
function dist(samples: number[]): Dist {
  const s = [...samples].sort((a, b) => a - b);
  return { p50Ms: round(percentile(s, 0.5)), p99Ms: round(percentile(s, 0.99)), n: s.length };
}

function perturb(vector: ArrayLike<number>, sigma: number, g: () => number): Float32Array {
  const out = new Float32Array(vector.length);
  let norm = 0;
  for (let i = 0; i < vector.length; i += 1) {
    out[i] = vector[i]! + sigma * g();
    norm += out[i]! * out[i]!;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < out.length; i += 1) out[i] = out[i]! / norm;
  return out;
}

/** Idle time after start-up before the settled RSS is read. */
const SETTLE_MS = 20_000;

async function startupChild(mode: 'memory' | 'neo4j'): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const app = await createApp(config(mode), createLogger(config(mode).logLevel));
  const ms = performance.now() - started;
  global.gc?.();
  const usage = process.memoryUsage();
  // Right after the load, V8 still holds the heap pages the load's garbage took (the vectors
  // arrive as JS arrays, page by page) and returns them over the next seconds of idle time: at
  // 100,000 entities RSS fell by 66-120 MiB in 20 s (three start-ups, 2026-12-05). Both are
  // reported; the settled one is what a running service holds.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  global.gc?.();
  const settled = process.memoryUsage();
  const stats = app.backend.vectors?.stats() ?? null;
  await app.close();
  process.stdout.write(
    `${JSON.stringify({ mode, startupMs: round(ms), rssBytes: usage.rss, rssSettledBytes: settled.rss, settleMs: SETTLE_MS, rssBeforeBytes: rssBefore, heapUsedBytes: usage.heapUsed, heapTotalBytes: usage.heapTotal, heapTotalSettledBytes: settled.heapTotal, externalBytes: usage.external, arrayBuffersBytes: usage.arrayBuffers, vectors: stats, load: loadavg() })}\n`,
  );
}

function startupInChild(mode: 'memory' | 'neo4j'): Record<string, unknown> {
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--expose-gc',
      process.argv[1]!,
      '--n',
      String(N),
      '--instance',
      values.instance,
      '--startup-child',
      mode,
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !line.startsWith('{')) {
    throw new Error(`start-up child (${mode}) failed: ${result.stderr.slice(-2000)}`);
  }
  return JSON.parse(line) as Record<string, unknown>;
}

function storeSize(): { dataDirBytes: number; path: string } {
  const dir = path.join(PROJECT_ROOT, 'var/neo4j/instances', instance.NEO4J_INSTANCE!, 'data');
  const du = spawnSync('du', ['-sbL', dir], { encoding: 'utf8' });
  return { dataDirBytes: Number(du.stdout.split('\t')[0]), path: path.relative(PROJECT_ROOT, dir) };
}

async function linkLatency(
  app: App,
  queries: readonly GoldQuery[],
): Promise<Dist & { server: Dist; errors: number }> {
  const client = await serviceClient(app, 'scale benchmark');
  const inputs = await Promise.all(
    queries.map(async (q) => {
      const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, q.image)));
      return linkInputOf(q, 'vandt-kg', { dataUrl: dataUrlOf(bytes, q.image), candidates: 1000 });
    }),
  );
  for (const input of inputs.slice(0, 5)) await linkImage(client, input); // warm-up
  const http: number[] = [];
  const server: number[] = [];
  let errors = 0;
  for (const input of inputs) {
    const answer = await linkImage(client, input);
    if (!answer.result) {
      errors += 1;
      continue;
    }
    http.push(answer.ms);
    const total = answer.result.timing.find((t) => t.stage === 'total');
    if (total) server.push(total.ms);
  }
  return { ...dist(http), server: dist(server), errors };
}

/** Only the entity's id: the Neo4j side of the k-NN comparison, without record mapping. */
const ID_ONLY: EntityProjection<string> = { cypher: 'e.id' };

async function measurePhase(): Promise<void> {
  const growFile = path.join(values.out, `scale-${N}-grow.json`);
  const growth = existsSync(growFile)
    ? (JSON.parse(await readFile(growFile, 'utf8')) as Record<string, unknown>)
    : null;
  const importReport = existsSync(path.join(values.out, `scale-${N}-import.json`))
    ? (JSON.parse(
        await readFile(path.join(values.out, `scale-${N}-import.json`), 'utf8'),
      ) as Record<string, unknown>)
    : null;
  runNeo4jScript('start.sh', instance);
  const results: Record<string, unknown> = {};

  // 1. Start-up and RSS: fresh processes, each mode.
  const startup: Record<string, unknown>[] = [];
  for (const mode of ['neo4j', 'memory'] as const) {
    const child = startupInChild(mode);
    startup.push(child);
    log(`start-up ${mode}: ${JSON.stringify(child)}`);
  }
  results.startup = startup;

  // 2. With the service in memory mode: k-NN in memory vs Neo4j's index, recall, searchKeys, linkImage.
  const memCfg = config('memory');
  let app = await createApp(memCfg, createLogger(memCfg.logLevel));
  const k = Number(values.k);
  try {
    const { graph, encoders, vectors } = app.backend;
    if (!encoders?.image || !encoders.text || !vectors)
      throw new Error('memory mode without encoders');
    const entities = (await app.services.queries.page({ first: 1 })).totalCount;
    results.entities = entities;
    const [counts] = await graph.read('counts', (tx) =>
      tx.query<{ images: number; synthetic: number }>(
        `CALL { MATCH (i:Image) RETURN count(i) AS images }
         CALL { MATCH (e:Entity) WHERE e.id STARTS WITH 'synthetic' RETURN count(e) AS synthetic }
         RETURN images, synthetic`,
      ),
    );
    results.graph = { entities, ...counts };
    log(`graph: ${JSON.stringify(results.graph)}`);
    // Query vectors: stored image vectors of entities picked evenly, plus noise (sigma 0.02).
    const ids = await graph.read('ids', (tx) =>
      tx.query<{ id: string }>(
        `MATCH (e:Entity) WHERE EXISTS { (e)-[:HAS_IMAGE]->(:Image {imageEncoder: $fp}) }
         RETURN e.id AS id ORDER BY id`,
        { fp: encoders.image!.fingerprint },
      ),
    );
    const queryCount = Number(values.queries);
    const stored = await graph.read('sample', (tx) =>
      tx.query<{ id: string; v: number[] }>(
        `UNWIND $ids AS id MATCH (e:Entity {id: id})-[r:HAS_IMAGE]->(i:Image)
         WHERE i.imageEncoder = $fp AND i.embedding IS NOT NULL
         WITH e, i ORDER BY e.id, r.position WITH e, collect(i)[0] AS i
         RETURN e.id AS id, i.embedding AS v ORDER BY id`,
        { fp: encoders.image!.fingerprint, ids: evenlySpread(ids, queryCount).map((r) => r.id) },
      ),
    );
    const g = gaussian(13);
    const queries = stored.map((row) => perturb(row.v, 0.02, g));
    const memTimes: number[] = [];
    const neoTimes: number[] = [];
    let hit = 0;
    let total = 0;
    const neo = async (q: Float32Array) =>
      graph.read('knn', (tx) =>
        searchEntityImages(tx, {
          vector: Array.from(q),
          fingerprint: encoders.image!.fingerprint,
          limit: k,
          domain: null,
          projection: ID_ONLY,
        }),
      );
    for (const q of queries.slice(0, 10)) {
      await vectors.search('image', { vector: q, limit: k, domain: null });
      await neo(q);
    }
    for (const q of queries) {
      let t = performance.now();
      const exact = await vectors.search('image', { vector: q, limit: k, domain: null });
      memTimes.push(performance.now() - t);
      t = performance.now();
      const approx = await neo(q);
      neoTimes.push(performance.now() - t);
      const found = new Set(approx.slice(0, 100).map((h) => h.entity));
      const truth = exact.slice(0, 100).map((h) => h.entity.id);
      hit += truth.filter((id) => found.has(id)).length;
      total += truth.length;
    }
    const mem = dist(memTimes);
    const neoDist = dist(neoTimes);
    results.knn = {
      k,
      queries: queries.length,
      querySource:
        'stored image vectors of evenly picked entities + Gaussian noise sigma 0.02, renormalised',
      memory: mem,
      neo4jIndex: neoDist,
      ratioNeo4jOverMemoryP50: round(neoDist.p50Ms / mem.p50Ms),
      recallAt100Neo4jVsExact: round((100 * hit) / Math.max(1, total)),
      note: 'image kind, entity level (best image per entity), no domain filter; memory = src/vectors (ONNX MatMul, exact); neo4j = db.index.vector.queryNodes (HNSW) through searchEntityImages with fetch 3k',
      load: loadavg(),
    };
    log(`k-NN: ${JSON.stringify(results.knn)}`);

    // searchKeys: a mention (text + BM25 + rules) and an image (dense image only), both modes.
    const services = {
      memory: new CandidateService(graph, memCfg.limits, encoders, vectors),
      neo4j: new CandidateService(graph, memCfg.limits, encoders, null),
    };
    const gold = await readGoldQueries(path.join(PROJECT_ROOT, 'var/benchmark/queries.jsonl'));
    const test = gold.filter((q) => q.split === 'test' && q.regions.length <= 5);
    const mentions = evenlySpread(
      test.flatMap((q) => q.mentions.map((m) => m.text)),
      50,
    );
    const textVectors = await Promise.all(mentions.map((m) => encoders.text!.encodeQuery(m)));
    const searchKeys: Record<string, unknown> = {};
    for (const [mode, service] of Object.entries(services)) {
      for (const kind of ['mention', 'image'] as const) {
        const times: number[] = [];
        const count = kind === 'mention' ? mentions.length : Math.min(50, queries.length);
        for (let pass = 0; pass < 2; pass += 1) {
          for (let i = 0; i < count; i += 1) {
            const t = performance.now();
            await service.searchKeys({
              mention: kind === 'mention' ? mentions[i]! : '',
              textVector: kind === 'mention' ? textVectors[i]! : null,
              imageVector: kind === 'image' ? queries[i]! : null,
              limit: 1000,
              domain: null,
            });
            if (pass === 1) times.push(performance.now() - t); // pass 0 warms up
          }
        }
        searchKeys[`${mode}.${kind}`] = { ...dist(times), load: loadavg() };
        log(`searchKeys ${mode} ${kind}: ${JSON.stringify(searchKeys[`${mode}.${kind}`])}`);
      }
    }
    results.searchKeys = {
      ...searchKeys,
      note: '1,000 candidates; mention = benchmark test mention text (its query vector precomputed: BM25 + rules + dense text); image = a k-NN query vector above (dense image only)',
    };

    // linkImage V&T-KG on benchmark test queries (latency only).
    const linkSample = evenlySpread(test, Number(values['link-sample']));
    const memLink = await linkLatency(app, linkSample);
    log(`linkImage memory: ${JSON.stringify(memLink)}`);
    global.gc?.();
    const rssAfterWork = process.memoryUsage().rss;
    await app.close();
    const neoCfg = config('neo4j');
    app = await createApp(neoCfg, createLogger(neoCfg.logLevel));
    const neoLink = await linkLatency(app, linkSample);
    log(`linkImage neo4j: ${JSON.stringify(neoLink)}`);
    results.linkImage = {
      mode: 'V&T-KG, 1,000 candidates, HTTP',
      queries: linkSample.length,
      memory: memLink,
      neo4j: neoLink,
      note: 'latency only; 5 untimed warm-up requests per mode; one timed pass',
      load: loadavg(),
    };
    results.rssAfterMeasurementsMemoryModeBytes = rssAfterWork;

    // Re-encode: a subset made stale (fingerprints changed), re-encoded by EncodingService, scaled.
    if (Number(values['reencode-subset']) > 0) {
      // Re-encode: a subset made stale (fingerprints changed), re-encoded by EncodingService, scaled.
      const subset = Number(values['reencode-subset']);
      await app.backend.graph.write('stale', (tx) =>
        tx.query(
          `MATCH (e:Entity) WITH e ORDER BY e.id SKIP 7 LIMIT toInteger($n)
           SET e.textEncoder = 'scale-bench-stale', e.candidateModel = 'scale-bench-stale'
           WITH e MATCH (e)-[:HAS_IMAGE]->(i:Image) SET i.imageEncoder = 'scale-bench-stale'
           RETURN count(*) AS n`,
          { n: subset },
        ),
      );
      const status = await app.services.encoding.status();
      const started = performance.now();
      const job = await app.services.encoding.run(32);
      const reMs = performance.now() - started;
      const perEntity = reMs / Math.max(1, job.encodedEntities);
      results.reencode = {
        subsetEntities: job.encodedEntities,
        subsetImages: job.encodedImages,
        subsetCandidateVectors: job.encodedCandidateVectors,
        staleBefore: status,
        seconds: round(reMs / 1000),
        entitiesPerSecond: round((job.encodedEntities * 1000) / reMs),
        extrapolatedWholeGraphMinutes: round((perEntity * entities) / 60000),
        note: `measured on ${job.encodedEntities} entities (text vector, image vectors, candidate vectors made stale by changing their fingerprints), extrapolated linearly to the ${entities} entities`,
        load: loadavg(),
      };
      log(`re-encode: ${JSON.stringify(results.reencode)}`);
    }
  } finally {
    await app.close();
  }
  results.store = storeSize();
  log(`store: ${JSON.stringify(results.store)}`);
  runNeo4jScript('stop.sh', instance);
  const report = {
    date: new Date().toISOString(),
    n: N,
    instance: instance.NEO4J_INSTANCE,
    machine: benchMachine(),
    import: importReport,
    growth,
    ...results,
  };
  await writeFile(path.join(values.out, `scale-${N}.json`), `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote bench/results/scale-${N}.json`);
}

// --- phase: grow (N entities by direct writes on top of the registered graph) -------------------

/**
 * Copies of the graph's real entities written by Cypher, not registered: each copies a real
 * entity's properties (names with a `synthetic variant` suffix, tag and field `synthetic: true`)
 * and its first image node's, with the text and image vectors perturbed by uniform noise
 * (standard deviation --sigma per dimension, Neo4j's rand(): not deterministic) and renormalised.
 * No picture bytes: the copies' images cannot be re-encoded or served. For the figures that need
 * N entities in the graph (k-NN in both modes, start-up, RSS, store size), not for throughput.
 */
async function growPhase(): Promise<void> {
  runNeo4jScript('start.sh', instance);
  const graph = await createGraph({
    uri: `bolt://127.0.0.1:${instance.NEO4J_BOLT_PORT}`,
    user: 'neo4j',
    password: '',
    database: 'neo4j',
    timeoutMs: 600_000,
  });
  const sigma = 0.02 * Math.sqrt(12);
  try {
    const sources = await graph.read('sources', (tx) =>
      tx.query<{ id: string }>(
        `MATCH (e:Entity) WHERE NOT e.id STARTS WITH 'synthetic'
           AND EXISTS { (e)-[:HAS_IMAGE {position: 0}]->(:Image) }
         RETURN e.id AS id ORDER BY id`,
      ),
    );
    const [{ count } = { count: 0 }] = await graph.read('count', (tx) =>
      tx.query<{ count: number }>('MATCH (e:Entity) RETURN count(e) AS count'),
    );
    log(`growing from ${count} to ${N} entities, copies of ${sources.length} real ones`);
    const started = performance.now();
    const batchSize = 500;
    for (let n = count; n < N; n += batchSize) {
      const batch = Array.from({ length: Math.min(batchSize, N - n) }, (_, j) => {
        const m = n + j;
        return {
          src: sources[m % sources.length]!.id,
          id: `synthetic-copy:${m}`,
          v: Math.floor(m / sources.length) + 100,
          sha: `synthetic-${m}`,
        };
      });
      await graph.write('grow', (tx) =>
        tx.query(
          `UNWIND $batch AS b
           MATCH (s:Entity {id: b.src})-[:HAS_IMAGE {position: 0}]->(si:Image)
           WITH b, s, si,
                [x IN coalesce(s.textEmbedding, []) | x + $sigma * (rand() - 0.5)] AS t,
                [x IN si.embedding | x + $sigma * (rand() - 0.5)] AS v,
                [x IN coalesce(si.robustEmbedding, []) | x + $sigma * (rand() - 0.5)] AS rv
           WITH b, s, si, t, v, rv, sqrt(reduce(a = 0.0, x IN t | a + x * x)) AS tn,
                sqrt(reduce(a = 0.0, x IN v | a + x * x)) AS vn,
                sqrt(reduce(a = 0.0, x IN rv | a + x * x)) AS rn
           CREATE (e:Entity)
           SET e = s {.*, id: b.id, name: s.name + ' (synthetic variant ' + toString(b.v) + ')',
               synthetic: true, tags: coalesce(s.tags, []) + 'synthetic', contentHash: b.id,
               description: coalesce(s.description, '') + ' [Synthetic copy of ' + s.id + ']',
               textEmbedding: CASE WHEN s.textEmbedding IS NULL THEN null ELSE [x IN t | x / tn] END}
           CREATE (i:Image)
           SET i = si {.*, sha256: b.sha, url: '', embedding: [x IN v | x / vn],
               robustEmbedding: CASE WHEN si.robustEmbedding IS NULL THEN null
                                     ELSE [x IN rv | x / rn] END}
           CREATE (e)-[:HAS_IMAGE {position: 0}]->(i)`,
          { batch, sigma },
        ),
      );
      const done = n + batch.length;
      if ((done - count) % 5000 < batchSize || done === N) {
        const ms = performance.now() - started;
        log(`wrote ${done}/${N}: ${round(((done - count) * 1000) / ms)} entities/s`);
      }
    }
    const writeMs = performance.now() - started;
    // The vector indexes are updated on commit; wait until they are online.
    await graph.write('await', (tx) => tx.query('CALL db.awaitIndexes(3600)'));
    const report = {
      date: new Date().toISOString(),
      n: N,
      from: count,
      written: N - count,
      seconds: round(writeMs / 1000),
      entitiesPerSecond: round(((N - count) * 1000) / writeMs),
      note: `direct Cypher writes of copies of ${sources.length} real entities (text, image and robust image vectors perturbed, uniform noise sd 0.02 per dimension, renormalised; no picture bytes), not registration through the service`,
      loadAverageAtEnd: loadavg(),
    };
    await writeFile(
      path.join(values.out, `scale-${N}-grow.json`),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    log(`grow done: ${JSON.stringify(report)}`);
  } finally {
    await graph.close();
  }
}

// --- phase: knn-only (N vectors grown from the graph's stored ones) ------------------------------

async function knnOnlyPhase(): Promise<void> {
  runNeo4jScript('start.sh', instance);
  const graph = await createGraph({
    uri: `bolt://127.0.0.1:${instance.NEO4J_BOLT_PORT}`,
    user: 'neo4j',
    password: '',
    database: 'neo4j',
    timeoutMs: 60_000,
  });
  const [fp] = await graph.read('fp', (tx) =>
    tx.query<{ text: string | null; image: string | null }>(
      `MATCH (e:Entity)-[:HAS_IMAGE]->(i:Image) WHERE i.embedding IS NOT NULL
       RETURN e.textEncoder AS text, i.imageEncoder AS image, count(*) AS n ORDER BY n DESC LIMIT 1`,
    ),
  );
  const rows: EntityVectorRow[] = [];
  let afterId: string | null = null;
  for (;;) {
    const q = { text: fp!.text, image: fp!.image, afterId, limit: 1000 };
    const page: EntityVectorRow[] = await graph.read('page', (tx) => loadEntityVectorsPage(tx, q));
    rows.push(...page);
    if (page.length < q.limit) break;
    afterId = page[page.length - 1]!.id;
  }
  await graph.close();
  const realEntities = rows.length;
  const textD = rows.find((r) => r.text)?.text?.length ?? 0;
  const imageD = rows.flatMap((r) => r.images).find((i) => i.vector)!.vector!.length;
  const robustD = rows.flatMap((r) => r.images).find((i) => i.robust)?.robust?.length;
  log(`graph rows: ${rows.length}, d text ${textD} image ${imageD} robust ${robustD ?? 0}`);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const scorer = await onnxMatMulScorer(createLogger('silent'));
  // As the service has it (src/backend.ts), but mutable: minRows = Infinity turns the two-stage
  // search off for the one-stage timings.
  const twoStage = { minRows: 0, kinds: ['image' as const] };
  const index = new DenseVectorIndex(
    {
      ...(textD ? { text: textD } : {}),
      image: imageD,
      ...(robustD ? { imageRobust: robustD } : {}),
    },
    {
      scorer,
      ...(quantised ? { quantisedScan: twoStage } : {}),
    },
  );
  const g = gaussian(7);
  const started = performance.now();
  for (let n = 0; n < N; n += 1) {
    const base = rows[n % rows.length]!;
    const real = n < rows.length;
    index.upsert({
      key: {
        id: real ? base.id : `synthetic-vec:${n}`,
        name: base.name,
        aliases: base.aliases,
        contentHash: '',
      },
      domain: base.domain,
      text: real || !base.text ? base.text : perturb(base.text, 0.02, g),
      images: base.images.map((i, j) => ({
        sha256: real ? i.sha256 : `${n}-${j}`,
        vector: real || !i.vector ? i.vector : perturb(i.vector, sigma, g),
        robust: real || !i.robust ? i.robust : perturb(i.robust, sigma, g),
      })),
    });
  }
  const buildMs = performance.now() - started;
  const queries = evenlySpread(
    rows.filter((r) => r.images[0]?.vector),
    Number(values.queries),
  ).map((r) => perturb(r.images[0]!.vector!, 0.02, g));
  rows.length = 0;
  global.gc?.();
  const rssAfter = process.memoryUsage().rss;
  const k = Number(values.k);
  const times: Record<'oneStage' | 'twoStage', number[]> = { oneStage: [], twoStage: [] };
  let identical = 0;
  const search = async (mode: 'oneStage' | 'twoStage', q: Float32Array) => {
    twoStage.minRows = mode === 'twoStage' ? 0 : Infinity;
    const t = performance.now();
    const hits = await index.search('image', { vector: q, limit: k, domain: null });
    return { hits, ms: performance.now() - t };
  };
  const modes = quantised ? (['oneStage', 'twoStage'] as const) : (['oneStage'] as const);
  for (const q of queries.slice(0, 10)) for (const mode of modes) await search(mode, q);
  const warm = index.stats().twoStage;
  // Interleaved, so that both see the same load of the shared machine.
  for (const q of queries) {
    const results = [];
    for (const mode of modes) {
      const { hits, ms } = await search(mode, q);
      times[mode].push(ms);
      results.push(JSON.stringify(hits));
    }
    if (results.length === 2 && results[0] === results[1]) identical += 1;
  }
  const stats = index.stats();
  const rescoredRows = stats.twoStage.rescoredRows - warm.rescoredRows;
  const report = {
    date: new Date().toISOString(),
    n: N,
    machine: benchMachine(),
    what: `in-process k-NN only: the index of src/vectors (ONNX MatMul scorer) filled with ${N} entities: the ${realEntities} of instance ${instance.NEO4J_INSTANCE}, then copies of them with Gaussian noise (sigma ${sigma} a dimension on image and robust vectors, 0.02 on text; synthetic, latency and memory only). Nothing registered through the service, no Neo4j at this size.`,
    options: { quantised, sigma },
    stats,
    buildMs: round(buildMs),
    rssBytes: { beforeIndex: rssBefore, afterIndex: rssAfter, delta: rssAfter - rssBefore },
    knnImage: {
      k,
      oneStage: { ...dist(times.oneStage), load: loadavg() },
      ...(quantised
        ? {
            twoStage: {
              ...dist(times.twoStage),
              rescoredRowsPerQuery: round(rescoredRows / queries.length),
              identicalToOneStage: `${identical}/${queries.length}`,
            },
          }
        : {}),
    },
  };
  await scorer.close();
  log(JSON.stringify(report));
  const name = `scale-${N}-knn${quantised ? '-two-stage' : ''}${sigma !== 0.05 ? `-sigma${sigma}` : ''}`;
  await writeFile(path.join(values.out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
}

// --- phase: reencode-all (every stale vector of the graph, e.g. after a new bundle) -------------

async function reencodeAllPhase(): Promise<void> {
  runNeo4jScript('start.sh', instance);
  const cfg = config('neo4j');
  const app = await createApp(cfg, createLogger(cfg.logLevel));
  try {
    const before = await app.services.encoding.status();
    log(`stale before: ${JSON.stringify(before)}`);
    const started = performance.now();
    let last = 0;
    const job = await app.services.encoding.run(32, (progress) => {
      const done =
        progress.encodedEntities + progress.encodedImages + progress.encodedCandidateVectors;
      if (done - last >= 1000) {
        last = done;
        log(`re-encoded ${done}/${progress.total}`);
      }
    });
    const ms = performance.now() - started;
    const report = {
      date: new Date().toISOString(),
      n: N,
      bundle: app.backend.models?.manifest.id ?? null,
      staleBefore: before,
      encodedEntities: job.encodedEntities,
      encodedImages: job.encodedImages,
      encodedCandidateVectors: job.encodedCandidateVectors,
      seconds: round(ms / 1000),
      imagesPerSecond: round((job.encodedImages * 1000) / ms),
      note: 'the whole graph, every stale vector, EncodingService.run(32) in process',
      loadAverageAtEnd: loadavg(),
    };
    await writeFile(
      path.join(values.out, `scale-${N}-reencode-all.json`),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    log(`re-encode all: ${JSON.stringify(report)}`);
  } finally {
    await app.close();
  }
}

// --- phase: report (bench/results/scale.md from the JSON of every N measured) ------------------

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-base-to-string -- reads back this script's own JSON, loosely typed */
async function reportPhase(): Promise<void> {
  const sizes = [10_000, 100_000];
  type R = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const runs: [number, R][] = [];
  for (const size of sizes) {
    const file = path.join(values.out, `scale-${size}.json`);
    if (!existsSync(file)) continue;
    const run = JSON.parse(await readFile(file, 'utf8')) as R;
    // The in-process k-NN alone (--phase knn-only), measured apart from the service.
    const knnOnly = path.join(values.out, `scale-${size}-knn-two-stage.json`);
    if (existsSync(knnOnly)) run.knnOnly = JSON.parse(await readFile(knnOnly, 'utf8')) as R;
    runs.push([size, run]);
  }
  const mib = (b: unknown) =>
    typeof b === 'number' ? `${round(b / 2 ** 20)} MiB` : 'not measured';
  const ms = (d: R | undefined) => (d ? `${d.p50Ms} / ${d.p99Ms}` : 'not measured');
  const row = (label: string, f: (r: R) => unknown) =>
    `| ${label} | ${runs.map(([, r]) => String(f(r) ?? 'not measured')).join(' | ')} |`;
  const startup = (r: R, mode: string) =>
    (r.startup as R[] | undefined)?.find((s) => s.mode === mode);
  const lines = [
    `# Scale benchmark (issue 13)`,
    '',
    `Measured by \`bench/scale.ts\` (see its header) on ${runs[0]?.[1].machine.cpuModel} (${runs[0]?.[1].machine.cores} cores, shared with other jobs), ${runs.map(([n, r]) => `${n}: ${r.date} load ${r.machine.loadAverageAtEnd.join(' ')}`).join('; ')}. Times in ms as p50 / p99. Every line of the JSON carries the load average when it was taken.`,
    '',
    `| figure | ${runs.map(([n]) => `${n.toLocaleString('en')} entities`).join(' | ')} |`,
    `| --- | ${runs.map(() => '--:').join(' | ')} |`,
    row('entities in the graph (synthetic)', (r) => `${r.graph?.entities} (${r.graph?.synthetic})`),
    row('how the graph was filled', (r) =>
      r.growth
        ? `registered ${r.growth.from} through the service, ${r.growth.written} written by Cypher`
        : 'all registered through the service',
    ),
    row('registration with images, entities/s', (r) => r.import?.registration?.entitiesPerSecond),
    row('k-NN image, in process (k=1000)', (r) => ms(r.knn?.memory)),
    row('k-NN image, in process alone, one-stage / two-stage (k=1000, p50)', (r) =>
      r.knnOnly
        ? `${r.knnOnly.knnImage.oneStage.p50Ms} / ${r.knnOnly.knnImage.twoStage.p50Ms} (${r.knnOnly.date.slice(0, 10)}, load ${r.knnOnly.knnImage.oneStage.load[0]})`
        : undefined,
    ),
    row('k-NN image, Neo4j vector index (k=1000)', (r) => ms(r.knn?.neo4jIndex)),
    row('ratio Neo4j / in process (p50)', (r) => r.knn?.ratioNeo4jOverMemoryP50),
    row('recall@100 of Neo4j HNSW vs exact, %', (r) => r.knn?.recallAt100Neo4jVsExact),
    row('searchKeys mention, memory', (r) => ms(r.searchKeys?.['memory.mention'])),
    row('searchKeys mention, neo4j', (r) => ms(r.searchKeys?.['neo4j.mention'])),
    row('searchKeys image, memory', (r) => ms(r.searchKeys?.['memory.image'])),
    row('searchKeys image, neo4j', (r) => ms(r.searchKeys?.['neo4j.image'])),
    row('linkImage V&T-KG HTTP, memory', (r) => ms(r.linkImage?.memory)),
    row('linkImage V&T-KG HTTP, neo4j', (r) => ms(r.linkImage?.neo4j)),
    row('start-up (createApp), neo4j mode, ms', (r) => startup(r, 'neo4j')?.startupMs),
    row('start-up (createApp), memory mode, ms', (r) => startup(r, 'memory')?.startupMs),
    row('service RSS after start-up, neo4j mode', (r) => mib(startup(r, 'neo4j')?.rssBytes)),
    row('service RSS after start-up, memory mode', (r) => mib(startup(r, 'memory')?.rssBytes)),
    row('service RSS 20 s after start-up, neo4j mode', (r) =>
      mib(startup(r, 'neo4j')?.rssSettledBytes),
    ),
    row('service RSS 20 s after start-up, memory mode', (r) =>
      mib(startup(r, 'memory')?.rssSettledBytes),
    ),
    row('Neo4j store (du of the data dir)', (r) => mib(r.store?.dataDirBytes)),
    row('re-encode, measured subset', (r) =>
      r.reencode ? `${r.reencode.subsetEntities} entities in ${r.reencode.seconds} s` : undefined,
    ),
    row(
      're-encode whole graph, extrapolated min',
      (r) => r.reencode?.extrapolatedWholeGraphMinutes,
    ),
    '',
  ];
  await writeFile(path.join(values.out, 'scale.md'), lines.join('\n'));
  log('wrote bench/results/scale.md');
}
/* eslint-enable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-base-to-string */

if (values['startup-child']) {
  await startupChild(values['startup-child'] as 'memory' | 'neo4j');
  process.exit(0);
}
if (values.phase === 'import') await importPhase();
else if (values.phase === 'measure') await measurePhase();
else if (values.phase === 'grow') await growPhase();
else if (values.phase === 'report') await reportPhase();
else if (values.phase === 'reencode-all') await reencodeAllPhase();
else if (values.phase === 'knn-only') await knnOnlyPhase();
else throw new Error(`unknown --phase ${values.phase}`);
