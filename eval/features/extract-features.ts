/**
 * Precomputes the linking model's input features with the very ONNX encoders (and preprocessing)
 * the service runs, once, into float16 shards and a JSON index (eval/features/FORMAT.md).
 *
 *   npx tsx eval/features/extract-features.ts --benchmark var/benchmark --out var/features \
 *     [--splits train,dev,test] [--limit N] [--bundle var/models/polylink-default]
 *
 * `--limit N` keeps the first N entities and the first N queries of the chosen splits.
 */
import { parseConfig } from '../../src/config.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ImageEncoder } from '../../src/inference/vision/image-encoder.js';
import { decodeRgb } from '../../src/images/image-decoding.js';
import type { PixelSpec } from '../../src/inference/vision/image-preprocess.js';
import {
  ENTITY_SEPARATOR,
  LINKER_MAX_TOKENS,
  checkEntitySeparator,
  linkerEntityText,
} from '../../src/inference/linker/linker-features.js';
import { createOnnxRuntime } from '../../src/inference/runtime/onnx-runtime.js';
import { createTextEncoder } from '../../src/inference/text/text-encoder.js';
import { createLogger } from '../../src/logger.js';
import { readManifest, type ManifestComponent } from '../../src/models/bundle.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import {
  FEATURE_FORMAT_VERSION,
  FULL_IMAGE_GEOMETRY,
  ShardWriter,
  boxGeometry,
  mentionTokenPositions,
  type ArrayRef,
} from './features.js';

/** Local files, decoded under the service's default image limits. */
const IMAGE_LIMITS = parseConfig({}).images;

/** Tokens kept per text, [CLS] and [SEP] included (the service's linker uses the same layout). */
export const MAX_TOKENS = LINKER_MAX_TOKENS;
export { ENTITY_SEPARATOR };

interface KbLine {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly domain: string;
  readonly split: string;
  readonly images: readonly { readonly path: string }[];
}

interface QueryLine {
  readonly id: string;
  readonly split: string;
  readonly kind: string;
  readonly domain: string;
  readonly image: string;
  readonly caption: string;
  readonly mentions: readonly {
    readonly id: string;
    readonly start: number;
    readonly end: number;
    readonly gold: string | null;
  }[];
  readonly regions: readonly {
    readonly id: string;
    readonly box: readonly [number, number, number, number];
    readonly gold: string | null;
  }[];
  readonly pairs: readonly { readonly mention: string; readonly region: string }[];
}

const { values } = parseArgs({
  options: {
    benchmark: { type: 'string', default: path.join(PROJECT_ROOT, 'var/benchmark') },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'var/features') },
    splits: { type: 'string', default: 'train,dev,test' },
    limit: { type: 'string' },
    bundle: { type: 'string', default: path.join(PROJECT_ROOT, 'var/models/polylink-default') },
  },
});
const splits = new Set(values.splits.split(',').map((split) => split.trim()));
const limit = values.limit === undefined ? Infinity : Number(values.limit);
const outDir = path.resolve(values.out);
const bundleDir = path.resolve(values.bundle);

async function readJsonl<T>(file: string): Promise<T[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

function fileOf(component: ManifestComponent, name: string): string {
  const entry = component.files[name];
  if (!entry) throw new Error(`The bundle component has no ${name}`);
  return path.join(bundleDir, entry.path);
}

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

function progress(what: string, done: number, total: number, started: number): void {
  if (done % 100 !== 0 && done !== total) return;
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${what}: ${done}/${total} in ${seconds.toFixed(1)} s (${(done / Math.max(seconds, 1e-9)).toFixed(2)}/s)`,
  );
}

const manifest = await readManifest(bundleDir);
const textComponent = manifest.components.text;
const imageComponent = manifest.components.image;
if (!textComponent || !imageComponent)
  throw new Error('The bundle needs text and image components');
const runtime = createOnnxRuntime({
  executionProvider: 'cpu',
  intraOpThreads: 0,
  interOpThreads: 1,
  logger: createLogger('warn'),
});
// The service's text encoder settings, but truncated to MAX_TOKENS; no prefix (kind 'passage',
// whose prefix is empty in the bundle) for entities and captions alike.
const text = await createTextEncoder(runtime, {
  name: 'text',
  modelFile: fileOf(textComponent, 'model.onnx'),
  tokenizerFile: fileOf(textComponent, 'tokenizer.json'),
  maxLength: Math.min(MAX_TOKENS, Number(textComponent.config.maxLength)),
  pooling: textComponent.config.pooling as 'cls' | 'mean',
  dimension: Number(textComponent.config.dimension),
  batchSize: 1,
  passagePrefix:
    typeof textComponent.config.passagePrefix === 'string'
      ? textComponent.config.passagePrefix
      : '',
});
const image = new ImageEncoder({
  session: await runtime.load('image', fileOf(imageComponent, 'model.onnx')),
  pixels: imageComponent.config.pixels as PixelSpec,
});
await checkEntitySeparator(text, ENTITY_SEPARATOR);

const benchmarkDir = path.resolve(values.benchmark);
const kb = (await readJsonl<KbLine>(path.join(benchmarkDir, 'kb.jsonl')))
  .filter((entity) => splits.has(entity.split))
  .slice(0, limit);
const queries = (await readJsonl<QueryLine>(path.join(benchmarkDir, 'queries.jsonl')))
  .filter((query) => splits.has(query.split))
  .slice(0, limit);

await mkdir(outDir, { recursive: true });
const writer = new ShardWriter(outDir);
const started = performance.now();

const entities: unknown[] = [];
let entityStarted = performance.now();
for (const entity of kb) {
  const tokens = await text.encodeTokens(linkerEntityText(entity, ENTITY_SEPARATOR), 'passage');
  const tokenRef = writer.write(tokens.states, tokens.dims);
  const vectors: Float32Array[] = [];
  for (const file of entity.images) {
    vectors.push(
      await image.embed(
        await decodeRgb(await readFile(path.join(PROJECT_ROOT, file.path)), IMAGE_LIMITS),
      ),
    );
  }
  const flat = new Float32Array(vectors.length * 1280);
  vectors.forEach((vector, index) => flat.set(vector, index * vector.length));
  const imageRef: ArrayRef = writer.write(flat, [vectors.length, 1280]);
  entities.push({
    id: entity.id,
    split: entity.split,
    domain: entity.domain,
    tokens: tokenRef,
    truncated: tokens.truncated,
    images: imageRef,
    geometry: vectors.map(() => [...FULL_IMAGE_GEOMETRY]),
  });
  progress('entities', entities.length, kb.length, entityStarted);
}
const entitySeconds = (performance.now() - entityStarted) / 1000;

const queryItems: unknown[] = [];
entityStarted = performance.now();
let emptyMentions = 0;
for (const query of queries) {
  const tokens = await text.encodeTokens(query.caption, 'passage');
  const tokenRef = writer.write(tokens.states, tokens.dims);
  const decoded = await decodeRgb(
    await readFile(path.join(PROJECT_ROOT, query.image)),
    IMAGE_LIMITS,
  );
  const boxes = query.regions.map(({ box: [x, y, width, height] }) => ({ x, y, width, height }));
  const regionVectors = await image.regionFeatures(decoded, boxes);
  const flat = new Float32Array(regionVectors.length * 1280);
  regionVectors.forEach((vector, index) => flat.set(vector, index * vector.length));
  const regionRef = writer.write(flat, [regionVectors.length, 1280]);
  queryItems.push({
    id: query.id,
    split: query.split,
    kind: query.kind,
    domain: query.domain,
    tokens: tokenRef,
    truncated: tokens.truncated,
    mentions: query.mentions.map((mention) => {
      const positions = mentionTokenPositions(
        tokens.offsets,
        tokens.fromText,
        mention.start,
        mention.end,
      );
      if (positions.length === 0) emptyMentions += 1;
      return {
        id: mention.id,
        start: mention.start,
        end: mention.end,
        gold: mention.gold,
        positions,
      };
    }),
    regions: query.regions.map((region) => ({
      id: region.id,
      box: region.box,
      gold: region.gold,
      geometry: boxGeometry(region.box, decoded.width, decoded.height).map(round6),
    })),
    regionFeatures: regionRef,
    pairs: query.pairs,
  });
  progress('queries', queryItems.length, queries.length, entityStarted);
}
const querySeconds = (performance.now() - entityStarted) / 1000;

const shards = writer.close();
await text.release();
await runtime.close();

const index = {
  version: FEATURE_FORMAT_VERSION,
  bundle: manifest.id,
  text: {
    fingerprint: textComponent.fingerprint,
    dimension: text.dimension,
    maxTokens: MAX_TOKENS,
    entitySeparator: ENTITY_SEPARATOR,
  },
  image: { fingerprint: imageComponent.fingerprint, dimension: 1280 },
  dtype: 'float16',
  byteOrder: 'little',
  geometry: ['x1', 'y1', 'x2', 'y2', 'area'],
  splits: [...splits].sort(),
  shards,
  entities,
  queries: queryItems,
};
await writeFile(path.join(outDir, 'index.json'), `${JSON.stringify(index)}\n`);
const stats = {
  entities: entities.length,
  queries: queryItems.length,
  mentionsWithNoTokens: emptyMentions,
  entitySeconds: Math.round(entitySeconds * 10) / 10,
  querySeconds: Math.round(querySeconds * 10) / 10,
  totalSeconds: Math.round((performance.now() - started) / 100) / 10,
  shardBytes: shards.reduce((total, shard) => total + shard.bytes, 0),
};
await writeFile(path.join(outDir, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
console.log(JSON.stringify(stats));
