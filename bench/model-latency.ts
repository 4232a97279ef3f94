/**
 * Per-component latency of the assembled model bundle on this machine: load time, file size,
 * and p50/p95 of repeated runs after warm-up. Writes bench/results/model-latency.{json,md}.
 *
 *   npx tsx bench/model-latency.ts [--runs 30] [--bundle var/models/polylink-default]
 *
 * A benchmark, not a test: the figures depend on the machine and on what else it is doing.
 */
import { parseConfig } from '../src/config.js';
import { decodeRgb } from '../src/images/image-decoding.js';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FaceAnalyzer } from '../src/inference/vision/face-analyzer.js';
import { ImageEncoder } from '../src/inference/vision/image-encoder.js';
import {
  cropRgb,
  type DecodedImage,
  type PixelSpec,
} from '../src/inference/vision/image-preprocess.js';
import { ObjectDetector } from '../src/inference/vision/object-detector.js';
import { OcrReader } from '../src/inference/vision/ocr.js';
import { createOnnxRuntime, type OnnxRuntime } from '../src/inference/runtime/onnx-runtime.js';
import { createTextEncoder } from '../src/inference/text/text-encoder.js';
import { createLogger } from '../src/logger.js';
import { readManifest, type BundleManifest, type ComponentId } from '../src/models/bundle.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { benchMachine, round, timeRuns } from './report.js';

/** Local files, decoded under the service's default image limits. */
const IMAGE_LIMITS = parseConfig({}).images;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    bundle: { type: 'string', default: path.join(PROJECT_ROOT, 'var/models/polylink-default') },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
const runs = Number(values.runs);
const bundleDir = path.resolve(values.bundle);

interface Measurement {
  readonly component: string;
  readonly what: string;
  readonly modelBytes: number;
  readonly loadMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly runs: number;
}

function file(manifest: BundleManifest, id: ComponentId, name = 'model.onnx'): string {
  const entry = manifest.components[id]?.files[name];
  if (!entry) throw new Error(`The bundle has no ${id}/${name}`);
  return path.join(bundleDir, entry.path);
}

async function bytesOf(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const each of files) total += (await stat(each)).size;
  return total;
}

async function loadTimed<T>(load: () => Promise<T>): Promise<{ value: T; loadMs: number }> {
  const started = performance.now();
  const value = await load();
  return { value, loadMs: round(performance.now() - started) };
}

async function image(relative: string): Promise<DecodedImage> {
  return decodeRgb(await readFile(path.join(PROJECT_ROOT, relative)), IMAGE_LIMITS);
}

async function measureAll(runtime: OnnxRuntime, manifest: BundleManifest): Promise<Measurement[]> {
  const results: Measurement[] = [];
  const record = async (
    [component, what]: readonly [string, string],
    files: readonly string[],
    loadMs: number,
    work: () => Promise<unknown>,
  ) => {
    const { p50, p95 } = await timeRuns(work, runs);
    results.push({
      component,
      what,
      modelBytes: await bytesOf(files),
      loadMs,
      p50Ms: p50,
      p95Ms: p95,
      runs,
    });
    console.log(`${component.padEnd(16)} ${what.padEnd(44)} p50 ${p50} ms, p95 ${p95} ms`);
  };
  const dog = await image('test/fixtures/images/darknet-dog.jpg');
  const text = manifest.components.text;
  if (text) {
    const files = [file(manifest, 'text'), file(manifest, 'text', 'tokenizer.json')];
    const { value: encoder, loadMs } = await loadTimed(() =>
      createTextEncoder(runtime, {
        name: 'text',
        modelFile: files[0]!,
        tokenizerFile: files[1]!,
        maxLength: Number(text.config.maxLength),
        pooling: text.config.pooling as 'cls' | 'mean',
        dimension: Number(text.config.dimension),
        batchSize: Number(text.config.batchSize ?? 1),
        queryPrefix: typeof text.config.queryPrefix === 'string' ? text.config.queryPrefix : '',
      }),
    );
    await record(['text', 'query: a 3-word mention'], files, loadMs, () =>
      encoder.encode(['the Holy Roman Empire'], 'query'),
    );
    const passage =
      'The Vikings raided and traded along the coasts of Europe between 800 CE and 1100 CE. Viking raiders eventually became the rulers of Normandy, Russia, and a short-lived kingdom in Sicily, and their ships reached Iceland, Greenland and North America.';
    await record(['text', 'passage: one 45-word description'], files, loadMs, () =>
      encoder.encode([passage], 'passage'),
    );
  }
  const imageComponent = manifest.components.image;
  if (imageComponent) {
    const files = [file(manifest, 'image')];
    const { value: encoder, loadMs } = await loadTimed(async () => {
      return new ImageEncoder({
        session: await runtime.load('image', files[0]!),
        pixels: imageComponent.config.pixels as PixelSpec,
      });
    });
    await record(['image', 'embed: 768x576 photo, decode excluded'], files, loadMs, () =>
      encoder.embed(dog),
    );
    const boxes = Array.from({ length: 8 }, (_, index) => ({
      x: index * 40,
      y: 50,
      width: 200,
      height: 200,
    }));
    await record(['image', 'region features: 8 boxes, one model run'], files, loadMs, () =>
      encoder.regionFeatures(dog, boxes),
    );
    const crop = await cropRgb(dog, { x: 120, y: 200, width: 220, height: 340 });
    await record(['image', 'embed: a 220x340 crop'], files, loadMs, () => encoder.embed(crop));
  }
  if (manifest.components.detector) {
    const files = [file(manifest, 'detector')];
    const { value: detector, loadMs } = await loadTimed(
      async () => new ObjectDetector(await runtime.load('detector', files[0]!)),
    );
    await record(['detector', 'detect: 768x576 photo (512 input)'], files, loadMs, () =>
      detector.detect(dog),
    );
  }
  if (manifest.components.faceDetector && manifest.components.faceDescriptor) {
    const files = [file(manifest, 'faceDetector'), file(manifest, 'faceDescriptor')];
    const { value: faces, loadMs } = await loadTimed(
      async () =>
        new FaceAnalyzer({
          detector: await runtime.load('faceDetector', files[0]!),
          descriptor: await runtime.load('faceDescriptor', files[1]!),
        }),
    );
    const portrait = await image('test/fixtures/images/grace-hopper.jpg');
    await record(['faces', 'detect + describe: one portrait'], files, loadMs, () =>
      faces.analyze(portrait),
    );
  }
  if (manifest.components.ocrDetector && manifest.components.ocrRecognizer) {
    const files = [
      file(manifest, 'ocrDetector'),
      file(manifest, 'ocrRecognizer'),
      file(manifest, 'ocrRecognizer', 'keys.txt'),
    ];
    const { value: reader, loadMs } = await loadTimed(() =>
      OcrReader.load(runtime, {
        detector: files[0]!,
        recognizer: files[1]!,
        dictionary: files[2]!,
      }),
    );
    const intro = await image('test/fixtures/images/ocr/freeciv-intro.png');
    await record(['ocr', 'read: 510x300 game title (1 line)'], files, loadMs, () =>
      reader.read(intro),
    );
  }
  return results;
}

const logger = createLogger('warn');
const manifest = await readManifest(bundleDir);
const runtime = createOnnxRuntime({
  executionProvider: 'cpu',
  intraOpThreads: 0,
  interOpThreads: 1,
  logger,
});
const results = await measureAll(runtime, manifest);
await runtime.close();

const report = {
  date: new Date().toISOString(),
  bundle: manifest.id,
  provider: runtime.provider,
  machine: benchMachine(),
  results,
};
await mkdir(values.out, { recursive: true });
await writeFile(
  path.join(values.out, 'model-latency.json'),
  `${JSON.stringify(report, null, 2)}\n`,
);
const rows = results.map(
  (r) =>
    `| ${r.component} | ${r.what} | ${(r.modelBytes / 2 ** 20).toFixed(1)} | ${r.loadMs} | ${r.p50Ms} | ${r.p95Ms} |`,
);
await writeFile(
  path.join(values.out, 'model-latency.md'),
  [
    `Measured ${report.date.slice(0, 10)} on ${report.machine.cpuModel} (${report.machine.cores} cores), ${report.machine.os}, Node ${report.machine.node}, ONNX Runtime ${report.provider.toUpperCase()}, bundle ${report.bundle}; ${runs} runs after 3 warm-up runs.`,
    '',
    '| component | what | model MiB | load ms | p50 ms | p95 ms |',
    '| --- | --- | --: | --: | --: | --: |',
    ...rows,
    '',
  ].join('\n'),
);
