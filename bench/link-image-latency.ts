/**
 * End-to-end latency of `linkImage` (the service call, without HTTP) on the benchmark fixture's
 * composed scenes, per stage, on this machine, against the Neo4j of NEO4J_URI. Registers the
 * fixture's 20 entities under a throw-away domain, links each scene in three modes, and removes
 * everything it wrote. Writes bench/results/link-image-latency.{json,md}.
 *
 *   NEO4J_URI=bolt://127.0.0.1:7690 npx tsx bench/link-image-latency.ts [--runs 10]
 *
 * A benchmark, not a test: the figures depend on the machine and on what else it is doing.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServices, openBackend } from '../src/backend.js';
import { parseConfig } from '../src/config.js';
import type { ImageSource } from '../src/images/image-source.js';
import { createLogger } from '../src/logger.js';
import { PROJECT_ROOT } from '../src/paths.js';
import type { LinkImageInput, LinkStage } from '../src/services/linking-service.js';
import { benchMachine, percentile, round } from './report.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
const runs = Number(values.runs);
const WARM_UP = 2;
const SCENES = ['q-000008', 'q-000009', 'q-000010'];

interface KbLine {
  id: string;
  name: string;
  aliases: string[];
  description: string;
  tags: string[];
  images: { path: string }[];
}
interface QueryLine {
  id: string;
  caption: string;
  image: string;
  mentions: { id: string; start: number; end: number }[];
  regions: { id: string; box: [number, number, number, number] }[];
  pairs: { mention: string; region: string }[];
}

async function readJsonl<T>(file: string): Promise<T[]> {
  return (await readFile(path.join(PROJECT_ROOT, file), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

const bytesOf = async (file: string): Promise<ImageSource> => ({
  kind: 'bytes',
  bytes: new Uint8Array(await readFile(path.join(PROJECT_ROOT, file))),
  label: file,
});

type Mode = 'V&T-KG: gold spans, boxes, pairs' | 'V-T-KG: gold spans, boxes' | 'V-T-KG: automatic';
const MODES: readonly Mode[] = [
  'V&T-KG: gold spans, boxes, pairs',
  'V-T-KG: gold spans, boxes',
  'V-T-KG: automatic',
];

async function inputOf(q: QueryLine, mode: Mode, domain: string): Promise<LinkImageInput> {
  const base = {
    image: await bytesOf(q.image),
    caption: q.caption,
    candidates: 100,
    nilThreshold: null,
    domain,
  };
  if (mode === 'V-T-KG: automatic') return { ...base, mentions: null, regions: null, pairs: null };
  const mentionIndex = new Map(q.mentions.map((m, index) => [m.id, index]));
  const regionIndex = new Map(q.regions.map((r, index) => [r.id, index]));
  return {
    ...base,
    mentions: q.mentions.map(({ start, end }) => ({ start, end })),
    regions: q.regions.map(({ box: [x, y, width, height] }) => ({ x, y, width, height })),
    pairs:
      mode === 'V-T-KG: gold spans, boxes'
        ? null
        : q.pairs.map((p) => ({
            mention: mentionIndex.get(p.mention) ?? -1,
            region: regionIndex.get(p.region) ?? -1,
          })),
  };
}

const imageDir = await mkdtemp(path.join(os.tmpdir(), 'polylink-bench-'));
const config = parseConfig({
  ...process.env,
  POLYLINK_IMAGE_DIR: imageDir,
  POLYLINK_MIGRATE_ON_START: 'true',
});
const logger = createLogger('warn');
const backend = await openBackend(config, logger);
const services = createServices({
  backend,
  config,
  logger,
  publicBaseUrl: 'http://127.0.0.1:4000',
});
const tag = randomUUID().slice(0, 8);
const domain = `bench-${tag}`;
const prefix = `${domain}:`;

const results: {
  mode: Mode;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  stages: Record<string, number>;
}[] = [];
try {
  const kb = await readJsonl<KbLine>('test/fixtures/benchmark/kb.jsonl');
  await services.entities.registerMany(
    await Promise.all(
      kb.map(async (entity) => ({
        id: `${prefix}${entity.id}`,
        name: entity.name,
        aliases: entity.aliases,
        description: entity.description,
        domain,
        tags: entity.tags,
        images: await Promise.all(entity.images.map((image) => bytesOf(image.path))),
      })),
    ),
  );
  const queries = (await readJsonl<QueryLine>('test/fixtures/benchmark/queries.jsonl')).filter(
    (q) => SCENES.includes(q.id),
  );
  for (const mode of MODES) {
    const inputs = await Promise.all(queries.map((q) => inputOf(q, mode, domain)));
    for (let warm = 0; warm < WARM_UP; warm += 1) {
      for (const input of inputs) await services.linking.link(input);
    }
    const totals: number[] = [];
    const stages = new Map<LinkStage, number[]>();
    for (let run = 0; run < runs; run += 1) {
      for (const input of inputs) {
        const { timing } = await services.linking.link(input);
        for (const { stage, ms } of timing) {
          if (stage === 'total') totals.push(ms);
          else stages.set(stage, [...(stages.get(stage) ?? []), ms]);
        }
      }
    }
    totals.sort((a, b) => a - b);
    results.push({
      mode,
      samples: totals.length,
      p50Ms: round(percentile(totals, 0.5)),
      p95Ms: round(percentile(totals, 0.95)),
      stages: Object.fromEntries(
        [...stages].map(([stage, ms]) => [
          stage,
          round(
            percentile(
              [...ms].sort((a, b) => a - b),
              0.5,
            ),
          ),
        ]),
      ),
    });
    console.log(JSON.stringify(results.at(-1)));
  }
} finally {
  await backend.graph.write('bench.cleanup', async (tx) => {
    await tx.query(
      `MATCH (l:LinkedImage {domain: $domain})
       OPTIONAL MATCH (l)-[:OF_IMAGE]->(i:Image)
       OPTIONAL MATCH (l)-[:HAS_FINDING]->(f:Finding)
       DETACH DELETE l, f
       WITH DISTINCT i WHERE i IS NOT NULL AND NOT (i)--()
       DELETE i`,
      { domain },
    );
    await tx.query(
      `MATCH (e:Entity) WHERE e.id STARTS WITH $prefix
       OPTIONAL MATCH (e)-[:HAS_IMAGE]->(i:Image)
       DETACH DELETE e
       WITH DISTINCT i WHERE i IS NOT NULL AND NOT (i)--()
       DELETE i`,
      { prefix },
    );
  });
  await backend.close();
  await rm(imageDir, { recursive: true, force: true });
}

const report = {
  date: new Date().toISOString(),
  bundle: backend.encoders?.bundleId ?? null,
  scenes: SCENES,
  runs,
  warmUp: WARM_UP,
  machine: benchMachine(),
  results,
};
await mkdir(values.out, { recursive: true });
await writeFile(
  path.join(values.out, 'link-image-latency.json'),
  `${JSON.stringify(report, null, 2)}\n`,
);
const stageNames = Object.keys(results[0]?.stages ?? {});
await writeFile(
  path.join(values.out, 'link-image-latency.md'),
  [
    `Measured ${report.date.slice(0, 10)} on ${report.machine.cpuModel} (${report.machine.cores} cores), ${report.machine.os}, Node ${report.machine.node}, bundle ${report.bundle}, load average at the end ${report.machine.loadAverageAtEnd.join(' ')}; scenes ${SCENES.join(', ')} of test/fixtures/benchmark (320x160, 4-6 mentions, 5-7 regions, 20 entities in the domain), ${runs} runs each after ${WARM_UP} warm-up runs. Stage columns are p50 ms.`,
    '',
    `| mode | p50 ms | p95 ms | ${stageNames.join(' | ')} |`,
    `| --- | --: | --: | ${stageNames.map(() => '--:').join(' | ')} |`,
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.p50Ms} | ${r.p95Ms} | ${stageNames.map((s) => r.stages[s] ?? '').join(' | ')} |`,
    ),
    '',
  ].join('\n'),
);
