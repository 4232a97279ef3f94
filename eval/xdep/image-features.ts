/**
 * Image vectors for the style-robustness experiments of issue 12 (models/xdep/): every image of
 * the cross-depiction training pool (`train-pairs.jsonl`) and of the held-out sources' KBs and
 * image-only queries, through the serving image encoder exactly as DENSE_IMAGE sees them (decoded
 * by the service's decoder, alpha flattened on white), and the same image mirrored (for the
 * flip test-time augmentation option).
 *
 *   npx tsx eval/xdep/image-features.ts --xdep var/xdep --out var/xdep/features
 *
 * Writes `<out>/index.json` (per row: set, concept or entity, style, path, role) and
 * `<out>/vectors.f32` (rows x 2 x dimension float32: plain, then mirrored; L2-normalised).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/config.js';
import { decodeRgb, type DecodedImage } from '../../src/images/image-decoding.js';
import { ImageEncoder } from '../../src/inference/vision/image-encoder.js';
import { mirrorRgb, type PixelSpec } from '../../src/inference/vision/image-preprocess.js';
import { createOnnxRuntime } from '../../src/inference/runtime/onnx-runtime.js';
import { createLogger } from '../../src/logger.js';
import { readManifest } from '../../src/models/bundle.js';
import { PROJECT_ROOT } from '../../src/paths.js';

interface Row {
  readonly set: string;
  /** Pool: the concept; held-out: the entity id (KB image or gold of an image-only query). */
  readonly label: string;
  readonly style: string;
  readonly role: 'pool' | 'kb' | 'query';
  readonly path: string;
}

const { values } = parseArgs({
  options: {
    xdep: { type: 'string', default: path.join(PROJECT_ROOT, 'var/xdep') },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'var/xdep/features') },
    root: { type: 'string', default: PROJECT_ROOT },
    bundle: { type: 'string', default: path.join(PROJECT_ROOT, 'var/models/polylink-default') },
  },
});
const root = path.resolve(values.root);
const xdep = path.resolve(values.xdep);

async function readJsonl<T>(file: string): Promise<T[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

const rows: Row[] = [];
for (const row of await readJsonl<{ concept: string; style: string; path: string }>(
  path.join(xdep, 'train-pairs.jsonl'),
)) {
  rows.push({ set: 'pool', label: row.concept, style: row.style, role: 'pool', path: row.path });
}
for (const source of ['wesnoth', 'cards']) {
  const kb = await readJsonl<{ id: string; images: { path: string; style?: string }[] }>(
    path.join(xdep, source, 'kb.jsonl'),
  );
  for (const entity of kb) {
    for (const image of entity.images) {
      rows.push({
        set: source,
        label: entity.id,
        style: image.style ?? 'kb',
        role: 'kb',
        path: image.path,
      });
    }
  }
  const queries = await readJsonl<{
    kind: string;
    image: string;
    regions: { gold: string | null }[];
    provenance?: { style?: string }[];
  }>(path.join(xdep, source, 'queries.jsonl'));
  for (const query of queries) {
    const gold = query.regions[0]?.gold;
    if (query.kind !== 'image-only' || !gold) continue;
    const style = query.provenance?.[0]?.style ?? 'query';
    rows.push({ set: source, label: gold, style, role: 'query', path: query.image });
  }
}

const manifest = await readManifest(path.resolve(values.bundle));
const component = manifest.components.image;
const modelFile = component?.files['model.onnx'];
if (!component || !modelFile) throw new Error('The bundle has no image model');
const runtime = createOnnxRuntime({
  executionProvider: 'cpu',
  intraOpThreads: 0,
  interOpThreads: 1,
  logger: createLogger('warn'),
});
const encoder = new ImageEncoder({
  session: await runtime.load('image', path.join(path.resolve(values.bundle), modelFile.path)),
  pixels: component.config.pixels as PixelSpec,
});
const limits = parseConfig({}).images;

const dimension = Number(component.config.dimension);
const kept: Row[] = [];
const vectors: Float32Array[] = [];
const started = performance.now();
for (const [index, row] of rows.entries()) {
  let image: DecodedImage;
  try {
    image = await decodeRgb(await readFile(path.resolve(root, row.path)), limits);
  } catch (error) {
    console.warn(`skipped ${row.path}: ${error instanceof Error ? error.message : String(error)}`);
    continue;
  }
  const [plain, flipped] = await encoder.embedBatch([image, mirrorRgb(image)]);
  kept.push(row);
  vectors.push(plain!, flipped!);
  if ((index + 1) % 500 === 0) {
    console.log(
      `${index + 1}/${rows.length} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
}
const out = path.resolve(values.out);
await mkdir(out, { recursive: true });
const matrix = new Float32Array(vectors.length * dimension);
vectors.forEach((vector, i) => matrix.set(vector, i * dimension));
await writeFile(path.join(out, 'vectors.f32'), Buffer.from(matrix.buffer));
await writeFile(
  path.join(out, 'index.json'),
  JSON.stringify({ dimension, views: ['plain', 'mirrored'], bundle: manifest.id, rows: kept }),
);
console.log(`${kept.length} images, ${vectors.length} vectors -> ${out}`);
