/**
 * Candidate lists with the dense k-NN in process (POLYLINK_VECTOR_SEARCH=memory, exact) against
 * Neo4j's vector indexes (neo4j: HNSW over int8-quantized vectors), on one split of the benchmark:
 * for every gold mention (its text) and every gold region (the image and its box) the merged list
 * `linkImage` would start from (`searchKeys`, the same query vectors for both), at --candidates.
 * Two apps on one graph (the benchmark KB, e.g. `bench/link-image-latency.ts --import-only`).
 *
 *   npx tsx bench/compare-vector-modes.ts --instance wtvec-eval:7698:7485 --split dev
 *
 * Writes bench/results/vector-modes-<split>.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { PROJECT_ROOT } from '../src/paths.js';
import type {
  CandidateService,
  PreparedCandidateQuery,
} from '../src/services/candidate-service.js';
import { instanceConfig, parseInstance, runNeo4jScript } from '../eval/harness/benchmark-db.js';
import { readGoldQueries } from '../eval/harness/format.js';
import { benchMachine, round } from './report.js';

const { values } = parseArgs({
  options: {
    instance: { type: 'string', default: 'wtvec-eval:7698:7485' },
    queries: { type: 'string', default: 'var/benchmark/queries.jsonl' },
    split: { type: 'string', default: 'dev' },
    candidates: { type: 'string', default: '1000' },
    limit: { type: 'string' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
const limit = Number(values.candidates);
const instance = parseInstance(values.instance);
runNeo4jScript('start.sh', instance);

function appFor(search: 'memory' | 'neo4j'): Promise<App> {
  const base = instanceConfig(instance, limit);
  const config = parseConfig({
    ...process.env,
    NEO4J_URI: base.neo4j.uri,
    NEO4J_PASSWORD: '',
    POLYLINK_PORT: '0',
    POLYLINK_IMAGE_DIR: base.images.storeDir,
    POLYLINK_MAX_CANDIDATES: String(limit),
    POLYLINK_VECTOR_SEARCH: search,
    POLYLINK_VECTOR_POLL_MS: '0',
    LOG_LEVEL: 'warn',
  });
  return createApp(config, createLogger(config.logLevel));
}

const memoryApp = await appFor('memory');
const neo4jApp = await appFor('neo4j');
const memory = memoryApp.services.candidates as CandidateService;
const neo4j = neo4jApp.services.candidates as CandidateService;
const encoders = memoryApp.backend.encoders!;
const gold = (await readGoldQueries(values.queries)).filter((q) => q.split === values.split);
const queries = values.limit ? gold.slice(0, Number(values.limit)) : gold;

interface Tally {
  lists: number;
  identical: number;
  sameSet: number;
  overlapAt100: number;
  overlapAtAll: number;
  top1Same: number;
  goldFoundMemory: number;
  goldFoundNeo4j: number;
  goldTotal: number;
  memoryMs: number[];
  neo4jMs: number[];
}
const tally = (): Tally => ({
  lists: 0,
  identical: 0,
  sameSet: 0,
  overlapAt100: 0,
  overlapAtAll: 0,
  top1Same: 0,
  goldFoundMemory: 0,
  goldFoundNeo4j: 0,
  goldTotal: 0,
  memoryMs: [],
  neo4jMs: [],
});
const tallies = { mention: tally(), region: tally() };

async function compare(
  kind: 'mention' | 'region',
  query: PreparedCandidateQuery,
  goldId: string | null,
) {
  const t = tallies[kind];
  let started = performance.now();
  const a = (await memory.searchKeys(query)).map((c) => c.entity.id);
  t.memoryMs.push(performance.now() - started);
  started = performance.now();
  const b = (await neo4j.searchKeys(query)).map((c) => c.entity.id);
  t.neo4jMs.push(performance.now() - started);
  t.lists += 1;
  if (a.join('\n') === b.join('\n')) t.identical += 1;
  const setB = new Set(b);
  if (a.length === b.length && a.every((id) => setB.has(id))) t.sameSet += 1;
  const top = new Set(b.slice(0, 100));
  t.overlapAt100 +=
    a.slice(0, 100).filter((id) => top.has(id)).length / Math.max(1, Math.min(100, b.length));
  t.overlapAtAll += a.filter((id) => setB.has(id)).length / Math.max(1, b.length);
  if (a[0] === b[0]) t.top1Same += 1;
  if (goldId && goldId !== 'NIL') {
    t.goldTotal += 1;
    if (a.includes(goldId)) t.goldFoundMemory += 1;
    if (b.includes(goldId)) t.goldFoundNeo4j += 1;
  }
}

const started = performance.now();
for (const [i, q] of queries.entries()) {
  const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, q.image)));
  for (const mention of q.mentions) {
    await compare(
      'mention',
      {
        mention: mention.text,
        textVector: await encoders.text!.encodeQuery(mention.text),
        imageVector: null,
        limit,
        domain: null,
      },
      mention.gold,
    );
  }
  for (const region of q.regions) {
    const [x, y, width, height] = region.box;
    const vectors = await encoders.image!.encodeImageVectors(bytes, { x, y, width, height });
    const imageVector = vectors.embedding;
    const robust = vectors.robust;
    await compare(
      'region',
      {
        mention: '',
        textVector: null,
        imageVector,
        robustImageVector: robust ?? null,
        limit,
        domain: null,
      },
      region.gold,
    );
  }
  if ((i + 1) % 100 === 0) process.stderr.write(`${i + 1}/${queries.length} queries\n`);
}
await memoryApp.close();
await neo4jApp.close();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.floor(sorted.length / 2)] ?? 0);
};
const summary = Object.fromEntries(
  Object.entries(tallies).map(([kind, t]) => [
    kind,
    {
      lists: t.lists,
      identicalPct: round((100 * t.identical) / t.lists),
      sameEntitiesPct: round((100 * t.sameSet) / t.lists),
      meanOverlapAt100Pct: round((100 * t.overlapAt100) / t.lists),
      meanOverlapPct: round((100 * t.overlapAtAll) / t.lists),
      top1SamePct: round((100 * t.top1Same) / t.lists),
      goldInListMemoryPct: round((100 * t.goldFoundMemory) / Math.max(1, t.goldTotal)),
      goldInListNeo4jPct: round((100 * t.goldFoundNeo4j) / Math.max(1, t.goldTotal)),
      goldTotal: t.goldTotal,
      searchKeysP50MsMemory: median(t.memoryMs),
      searchKeysP50MsNeo4j: median(t.neo4jMs),
    },
  ]),
);
const report = {
  date: new Date().toISOString(),
  machine: benchMachine(),
  split: values.split,
  queries: queries.length,
  candidates: limit,
  wallS: round((performance.now() - started) / 1000),
  note: 'searchKeys with the same query vectors in both modes; memory is exact, neo4j is HNSW over int8-quantized vectors',
  summary,
};
await mkdir(values.out, { recursive: true });
await writeFile(
  path.join(values.out, `vector-modes-${values.split}.json`),
  `${JSON.stringify(report, null, 2)}\n`,
);
console.log(JSON.stringify(report, null, 2));
