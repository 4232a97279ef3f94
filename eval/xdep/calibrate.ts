/**
 * Issue 12, part 3: chooses the linker's calibration on the HELD-OUT DEV source only (the other
 * held-out source stays untouched for the test): the weight of the DENSE_IMAGE cosine added to
 * region-only units' scores, then the NIL threshold of region-only units at that weight.
 *
 *   npx tsx eval/xdep/calibrate.ts [--xdep var/xdep] [--write-release models/zemel/release/linker.json]
 *
 * Region-only units of the dev source: every image-only query (the whole image as the given
 * region) and every gold box of the scenes (given, no mention; distractor boxes are gold NIL).
 * Each weight of the grid runs every unit through LinkingService.link (the service's own code, in
 * process) with NIL off; the weight with the best acc@1 over in-KB units wins (ties: the smaller).
 * At that weight the threshold with the best micro-F1 over all units (a link is right when it names
 * the gold; P over links made, R over in-KB units) becomes the region NIL threshold of both tasks.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { LinkImageInput } from '../../src/services/linking-service.js';
import { importBenchmarkKb, runNeo4jScript, type InstanceEnv } from '../harness/benchmark-db.js';
import { readGoldQueries, type GoldQuery } from '../harness/format.js';
import { machine } from '../harness/machine.js';
import { writeFormatted } from '../harness/write.js';
import { dataUrlOf } from '../service/convert.js';

const INSTANCE: InstanceEnv = {
  NEO4J_INSTANCE: 'xdepcal',
  NEO4J_AUTH_ENABLED: 'false',
  NEO4J_BOLT_PORT: '7743',
  NEO4J_HTTP_PORT: '7543',
};
const CANDIDATES = 100;
const NIL_OFF = -1e30;
export const WEIGHT_GRID = [0, 10, 30, 100, 300, 1000, 3000, 10_000] as const;

/** One region-only unit's answer at one weight: the top entity and its score. */
export interface UnitAnswer {
  readonly gold: string | null;
  readonly top: string | null;
  readonly score: number | null;
}

/** acc@1 over the units whose gold is in the KB. */
export function accuracyAt1(answers: readonly UnitAnswer[]): number {
  const inKb = answers.filter((a) => a.gold !== null);
  return inKb.length ? inKb.filter((a) => a.top === a.gold).length / inKb.length : 0;
}

/**
 * The threshold with the best micro-F1: a unit whose top score is below it is NIL. Tried at every
 * distinct top score (and below them all); ties keep the lower threshold.
 */
export function bestThreshold(answers: readonly UnitAnswer[]): {
  threshold: number;
  f1: number;
  precision: number;
  recall: number;
} {
  const goldInKb = answers.filter((a) => a.gold !== null).length;
  const scores = [...new Set(answers.flatMap((a) => (a.score === null ? [] : [a.score])))].sort(
    (a, b) => a - b,
  );
  const candidates = [(scores[0] ?? 0) - 1, ...scores];
  let best = { threshold: candidates[0]!, f1: -1, precision: 0, recall: 0 };
  for (const threshold of candidates) {
    const linked = answers.filter(
      (a) => a.score !== null && a.score >= threshold && a.top !== null,
    );
    const right = linked.filter((a) => a.top === a.gold).length;
    const precision = linked.length ? right / linked.length : 0;
    const recall = goldInKb ? right / goldInKb : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > best.f1) best = { threshold, f1, precision, recall };
  }
  return best;
}

function log(message: string): void {
  process.stderr.write(`[xdep-calibrate ${new Date().toISOString()}] ${message}\n`);
}

const sameBox = (
  a: { x: number; y: number; width: number; height: number },
  b: readonly number[],
) =>
  Math.abs(a.x - b[0]!) <= 1 &&
  Math.abs(a.y - b[1]!) <= 1 &&
  Math.abs(a.width - b[2]!) <= 1 &&
  Math.abs(a.height - b[3]!) <= 1;

async function answersAt(
  app: App,
  queries: readonly GoldQuery[],
  weight: number,
): Promise<UnitAnswer[]> {
  const answers: UnitAnswer[] = [];
  for (const query of queries) {
    const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, query.image)));
    const input: LinkImageInput = {
      image: { kind: 'dataUrl', dataUrl: dataUrlOf(bytes, query.image) },
      caption: query.caption,
      // The given (empty) mention list: null would let mention detection pair a found mention
      // with the region, and the unit would no longer be region-only.
      mentions: query.mentions.map(({ start, end }) => ({ start, end })),
      regions: query.regions.map(({ box: [x, y, width, height] }) => ({ x, y, width, height })),
      pairs: null,
      candidates: CANDIDATES,
      nilThreshold: NIL_OFF,
      domain: null,
    };
    const result = await app.services.linking.link(input, undefined, {
      regionDenseImageWeight: weight,
    });
    for (const region of query.regions) {
      const triple = result.triples.find(
        (t) => t.mention === null && t.region !== null && sameBox(t.region.box, region.box),
      );
      answers.push({
        gold: region.gold,
        top: triple?.entityId ?? null,
        score: triple?.score ?? null,
      });
    }
  }
  return answers;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      xdep: { type: 'string', default: 'var/xdep' },
      out: { type: 'string' },
      'write-release': { type: 'string' },
    },
  });
  const xdepDir = path.resolve(PROJECT_ROOT, values.xdep);
  const manifest = JSON.parse(await readFile(path.join(xdepDir, 'manifest.json'), 'utf8')) as {
    roles: Record<string, 'dev' | 'test'>;
    sources: Record<string, { kb: string; queries: string }>;
  };
  const source = Object.entries(manifest.roles).find(([, role]) => role === 'dev')?.[0];
  const entry = source ? manifest.sources[source] : undefined;
  if (!source || !entry) throw new Error('the xdep manifest names no dev source');
  const queries = (await readGoldQueries(path.resolve(PROJECT_ROOT, entry.queries))).filter(
    (q) => q.kind === 'image-only' || q.kind === 'scene',
  );
  log(`dev source ${source}: ${queries.length} queries (image-only and scenes)`);

  runNeo4jScript('reset.sh', INSTANCE);
  runNeo4jScript('start.sh', INSTANCE);
  const config = parseConfig({
    ...process.env,
    NEO4J_URI: `bolt://127.0.0.1:${INSTANCE.NEO4J_BOLT_PORT}`,
    NEO4J_PASSWORD: '',
    POLYLINK_PORT: '0',
    POLYLINK_PUBLIC_URL: '',
    POLYLINK_IMAGE_DIR: path.join(PROJECT_ROOT, 'var/eval/xdep-calibrate-images'),
    POLYLINK_MAX_CANDIDATES: String(CANDIDATES),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  let app: App | null = null;
  try {
    app = await createApp(config, createLogger(config.logLevel));
    const linker = app.backend.models?.linker;
    if (!linker) throw new Error('the model bundle has no linker');
    await importBenchmarkKb(app.services, path.resolve(PROJECT_ROOT, entry.kb), {
      batchSize: 50,
      log,
    });
    const grid: { weight: number; acc1: number; units: number }[] = [];
    const byWeight = new Map<number, UnitAnswer[]>();
    for (const weight of WEIGHT_GRID) {
      const answers = await answersAt(app, queries, weight);
      byWeight.set(weight, answers);
      grid.push({ weight, acc1: accuracyAt1(answers), units: answers.length });
      log(`weight ${weight}: acc@1 ${(accuracyAt1(answers) * 100).toFixed(1)}%`);
    }
    const chosen = grid.reduce((best, row) => (row.acc1 > best.acc1 ? row : best));
    const nil = bestThreshold(byWeight.get(chosen.weight) ?? []);
    const round = (v: number) => Math.round(v * 1e6) / 1e6;
    const date = new Date().toISOString();
    const calibration = {
      regionDenseImageWeight: chosen.weight,
      thresholds: {
        'VT-KG': { region: round(nil.threshold) },
        'V&T-KG': { region: round(nil.threshold) },
      },
      chosenOn: `held-out dev source "${source}" (eval/xdep/calibrate.ts, ${date.slice(0, 10)}): weight by acc@1 of ${chosen.units} region-only units, region NIL threshold by micro-F1`,
    };
    const report = {
      date,
      source,
      bundle: app.backend.models?.manifest.id,
      linker: `${linker.name}@${linker.version}`,
      grid,
      chosen: { weight: chosen.weight, acc1: chosen.acc1, nil },
      calibration,
      machine: machine(),
    };
    const outDir = path.resolve(
      values.out ?? path.join('eval-results', `${date.slice(0, 10)}-xdep-calibration`),
    );
    await mkdir(outDir, { recursive: true });
    await writeFormatted(
      path.join(outDir, 'calibration.json'),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    process.stdout.write(`${JSON.stringify(report.chosen, null, 2)}\n`);
    if (values['write-release']) {
      const file = path.resolve(values['write-release']);
      const release = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, `${JSON.stringify({ ...release, calibration }, null, 2)}\n`);
      log(`wrote the calibration into ${file}`);
    }
  } finally {
    await app?.close();
    runNeo4jScript('stop.sh', INSTANCE);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
}
