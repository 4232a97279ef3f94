/**
 * Issue 12, part 1: the whole service on a HELD-OUT cross-depiction source (built by
 * eval/xdep/build-xdep.ts), next to its floors measured in the same run on the same KB.
 *
 *   npx tsx eval/xdep/run-xdep.ts --split dev|test | --source wesnoth|cards
 *   npx tsx eval/xdep/run-xdep.ts --xdep var/xdep-photos --source photos   (eval/xdep/photos.ts)
 *     [--xdep var/xdep] [--out eval-results/<date>-xdep-<source>] [--limit-queries N] [--keep-db]
 *
 * Starts its own Neo4j (instance "xdep", Bolt 7741, HTTP 7541, no auth), registers the source's KB
 * through the service (importBenchmarkKb), starts the real app (createApp, ephemeral port) and sends
 * every query to `linkImage` over HTTP with a `link` API key:
 *   image-only      the whole image as the one given region, no mention (and again with NIL off,
 *                   nilThreshold -1e30, so that ranking shows apart from the NIL decision);
 *   named           V&T-KG: the caption names the entity; gold span, whole-image box and pair given;
 *   scene-given     scenes with the gold boxes given and no mention (region NIL on distractors);
 *   scene-auto      scenes with nothing given (proposals, then linking).
 * Floors on the image-only queries: DENSE_IMAGE retrieval alone (CandidateService with the image
 * and no mention), a naive 8×8 and 16×16 thumbnail cosine against every KB picture, and chance.
 * Nothing is inserted: acc@k reads linkImage's chosen entity and its alternatives.
 */
// eslint-disable-next-line no-restricted-imports -- the offline evaluation computes the naive thumbnail floor; it is not service code
import sharp from 'sharp';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, type App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import {
  evaluationConfig,
  importBenchmarkKb,
  runNeo4jScript,
  writeJsonLines,
  type InstanceEnv,
} from '../harness/benchmark-db.js';
import { readGoldQueries, type GoldQuery } from '../harness/format.js';
import { machine } from '../harness/machine.js';
import { alignVT } from '../harness/scoring.js';
import { writeFormatted } from '../harness/write.js';
import { linkImage, serviceClient, type ServiceClient } from '../service/client.js';
import {
  candidatesOf,
  dataUrlOf,
  latency,
  linkInputOf,
  predictionLine,
  type LinkImageVariables,
  type ServiceResult,
} from '../service/convert.js';
import {
  constant,
  estimate,
  hitAtK,
  inTopK,
  rankByCosine,
  centred,
  regionCounts,
  type Estimate,
  type Ratio,
  type RegionUnit,
} from './metrics.js';
import { parseXdepSource, XDEP_SOURCES, type XdepSource } from './xdep.js';

sharp.cache(false);

export const XDEP_INSTANCE: InstanceEnv = {
  NEO4J_INSTANCE: 'xdep',
  NEO4J_AUTH_ENABLED: 'false',
  NEO4J_BOLT_PORT: '7741',
  NEO4J_HTTP_PORT: '7541',
};

const CANDIDATES = 100;
const NIL_OFF = -1e30;
const THUMB_SIDES = [8, 16] as const;

function log(message: string): void {
  process.stderr.write(`[xdep-run ${new Date().toISOString()}] ${message}\n`);
}

function xdepConfig(): Config {
  return evaluationConfig(XDEP_INSTANCE, {
    maxCandidates: CANDIDATES,
    imageDir: 'var/eval/xdep-images',
  });
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Sent {
  readonly query: GoldQuery;
  readonly result: ServiceResult | null;
  readonly error: string | null;
  readonly ms: number;
}

async function send(
  client: ServiceClient,
  queries: readonly GoldQuery[],
  input: (q: GoldQuery, dataUrl: string) => LinkImageVariables,
  label: string,
): Promise<Sent[]> {
  const out: Sent[] = [];
  const started = performance.now();
  for (const [i, query] of queries.entries()) {
    const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, query.image)));
    const answer = await linkImage(client, input(query, dataUrlOf(bytes, query.image)));
    if (answer.error) log(`${label}: ${query.id} failed: ${answer.error}`);
    out.push({ query, result: answer.result, error: answer.error, ms: answer.ms });
    if ((i + 1) % 50 === 0 || i + 1 === queries.length)
      log(
        `${label}: ${i + 1}/${queries.length} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
  }
  return out;
}

/** The one region triple of an image-only answer: the chosen entity and the ranked ids. */
function regionAnswer(sent: Sent): { prediction: string | null; ranked: string[] } | null {
  const triple = sent.result?.triples.find((t) => t.region !== null && t.mention === null);
  if (!triple) return null;
  return {
    prediction: triple.entity?.id ?? null,
    ranked: candidatesOf(triple, sent.query.id).map((c) => c.entity),
  };
}

const goldOf = (q: GoldQuery): string => {
  const gold = q.regions[0]?.gold;
  if (!gold) throw new Error(`${q.id}: an image-only query needs an in-KB gold region`);
  return gold;
};

function accuracy(sent: readonly Sent[], k: number): Estimate {
  return estimate(
    sent.map((s): Ratio => {
      const a = regionAnswer(s);
      return { num: a && hitAtK(a.prediction, a.ranked, goldOf(s.query), k) ? 1 : 0, den: 1 };
    }),
  );
}

function nilShare(sent: readonly Sent[]): number {
  const nil = sent.filter((s) => regionAnswer(s)?.prediction === null).length;
  return sent.length ? nil / sent.length : 0;
}

/** Region units of scene answers, aligned to the gold by IoU >= 0.5 (alignVT). */
function sceneUnits(sent: Sent, mode: 'vt-kg-given' | 'vt-kg-auto') {
  const line = sent.result ? predictionLine(sent.query, mode, sent.result) : null;
  const alignment = alignVT(sent.query, line?.links ?? []);
  const units: RegionUnit[] = alignment.outcomes
    .filter((o) => o.unit?.type === 'region')
    .map((o) => ({
      gold: o.unit?.gold ?? null,
      prediction: o.link === null ? undefined : o.link.prediction,
    }));
  return { units, detection: alignment.regionDetection };
}

function sceneMetrics(sent: readonly Sent[], mode: 'vt-kg-given' | 'vt-kg-auto') {
  const per = sent.map((s) => sceneUnits(s, mode));
  const counts = per.map((p) => regionCounts(p.units));
  return {
    queries: sent.length,
    regionAccuracy: estimate(counts.map((c) => ({ num: c.correct, den: c.goldNonNil }))),
    nilPrecision: estimate(counts.map((c) => ({ num: c.nilCorrect, den: c.predNil }))),
    nilRecall: estimate(counts.map((c) => ({ num: c.nilCorrect, den: c.goldNil }))),
    proposalRecall: estimate(
      per.map((p) => ({ num: p.detection?.matched ?? 0, den: p.detection?.gold ?? 0 })),
    ),
    proposals: per.reduce((n, p) => n + (p.detection?.predicted ?? 0), 0),
    goldRegions: counts.reduce((n, c) => n + c.goldNonNil + c.goldNil, 0),
    goldNilRegions: counts.reduce((n, c) => n + c.goldNil, 0),
    failed: sent.filter((s) => s.error !== null).length,
  };
}

// ---------------------------------------------------------------------------------------------
// Floors

async function thumbnail(file: string, side: number): Promise<Float64Array> {
  const { data } = await sharp(path.resolve(PROJECT_ROOT, file))
    .flatten({ background: '#ffffff' })
    .resize(side, side, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return centred(data);
}

interface KbImageLine {
  id: string;
  images?: { path: string }[];
}

async function thumbnailFloor(
  kb: readonly KbImageLine[],
  queries: readonly GoldQuery[],
  side: number,
) {
  const kbVectors = [];
  for (const e of kb)
    for (const img of e.images ?? [])
      kbVectors.push({ entity: e.id, vector: await thumbnail(img.path, side) });
  const ranks: string[][] = [];
  for (const q of queries) ranks.push(rankByCosine(await thumbnail(q.image, side), kbVectors));
  const at = (k: number) =>
    estimate(
      queries.map((q, i) => ({ num: inTopK(ranks[i] ?? [], goldOf(q), k) ? 1 : 0, den: 1 })),
    );
  return { at1: at(1), at5: at(5) };
}

/** The image generators whose order alone is a floor (the robust one only with its head). */
const IMAGE_FLOOR_GENERATORS = ['DENSE_IMAGE', 'DENSE_IMAGE_ROBUST'] as const;
type ImageFloorGenerator = (typeof IMAGE_FLOOR_GENERATORS)[number];
/** Enough of `candidates(image:)` that the merged list holds each generator's own top 20. */
const FLOOR_LIST = 100;

/** One generator's own order in a merged candidate list: its hits by its score, best first. */
export function orderBy(
  found: readonly {
    readonly entity: { readonly id: string };
    readonly generators: readonly { readonly generator: string; readonly score: number }[];
  }[],
  generator: string,
): string[] {
  return found
    .flatMap((c) => {
      const hit = c.generators.find((g) => g.generator === generator);
      return hit ? [{ id: c.entity.id, score: hit.score }] : [];
    })
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c) => c.id);
}

/** Each image generator alone on the image-only queries (`candidates(image:)`, one call each). */
async function imageFloors(app: App, queries: readonly GoldQuery[]) {
  const ranks = new Map<ImageFloorGenerator, string[][]>(
    IMAGE_FLOOR_GENERATORS.map((g) => [g, []]),
  );
  for (const q of queries) {
    const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, q.image)));
    const found = await app.services.candidates.generate({ image: { bytes }, limit: FLOOR_LIST });
    for (const g of IMAGE_FLOOR_GENERATORS) ranks.get(g)!.push(orderBy(found, g));
  }
  return new Map(
    IMAGE_FLOOR_GENERATORS.map((g) => {
      const r = ranks.get(g)!;
      const at = (k: number) =>
        estimate(
          queries.map((q, i) => ({ num: inTopK(r[i] ?? [], goldOf(q), k) ? 1 : 0, den: 1 })),
        );
      const found = r.some((list) => list.length > 0);
      return [g, found ? { at1: at(1), at5: at(5), at20: at(20) } : null] as const;
    }),
  );
}

/** Each image generator alone on the in-KB regions of the scenes (gold boxes): region-only floors. */
async function imageSceneFloors(app: App, scenes: readonly GoldQuery[]) {
  const per = new Map<ImageFloorGenerator, Ratio[]>(IMAGE_FLOOR_GENERATORS.map((g) => [g, []]));
  for (const q of scenes) {
    const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, q.image)));
    const counts = new Map(IMAGE_FLOOR_GENERATORS.map((g) => [g, { num: 0, den: 0 }]));
    for (const r of q.regions) {
      if (r.gold === null) continue;
      const [x, y, width, height] = r.box;
      const found = await app.services.candidates.generate({
        image: { bytes, box: { x, y, width, height } },
        limit: FLOOR_LIST,
      });
      for (const g of IMAGE_FLOOR_GENERATORS) {
        const c = counts.get(g)!;
        c.den++;
        if (orderBy(found, g)[0] === r.gold) c.num++;
      }
    }
    for (const g of IMAGE_FLOOR_GENERATORS) per.get(g)!.push(counts.get(g)!);
  }
  return new Map(IMAGE_FLOOR_GENERATORS.map((g) => [g, estimate(per.get(g)!)] as const));
}

// ---------------------------------------------------------------------------------------------
// Report

const pct = (e: Estimate | null | undefined): string =>
  e?.value === null || e?.value === undefined
    ? '–'
    : `${(e.value * 100).toFixed(1)}${e.ci95 ? ` [${(e.ci95[0] * 100).toFixed(1)}, ${(e.ci95[1] * 100).toFixed(1)}]` : ''}`;

interface Metrics {
  imageOnly: {
    queries: number;
    acc1: Estimate;
    acc5: Estimate;
    nilShare: number;
    nilOffAcc1: Estimate;
    nilOffAcc5: Estimate;
    nilOffNilShare: number;
  };
  named: { queries: number; acc1: Estimate; nilShare: number };
  floors: Record<string, Estimate>;
  sceneGiven: ReturnType<typeof sceneMetrics> & {
    denseImageAt1: Estimate;
    denseImageRobustAt1: Estimate | null;
  };
  sceneAuto: ReturnType<typeof sceneMetrics>;
}

function markdown(meta: Record<string, unknown>, m: Metrics, source: string): string {
  const io = m.imageOnly;
  const f = m.floors;
  const e = pct;
  const rows = [
    ['`linkImage`, image only (served NIL)', e(io.acc1), e(io.acc5)],
    [
      '`linkImage`, image only, NIL off (`nilThreshold: -1e30`)',
      e(io.nilOffAcc1),
      e(io.nilOffAcc5),
    ],
    ['floor: DENSE_IMAGE alone (`candidates(image:)`)', pct(f.denseImageAt1), pct(f.denseImageAt5)],
    ...(f.denseImageRobustAt1
      ? [
          [
            'floor: DENSE_IMAGE_ROBUST alone (`candidates(image:)`)',
            pct(f.denseImageRobustAt1),
            pct(f.denseImageRobustAt5),
          ],
        ]
      : []),
    ['floor: 8×8 thumbnail cosine', pct(f.thumb8At1), pct(f.thumb8At5)],
    ['floor: 16×16 thumbnail cosine', pct(f.thumb16At1), pct(f.thumb16At5)],
    ['floor: chance', pct(f.chanceAt1), pct(f.chanceAt5)],
  ];
  const sg = m.sceneGiven;
  const sa = m.sceneAuto;
  return [
    (XDEP_SOURCES as readonly string[]).includes(source)
      ? `# Held-out source \`${source}\` (${String(meta.split)}): linkImage vs floors`
      : `# Check source \`${source}\` (not held out; see its builder): linkImage vs floors`,
    '',
    `Measured ${String(meta.date)} on ${JSON.stringify(meta.machine)}; bundle \`${String(meta.bundle)}\`, linker \`${String((meta.linker as { name?: string }).name)}\`; ${String(meta.entitiesRegistered)} KB entities; ${String(meta.api)}. 95% intervals: percentile bootstrap over queries (1,000 resamples, seed 1). Nothing is inserted into the candidate lists; a NIL answer counts as wrong for acc@k.`,
    '',
    `## Image only (${String(io.queries)} queries: the whole image as the one given region, no mention)`,
    '',
    '| system | acc@1 | acc@5 |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `Share of image-only answers that are NIL (served region threshold ${String(meta.regionNilThreshold)}): ${(io.nilShare * 100).toFixed(1)}%. DENSE_IMAGE top-20: ${pct(f.denseImageAt20)}.`,
    '',
    `## Named (${String(m.named.queries)} queries, V&T-KG: the caption names the entity; span, whole-image box and pair given)`,
    '',
    `Named-entity accuracy: ${e(m.named.acc1)}.`,
    '',
    `## Scenes (${String(sg.queries)} queries; ${String(sg.goldRegions)} gold regions, ${String(sg.goldNilRegions)} of them NIL distractors)`,
    '',
    '| mode | region accuracy (in-KB regions) | region NIL precision | region NIL recall | proposal recall @ IoU 0.5 |',
    '| --- | --- | --- | --- | --- |',
    `| gold boxes given, no mention | ${pct(sg.regionAccuracy)} | ${pct(sg.nilPrecision)} | ${pct(sg.nilRecall)} | (given) |`,
    `| automatic: nothing given (${String(sa.proposals)} proposals) | ${pct(sa.regionAccuracy)} | ${pct(sa.nilPrecision)} | ${pct(sa.nilRecall)} | ${pct(sa.proposalRecall)} |`,
    `| floor: DENSE_IMAGE top-1 on the gold boxes | ${pct(sg.denseImageAt1)} | – | – | – |`,
    ...(sg.denseImageRobustAt1
      ? [
          `| floor: DENSE_IMAGE_ROBUST top-1 on the gold boxes | ${pct(sg.denseImageRobustAt1)} | – | – | – |`,
        ]
      : []),
    '',
    `Timings and failed requests: metrics.json.`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      xdep: { type: 'string', default: 'var/xdep' },
      split: { type: 'string' },
      source: { type: 'string' },
      out: { type: 'string' },
      'limit-queries': { type: 'string' },
      'keep-db': { type: 'boolean', default: false },
    },
  });
  const xdepDir = path.resolve(PROJECT_ROOT, values.xdep);
  const manifest = JSON.parse(await readFile(path.join(xdepDir, 'manifest.json'), 'utf8')) as {
    roles: Record<string, 'dev' | 'test'>;
    sources: Record<string, { kb: string; queries: string; split: string }>;
  };
  // A held-out source by name, or another source its manifest lists (the photo-to-photo check).
  const source: string = values.source
    ? values.source in manifest.sources
      ? values.source
      : parseXdepSource(values.source)
    : ((Object.entries(manifest.roles).find(([, r]) => r === values.split)?.[0] as
        XdepSource | undefined) ??
      (() => {
        throw new Error('give --split dev|test or --source wesnoth|cards');
      })());
  const entry = manifest.sources[source];
  if (!entry) throw new Error(`${source} is not in ${xdepDir}/manifest.json: build it first`);
  const started = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const name = `${date}-xdep-${source}`;
  const outDir = path.resolve(values.out ?? path.join('eval-results', name));
  const predictionsDir = path.resolve(PROJECT_ROOT, 'var/eval', name);
  const limit = values['limit-queries'] ? Number(values['limit-queries']) : Infinity;
  const queries = await readGoldQueries(path.resolve(PROJECT_ROOT, entry.queries));
  const kind = (k: string) => queries.filter((q) => q.kind === k).slice(0, limit);
  const imageOnly = kind('image-only');
  const named = kind('named');
  const scenes = kind('scene');
  const kbLines = (await readFile(path.resolve(PROJECT_ROOT, entry.kb), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as KbImageLine);
  log(
    `${source} (${entry.split}): ${kbLines.length} KB entities; ${imageOnly.length} image-only, ${named.length} named, ${scenes.length} scenes`,
  );

  const timings: Record<string, number> = {};
  let t0 = Date.now();
  runNeo4jScript('reset.sh', XDEP_INSTANCE);
  runNeo4jScript('start.sh', XDEP_INSTANCE);
  timings.neo4jStartS = (Date.now() - t0) / 1000;
  const config = xdepConfig();
  let app: App | null = null;
  let metrics: Metrics;
  const meta: Record<string, unknown> = {};
  const requestMs: Record<string, ReturnType<typeof latency>> = {};
  const failures: Record<string, { query: string; error: string }[]> = {};
  try {
    app = await createApp(config, createLogger(config.logLevel));
    const models = app.backend.models;
    if (!models?.linker) throw new Error('the model bundle has no linker: linkImage cannot run');
    t0 = Date.now();
    const entities = await importBenchmarkKb(app.services, path.resolve(PROJECT_ROOT, entry.kb), {
      batchSize: Math.min(50, config.limits.maxBatchSize),
      log,
    });
    timings.importS = (Date.now() - t0) / 1000;
    log(`registered ${entities} entities in ${timings.importS.toFixed(0)} s`);
    const client = await serviceClient(app, 'xdep evaluation');
    const run = async (
      label: string,
      set: readonly GoldQuery[],
      input: (q: GoldQuery, dataUrl: string) => LinkImageVariables,
    ) => {
      t0 = Date.now();
      const sent = await send(client, set, input, label);
      timings[`${label}S`] = (Date.now() - t0) / 1000;
      requestMs[label] = latency(sent.map((s) => s.ms));
      failures[label] = sent
        .filter((s) => s.error !== null)
        .map((s) => ({ query: s.query.id, error: s.error ?? '' }));
      await writeJsonLines(
        path.join(predictionsDir, `${label}.jsonl`),
        sent.map((s) => ({ query: s.query.id, error: s.error, result: s.result })),
      );
      return sent;
    };
    const opts = { candidates: CANDIDATES };
    const given = (q: GoldQuery, dataUrl: string) =>
      linkInputOf(q, 'vt-kg-given', { dataUrl, ...opts });
    const io = await run('image-only', imageOnly, given);
    const ioOff = await run('image-only-nil-off', imageOnly, (q, d) => ({
      ...given(q, d),
      nilThreshold: NIL_OFF,
    }));
    const nm = await run('named', named, (q, dataUrl) =>
      linkInputOf(q, 'vandt-kg', { dataUrl, ...opts }),
    );
    const sg = await run('scene-given', scenes, given);
    const sa = await run('scene-auto', scenes, (q, dataUrl) =>
      linkInputOf(q, 'vt-kg-auto', { dataUrl, ...opts }),
    );

    t0 = Date.now();
    const imageOnlyFloors = await imageFloors(app, imageOnly);
    const sceneFloors = await imageSceneFloors(app, scenes);
    const dense = imageOnlyFloors.get('DENSE_IMAGE')!;
    const robust = imageOnlyFloors.get('DENSE_IMAGE_ROBUST') ?? null;
    timings.denseImageFloorS = (Date.now() - t0) / 1000;
    t0 = Date.now();
    const thumbs = await Promise.all(THUMB_SIDES.map((s) => thumbnailFloor(kbLines, imageOnly, s)));
    timings.thumbnailFloorS = (Date.now() - t0) / 1000;
    const kbSize = kbLines.length;
    const namedAcc = estimate(
      nm.map((s): Ratio => {
        const line = s.result ? predictionLine(s.query, 'vandt-kg', s.result) : null;
        return { num: line?.links[0]?.prediction === goldOf(s.query) ? 1 : 0, den: 1 };
      }),
    );
    metrics = {
      imageOnly: {
        queries: io.length,
        acc1: accuracy(io, 1),
        acc5: accuracy(io, 5),
        nilShare: nilShare(io),
        nilOffAcc1: accuracy(ioOff, 1),
        nilOffAcc5: accuracy(ioOff, 5),
        nilOffNilShare: nilShare(ioOff),
      },
      named: { queries: nm.length, acc1: namedAcc, nilShare: nilShare(nm) },
      floors: {
        denseImageAt1: dense.at1,
        denseImageAt5: dense.at5,
        denseImageAt20: dense.at20,
        ...(robust
          ? {
              denseImageRobustAt1: robust.at1,
              denseImageRobustAt5: robust.at5,
              denseImageRobustAt20: robust.at20,
            }
          : {}),
        thumb8At1: thumbs[0]!.at1,
        thumb8At5: thumbs[0]!.at5,
        thumb16At1: thumbs[1]!.at1,
        thumb16At5: thumbs[1]!.at5,
        chanceAt1: constant(1 / kbSize, imageOnly.length),
        chanceAt5: constant(Math.min(1, 5 / kbSize), imageOnly.length),
      },
      sceneGiven: {
        ...sceneMetrics(sg, 'vt-kg-given'),
        denseImageAt1: sceneFloors.get('DENSE_IMAGE')!,
        denseImageRobustAt1: robust ? sceneFloors.get('DENSE_IMAGE_ROBUST')! : null,
      },
      sceneAuto: sceneMetrics(sa, 'vt-kg-auto'),
    };
    Object.assign(meta, {
      date: new Date().toISOString(),
      source,
      split: entry.split,
      kb: entry.kb,
      queries: entry.queries,
      entitiesRegistered: entities,
      bundle: models.manifest.id,
      linker: {
        name: `${models.linker.name}@${models.linker.version}`,
        fingerprint: models.linker.fingerprint,
        nilThresholds: models.linker.thresholds,
      },
      nilThreshold: io.find((s) => s.result)?.result?.nilThreshold ?? null,
      regionNilThreshold:
        io.find((s) => s.result)?.result?.nilThresholds?.region ??
        io.find((s) => s.result)?.result?.nilThreshold ??
        null,
      calibration: models.linker.calibration,
      candidatesPerList: CANDIDATES,
      api: 'GraphQL linkImage over HTTP (createApp, ephemeral port, a `link` API key), image as a data URL',
      predictions: path.relative(PROJECT_ROOT, predictionsDir),
      machine: machine(),
      loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    });
  } finally {
    await app?.close();
    if (!values['keep-db']) runNeo4jScript('stop.sh', XDEP_INSTANCE);
  }
  timings.wallS = (Date.now() - started) / 1000;
  await mkdir(outDir, { recursive: true });
  await writeFormatted(
    path.join(outDir, 'metrics.json'),
    `${JSON.stringify({ ...meta, timings, requestMs, failures, metrics }, null, 2)}\n`,
  );
  const md = markdown(meta, metrics, source);
  await writeFormatted(path.join(outDir, 'metrics.md'), md);
  process.stdout.write(md);
  const failed = Object.values(failures).reduce((n, f) => n + f.length, 0);
  if (failed > 0) {
    log(`${failed} requests failed (metrics.json lists them)`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
}
