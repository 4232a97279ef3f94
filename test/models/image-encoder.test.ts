import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  EFFICIENTNET_LITE0_PIXELS,
  ImageEncoder,
  loadClassList,
} from '../../src/inference/vision/image-encoder.js';
import {
  cropRgb,
  toModelInput,
  type DecodedImage,
} from '../../src/inference/vision/image-preprocess.js';
import { decodeRgb } from '../helpers/decode.js';
import {
  createOnnxRuntime,
  type ModelSession,
  type OnnxRuntime,
} from '../../src/inference/runtime/onnx-runtime.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const MODEL_DIR = path.join(PROJECT_ROOT, 'models/converted/efficientnet-lite0');

/** Written by `models/convert/export_efficientnet.py reference` from the TS-preprocessed tensor. */
interface Reference {
  readonly image: string;
  readonly input: { readonly dims: number[]; readonly first8: number[]; readonly mean: number };
  readonly pooledFirst8: number[];
  readonly pooledNorm: number;
  readonly top5: number[];
  readonly top5Logits: number[];
}
const reference = JSON.parse(
  readFileSync(
    path.join(PROJECT_ROOT, 'test/fixtures/models/efficientnet-lite0-reference.json'),
    'utf8',
  ),
) as Reference;

// ONNX Runtime vs PyTorch on the same tensor differ by ~1e-5 (see SOURCE.md); 1e-3 leaves room
// for other CPUs' kernels without hiding a preprocessing change (a resize by PIL instead of
// sharp moves pooled values by up to 7e-2).
const TOLERANCE = 1e-3;
// ILSVRC-2012 classes 151..268 (sorted WordNet ids) are the dog breeds.
const DOG_CLASSES = { first: 151, last: 268 };
// The dog in darknet's dog.jpg (768x576), in original pixels.
const DOG_BOX = { x: 128, y: 220, width: 184, height: 320 };
const FLAGS = ['aland', 'central_america', 'ddr', 'hre', 'rome', 'usa'];

async function image(relative: string): Promise<DecodedImage> {
  return decodeRgb(await readFile(path.join(PROJECT_ROOT, relative)));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

describe('ImageEncoder over EfficientNet-Lite0 (models/converted/efficientnet-lite0)', () => {
  let runtime: OnnxRuntime;
  let session: ModelSession;
  let encoder: ImageEncoder;
  let dog: DecodedImage;
  let distractors: Map<string, DecodedImage>;

  beforeAll(async () => {
    runtime = createOnnxRuntime({
      executionProvider: 'cpu',
      intraOpThreads: 2,
      interOpThreads: 1,
      logger: createLogger('silent'),
    });
    session = await runtime.load('image', path.join(MODEL_DIR, 'model.onnx'));
    const classes = await loadClassList(path.join(MODEL_DIR, 'imagenet-classes.txt'));
    encoder = new ImageEncoder({ session, classes });
    dog = await image(reference.image);
    distractors = new Map([
      ['eagle', await image('test/fixtures/images/darknet-eagle-384.jpg')],
      ['giraffe', await image('test/fixtures/images/darknet-giraffe-384.jpg')],
    ]);
    for (const flag of FLAGS) {
      distractors.set(flag, await image(`test/fixtures/freeciv/flags/${flag}-large.png`));
    }
  });

  afterAll(async () => {
    await runtime.close();
  });

  it('declares the exported signature', () => {
    expect(session.inputNames).toEqual(['pixels']);
    expect([...session.outputNames].sort()).toEqual(['feature_map', 'logits', 'pooled']);
    expect(encoder.classes).toHaveLength(1000);
    expect(encoder.classes?.[0]).toEqual({ id: 'n01440764', name: 'tench' });
  });

  it('reproduces the PyTorch reference values from the same preprocessed tensor', async () => {
    const prepared = await toModelInput(dog, EFFICIENTNET_LITE0_PIXELS);
    expect([...prepared.dims]).toEqual(reference.input.dims);
    // The tensor PyTorch was given is the one sharp makes here (else the reference is stale).
    reference.input.first8.forEach((value, i) => expect(prepared.data[i]).toBeCloseTo(value, 5));
    const mean = prepared.data.reduce((sum, value) => sum + value, 0) / prepared.data.length;
    expect(mean).toBeCloseTo(reference.input.mean, 5);

    const out = await session.run({
      pixels: { type: 'float32', data: prepared.data, dims: prepared.dims },
    });
    const pooled = out.pooled!.data as Float32Array;
    const logits = out.logits!.data as Float32Array;
    expect(out.pooled!.dims).toEqual([1, 1280]);
    expect(out.feature_map!.dims).toEqual([1, 1280, 7, 7]);
    expect(out.logits!.dims).toEqual([1, 1000]);
    reference.pooledFirst8.forEach((value, i) =>
      expect(Math.abs(pooled[i]! - value)).toBeLessThan(TOLERANCE),
    );
    const norm = Math.hypot(...pooled);
    expect(Math.abs(norm - reference.pooledNorm)).toBeLessThan(TOLERANCE * 10);
    const top5 = Array.from(logits.keys())
      .sort((a, b) => logits[b]! - logits[a]!)
      .slice(0, 5);
    expect(top5).toEqual(reference.top5);
    reference.top5Logits.forEach((value, i) =>
      expect(Math.abs(logits[reference.top5[i]!]! - value)).toBeLessThan(TOLERANCE),
    );

    // embed() is the same pooled vector, L2-normalised.
    const embedding = await encoder.embed(dog);
    expect(Math.hypot(...embedding)).toBeCloseTo(1, 5);
    pooled.forEach((value, i) => expect(embedding[i]).toBeCloseTo(value / norm, 5));
  });

  it('classifies the dog photo as a dog breed', async () => {
    const top5 = await encoder.classify(dog, 5);
    console.info(
      'darknet dog.jpg top-5:',
      top5.map((c) => `${c.name} ${(c.probability * 100).toFixed(1)}%`).join(', '),
    );
    expect(top5).toHaveLength(5);
    expect(top5.map((c) => c.index)).toEqual(reference.top5);
    expect(top5.some((c) => c.index >= DOG_CLASSES.first && c.index <= DOG_CLASSES.last)).toBe(
      true,
    );
    expect(top5[0]!.probability).toBeGreaterThan(top5[4]!.probability);
    const eagle = await encoder.classify(distractors.get('eagle')!, 5);
    expect(eagle.map((c) => c.name)).toContain('bald eagle');
  });

  it('returns the feature map whose whole-image region is the pooled embedding', async () => {
    const map = await encoder.featureMap(dog);
    expect([map.channels, map.height, map.width]).toEqual([1280, 7, 7]);
    expect(map.data).toHaveLength(1280 * 49);
    expect(map.transform).toMatchObject({ originalWidth: 768, originalHeight: 576 });
    const [whole] = await encoder.regionFeatures(dog, [{ x: 0, y: 0, width: 768, height: 576 }]);
    const embedding = await encoder.embed(dog);
    expect(cosine(whole!, embedding)).toBeCloseTo(1, 5);
  });

  it('pools a box into features closer to its own image than to distractor images', async () => {
    const embedding = await encoder.embed(dog);
    const crop = await encoder.embed(await cropRgb(dog, DOG_BOX));
    const [region] = await encoder.regionFeatures(dog, [DOG_BOX]);
    const others = await encoder.embedBatch([...distractors.values()]);
    const names = [...distractors.keys()];
    const toImage = cosine(region!, embedding);
    const toCrop = cosine(region!, crop);
    const toOthers = others.map((other) => cosine(region!, other));
    console.info(
      `dog-box region: cos to dog image ${toImage.toFixed(3)}, to dog crop ${toCrop.toFixed(3)}, ` +
        names.map((name, i) => `${name} ${toOthers[i]!.toFixed(3)}`).join(', '),
    );
    for (const other of toOthers) {
      expect(toImage).toBeGreaterThan(other);
      expect(toCrop).toBeGreaterThan(other);
    }
    // The box is where the dog is: the dog's region matches the dog crop better than the
    // region of the porch floor to its right does.
    const [floor] = await encoder.regionFeatures(dog, [
      { x: 400, y: 440, width: 300, height: 130 },
    ]);
    expect(toCrop).toBeGreaterThan(cosine(floor!, crop));
  });

  it('runs the model once per image, however many boxes', async () => {
    const run = vi.spyOn(session, 'run');
    try {
      const boxes = [
        DOG_BOX,
        { x: 0, y: 0, width: 768, height: 576 },
        { x: 130, y: 140, width: 440, height: 280 },
        { x: 700, y: 500, width: 10, height: 10 },
        { x: 384, y: 288, width: 0, height: 0 },
      ];
      const regions = await encoder.regionFeatures(dog, boxes);
      expect(regions).toHaveLength(boxes.length);
      expect(run).toHaveBeenCalledTimes(1);
      for (const region of regions) {
        expect(region).toHaveLength(1280);
        expect(Math.hypot(...region)).toBeCloseTo(1, 4);
      }
      run.mockClear();
      expect(await encoder.regionFeatures(dog, [])).toEqual([]);
      expect(run).not.toHaveBeenCalled();

      // A batch is one run too, with a dynamic batch dimension.
      const batch = [dog, distractors.get('eagle')!, distractors.get('usa')!];
      const embeddings = await encoder.embedBatch(batch);
      expect(run).toHaveBeenCalledTimes(1);
      expect(run.mock.calls[0]![0].pixels!.dims).toEqual([3, 3, 224, 224]);
      run.mockRestore();
      for (const [i, item] of batch.entries()) {
        const single = await encoder.embed(item);
        single.forEach((value, j) =>
          expect(Math.abs(embeddings[i]![j]! - value)).toBeLessThan(1e-4),
        );
      }
    } finally {
      run.mockRestore();
    }
  });

  it('embeds an image in well under a second on CPU', async () => {
    await encoder.embed(dog); // warm-up
    const runs = 5;
    const start = performance.now();
    for (let i = 0; i < runs; i += 1) await encoder.embed(dog);
    const perImage = (performance.now() - start) / runs;
    console.info(
      `EfficientNet-Lite0 embed (decode excluded, resize included): ${perImage.toFixed(1)} ms/image`,
    );
    expect(perImage).toBeLessThan(2000);
  });
});
