/**
 * In-process dense retrieval (issue 13): exact search by plain JS dot products (src/vectors/)
 * against two maintained libraries, for latency and recall@100 against exact.
 *
 * Vectors: the image vectors (`Image.embedding`, made by the current encoder) of the graph named
 * by --instance (the benchmark KB: `bench/link-image-latency.ts --instance ... --import-only
 * --keep-db`). Queries: stored vectors of entities picked evenly, plus Gaussian noise (sigma
 * --noise per dimension), renormalised: near-duplicate look-ups like a region of an entity's
 * picture. --scale N adds synthetic rows (stored vectors plus noise) up to N rows: latency only,
 * never a quality figure. Libraries are not dependencies of the service; --libs names a
 * node_modules holding `usearch@2.26.2` and `hnswlib-node@3.0.0`
 * (`npm install --prefix /tmp/vecpkgs usearch@2.26.2 hnswlib-node@3.0.0`).
 *
 *   npx tsx bench/vector-search.ts --instance wtvec-eval:7698 --libs /tmp/vecpkgs/node_modules
 *
 * Writes bench/results/vector-search.{json,md}. A benchmark: figures depend on the machine's load.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createGraph } from '../src/neo4j/driver.js';
import { loadEntityVectorsPage, type EntityVectorRow } from '../src/neo4j/vector-changes.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { DenseVectorIndex } from '../src/vectors/dense-index.js';
import { onnxMatMulScorer } from '../src/vectors/row-scorer.js';
import { createLogger } from '../src/logger.js';
import { benchMachine, gaussian, percentile, round } from './report.js';

const { values } = parseArgs({
  options: {
    instance: { type: 'string', default: 'wtvec-eval:7698' },
    libs: { type: 'string' },
    queries: { type: 'string', default: '200' },
    k: { type: 'string', default: '1000' },
    noise: { type: 'string', default: '0.02' },
    scale: { type: 'string', default: '100000' },
    page: { type: 'string', default: '500' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
const queryCount = Number(values.queries);
const k = Number(values.k);
const noise = Number(values.noise);
const [, boltPort] = values.instance.split(':');

function log(message: string): void {
  process.stderr.write(`[vector-search ${new Date().toISOString()}] ${message}\n`);
}

function perturb(vector: Float32Array, sigma: number, gauss: () => number): Float32Array {
  const out = new Float32Array(vector.length);
  let norm = 0;
  for (let i = 0; i < vector.length; i += 1) {
    out[i] = vector[i]! + sigma * gauss();
    norm += out[i]! * out[i]!;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < out.length; i += 1) out[i] = out[i]! / norm;
  return out;
}

// --- load the graph's vectors in pages, as VectorSync does --------------------------------------
const graph = await createGraph({
  uri: `bolt://127.0.0.1:${boltPort}`,
  user: 'neo4j',
  password: '',
  database: 'neo4j',
  timeoutMs: 30_000,
});
const [fp] = await graph.read('fp', (tx) =>
  tx.query<{ text: string | null; image: string | null; d: number }>(
    `MATCH (e:Entity)-[:HAS_IMAGE]->(i:Image) WHERE i.embedding IS NOT NULL
     RETURN e.textEncoder AS text, i.imageEncoder AS image, size(i.embedding) AS d, count(*) AS n
     ORDER BY n DESC LIMIT 1`,
  ),
);
if (!fp?.image) throw new Error('no image vectors in the graph');
const heapBefore = process.memoryUsage();
const loadStarted = performance.now();
const rows: EntityVectorRow[] = [];
let afterId: string | null = null;
let pages = 0;
for (;;) {
  const query = { text: fp.text, image: fp.image, afterId, limit: Number(values.page) };
  const page: EntityVectorRow[] = await graph.read('page', (tx) =>
    loadEntityVectorsPage(tx, query),
  );
  rows.push(...page);
  pages += 1;
  if (page.length < query.limit) break;
  afterId = page[page.length - 1]!.id;
}
const readMs = performance.now() - loadStarted;
const textDimension = rows.find((row) => row.text)?.text?.length ?? 0;
const robustDimension = rows.flatMap((row) => row.images).find((i) => i.robust)?.robust?.length;
const index = new DenseVectorIndex({
  ...(textDimension ? { text: textDimension } : {}),
  image: fp.d,
  ...(robustDimension ? { imageRobust: robustDimension } : {}),
});
for (const row of rows) {
  index.upsert({
    key: { id: row.id, name: row.name, aliases: row.aliases, contentHash: row.contentHash },
    domain: row.domain,
    text: row.text,
    images: row.images,
  });
}
const loadMs = performance.now() - loadStarted;
await graph.close();
rows.length = 0;
global.gc?.();
const heapAfter = process.memoryUsage();
const stats = index.stats();
log(
  `loaded ${stats.entities} entities in ${pages} pages, ${round(loadMs)} ms: ${JSON.stringify(stats.rows)}`,
);

// The image rows as one matrix (row order: by entity, then image), for the libraries.
const d = fp.d;
const imageRows: { entity: string; vector: Float32Array }[] = [];
{
  const graph2 = await createGraph({
    uri: `bolt://127.0.0.1:${boltPort}`,
    user: 'neo4j',
    password: '',
    database: 'neo4j',
    timeoutMs: 30_000,
  });
  const all = await graph2.read('all', (tx) =>
    tx.query<{ id: string; v: number[] }>(
      `MATCH (e:Entity)-[:HAS_IMAGE]->(i:Image) WHERE i.imageEncoder = $fp AND i.embedding IS NOT NULL
       RETURN e.id AS id, i.embedding AS v ORDER BY e.id, i.sha256`,
      { fp: fp.image },
    ),
  );
  await graph2.close();
  for (const row of all) imageRows.push({ entity: row.id, vector: Float32Array.from(row.v) });
}
const gauss = gaussian(13);
const queries = Array.from({ length: queryCount }, (_, q) =>
  perturb(imageRows[Math.floor((q * imageRows.length) / queryCount)]!.vector, noise, gauss),
);

interface Method {
  readonly name: string;
  readonly rows: number;
  readonly buildMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly recallAt100: number | null;
  readonly note: string;
}

async function timeQueries(run: (query: Float32Array) => number[] | Promise<number[]>): Promise<{
  p50: number;
  p99: number;
  results: number[][];
}> {
  for (const query of queries.slice(0, 10)) await run(query); // warm-up (JIT, caches)
  const times: number[] = [];
  const results: number[][] = [];
  for (const query of queries) {
    const started = performance.now();
    results.push(await run(query));
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 0.5)), p99: round(percentile(times, 0.99)), results };
}

/** Exact row-level top-k by dot product over a matrix (the reference for recall). */
function exactRows(matrix: Float32Array, n: number, query: Float32Array, count: number): number[] {
  const scores = new Float64Array(n);
  for (let r = 0; r < n; r += 1) {
    let s = 0;
    const o = r * d;
    for (let i = 0; i < d; i += 1) s += matrix[o + i]! * query[i]!;
    scores[r] = s;
  }
  const order = Array.from({ length: n }, (_, r) => r);
  order.sort((a, b) => scores[b]! - scores[a]!);
  return order.slice(0, count);
}

function recall(results: number[][], truth: number[][]): number {
  let hit = 0;
  let total = 0;
  results.forEach((found, q) => {
    const set = new Set(found.slice(0, 100));
    for (const r of truth[q]!.slice(0, 100)) if (set.has(r)) hit += 1;
    total += Math.min(100, truth[q]!.length);
  });
  return round((100 * hit) / total);
}

const require = values.libs ? createRequire(path.join(path.resolve(values.libs), 'x.js')) : null;
interface UsearchModule {
  Index: new (config: Record<string, unknown>) => {
    add(keys: BigUint64Array, vectors: Float32Array): void;
    search(vector: Float32Array, k: number, threads: number): { keys: BigUint64Array };
  };
  exactSearch(
    dataset: Float32Array,
    queries: Float32Array,
    dimensions: number,
    count: number,
    metric: string,
    threads: number,
  ): { keys: BigUint64Array };
  MetricKind: { IP: string };
}
interface HnswModule {
  HierarchicalNSW: new (
    space: string,
    dimensions: number,
  ) => {
    initIndex(max: number, m: number, efConstruction: number, seed: number): void;
    addPoint(point: number[], label: number): void;
    setEf(ef: number): void;
    searchKnn(query: number[], k: number): { neighbors: number[] };
  };
}
const usearch = require ? (require('usearch') as UsearchModule) : null;
const hnswlib = require ? (require('hnswlib-node') as HnswModule) : null;

async function measure(n: number, label: string): Promise<Method[]> {
  const matrix = new Float32Array(n * d);
  const owners: number[] = [];
  const entityIndex = new Map<string, number>();
  const g = gaussian(7);
  for (let r = 0; r < n; r += 1) {
    const base = imageRows[r % imageRows.length]!;
    // Rows past the real ones: synthetic (a real vector plus noise), each its own entity.
    const vector = r < imageRows.length ? base.vector : perturb(base.vector, 0.05, g);
    matrix.set(vector, r * d);
    const entity = r < imageRows.length ? base.entity : `synthetic-${r}`;
    if (!entityIndex.has(entity)) entityIndex.set(entity, entityIndex.size);
    owners.push(entityIndex.get(entity)!);
  }
  const methods: Method[] = [];
  const truth = queries.map((q) => exactRows(matrix, n, q, 100));
  log(`${label}: ${n} rows, exact reference done`);

  // 1. The service's index: plain JS, exact, best image per entity, k entities.
  {
    const dense = new DenseVectorIndex({ image: d });
    const started = performance.now();
    const byEntity = new Map<number, { sha256: string; vector: Float32Array; robust: null }[]>();
    for (let r = 0; r < n; r += 1) {
      const list = byEntity.get(owners[r]!) ?? [];
      list.push({ sha256: `r${r}`, vector: matrix.subarray(r * d, (r + 1) * d), robust: null });
      byEntity.set(owners[r]!, list);
    }
    for (const [entity, images] of byEntity) {
      dense.upsert({
        key: { id: `e${entity}`, name: '', aliases: [], contentHash: '' },
        domain: 'x',
        text: null,
        images,
      });
    }
    const buildMs = round(performance.now() - started);
    const { p50, p99, results } = await timeQueries(async (q) =>
      (await dense.search('image', { vector: q, limit: k, domain: null })).map((hit) =>
        Number(hit.imageSha256!.slice(1)),
      ),
    );
    methods.push({
      name: 'js-exact (src/vectors, best image per entity)',
      rows: n,
      buildMs,
      p50Ms: p50,
      p99Ms: p99,
      // Row-level recall of an entity-level list: an entity's other images are not listed.
      recallAt100: null,
      note: `k=${k} entities; exact by construction (unit-tested against a brute-force sort)`,
    });
    void results;
  }
  // 2. The same index with ONNX Runtime's MatMul scoring the rows (what the service runs).
  {
    const scorer = await onnxMatMulScorer(createLogger('silent'));
    const dense = new DenseVectorIndex({ image: d }, { scorer });
    for (let r = 0; r < n; r += 1) {
      dense.upsert({
        key: { id: `r${r}`, name: '', aliases: [], contentHash: '' },
        domain: 'x',
        text: null,
        images: [{ sha256: `r${r}`, vector: matrix.subarray(r * d, (r + 1) * d), robust: null }],
      });
    }
    const timed = await timeQueries(async (q) =>
      (await dense.search('image', { vector: q, limit: k, domain: null })).map((hit) =>
        Number(hit.imageSha256!.slice(1)),
      ),
    );
    methods.push({
      name: 'onnxruntime MatMul (src/vectors, one row per entity here)',
      rows: n,
      buildMs: 0,
      p50Ms: timed.p50,
      p99Ms: timed.p99,
      recallAt100: recall(timed.results, truth),
      note: `k=${k}, 1 intra-op thread; exact (float32 sums)`,
    });
    await scorer.close();
  }
  if (usearch) {
    const { p50, p99, results } = await timeQueries((q) =>
      Array.from(usearch.exactSearch(matrix, q, d, k, usearch.MetricKind.IP, 1).keys, Number),
    );
    methods.push({
      name: 'usearch exactSearch (SIMD brute force)',
      rows: n,
      buildMs: 0, // nothing to build: every query scans the matrix
      p50Ms: p50,
      p99Ms: p99,
      recallAt100: recall(results, truth),
      note: `k=${k} rows, 1 thread; no per-entity grouping or domain filter`,
    });
    for (const expansion of [k, 2 * k]) {
      const index = new usearch.Index({
        dimensions: d,
        metric: usearch.MetricKind.IP,
        connectivity: 16,
        expansion_add: 128,
        expansion_search: expansion,
      });
      const builtAt = performance.now();
      index.add(
        BigUint64Array.from({ length: n }, (_, r) => BigInt(r)),
        matrix,
      );
      const buildMs = round(performance.now() - builtAt);
      const timed = await timeQueries((q) => Array.from(index.search(q, k, 1).keys, Number));
      methods.push({
        name: `usearch HNSW (M=16, ef=${expansion})`,
        rows: n,
        buildMs,
        p50Ms: timed.p50,
        p99Ms: timed.p99,
        recallAt100: recall(timed.results, truth),
        note: `k=${k} rows, 1 thread`,
      });
    }
  }
  if (hnswlib) {
    const index = new hnswlib.HierarchicalNSW('ip', d);
    const builtAt = performance.now();
    index.initIndex(n, 16, 200, 100);
    for (let r = 0; r < n; r += 1)
      index.addPoint(Array.from(matrix.subarray(r * d, (r + 1) * d)), r);
    const buildMs = round(performance.now() - builtAt);
    index.setEf(k);
    const timed = await timeQueries((q) => index.searchKnn(Array.from(q), k).neighbors);
    methods.push({
      name: `hnswlib-node HNSW (M=16, efC=200, ef=${k})`,
      rows: n,
      buildMs,
      p50Ms: timed.p50,
      p99Ms: timed.p99,
      recallAt100: recall(timed.results, truth),
      note: `k=${k} rows`,
    });
  }
  for (const m of methods) log(`${label}: ${JSON.stringify(m)}`);
  return methods;
}

const real = await measure(imageRows.length, 'real');
const scaled =
  Number(values.scale) > imageRows.length ? await measure(Number(values.scale), 'scaled') : [];
const report = {
  date: new Date().toISOString(),
  machine: benchMachine(),
  graph: { entities: stats.entities, rows: stats.rows },
  load: {
    pages,
    pageSize: Number(values.page),
    readMs: round(readMs),
    totalMs: round(loadMs),
    matrixBytes: stats.matrixBytes,
    heapDeltaBytes: heapAfter.heapUsed - heapBefore.heapUsed,
    rssDeltaBytes: heapAfter.rss - heapBefore.rss,
  },
  queries: { count: queryCount, k, noise, source: 'stored image vectors + Gaussian noise' },
  real,
  scaled: {
    rows: Number(values.scale),
    synthetic: 'real vectors + noise; latency only',
    methods: scaled,
  },
};
await mkdir(values.out, { recursive: true });
await writeFile(
  path.join(values.out, 'vector-search.json'),
  `${JSON.stringify(report, null, 2)}\n`,
);
const table = (methods: Method[]) => [
  '| method | rows | build ms | p50 ms | p99 ms | recall@100 vs exact | note |',
  '| --- | --: | --: | --: | --: | --: | --- |',
  ...methods.map(
    (m) =>
      `| ${m.name} | ${m.rows} | ${m.buildMs} | ${m.p50Ms} | ${m.p99Ms} | ${m.recallAt100 ?? 'exact'} | ${m.note} |`,
  ),
];
await writeFile(
  path.join(values.out, 'vector-search.md'),
  [
    `Measured ${report.date.slice(0, 10)} on ${report.machine.cpuModel} (${report.machine.cores} cores, shared with other jobs), Node ${report.machine.node}, load average at the end ${report.machine.loadAverageAtEnd.join(' ')}. ${queryCount} queries (stored image vectors plus Gaussian noise sigma ${noise} per dimension, renormalised), k = ${k}, one query at a time.`,
    '',
    `Load of the benchmark KB (${stats.entities} entities) in ${pages} pages of ${values.page}: ${round(loadMs)} ms (${round(readMs)} ms reading from Neo4j); matrices ${(stats.matrixBytes / 2 ** 20).toFixed(1)} MiB; heap +${((heapAfter.heapUsed - heapBefore.heapUsed) / 2 ** 20).toFixed(1)} MiB.`,
    '',
    `Real image vectors (${imageRows.length} rows, ${d} dimensions):`,
    '',
    ...table(real),
    '',
    ...(scaled.length
      ? [
          `Scaled to ${values.scale} rows (rows past the real ones are synthetic: latency only):`,
          '',
          ...table(scaled),
          '',
        ]
      : []),
  ].join('\n'),
);
log('wrote bench/results/vector-search.{json,md}');
