import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { decodeRgb } from '../helpers/decode.js';
import { createModelRegistry, type ModelRegistry } from '../../src/inference/model-registry.js';
import { imageVectorEncoderFactory } from '../../src/inference/vision/image-vector-encoder.js';
import { mirrorRgb } from '../../src/inference/vision/image-preprocess.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';

/** The assembled default bundle (scripts/setup.sh builds it), loaded the way the service loads it. */
let registry: ModelRegistry;

beforeAll(async () => {
  const config = parseConfig({}, PROJECT_ROOT);
  registry = await createModelRegistry(config.models, createLogger('silent'), {
    imageEncoder: imageVectorEncoderFactory(config.images),
  });
});

afterAll(async () => {
  await registry?.close();
});

const fixture = (file: string) => readFile(path.join(PROJECT_ROOT, 'test/fixtures/images', file));

describe('model registry over the default bundle', () => {
  it('exposes text and image vector encoders with the manifest dimensions and fingerprints', async () => {
    const { text, image } = registry.encoders;
    expect(registry.manifest.id).toBe('polylink-default@1.3.0');
    expect(text?.dimension).toBe(384);
    expect(text?.fingerprint).toMatch(/^text:[0-9a-f]{16}$/);
    expect(image?.dimension).toBe(1280);
    const vector = await image!.encodeImage(await fixture('darknet-dog.jpg'), {
      x: 120,
      y: 200,
      width: 220,
      height: 340,
    });
    expect(vector).toHaveLength(1280);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
    const query = await text!.encodeQuery('a dog on a porch');
    expect(Math.hypot(...query)).toBeCloseTo(1, 4);
  });

  it('embeds a query image’s crops in one run exactly as encodeImage embeds each box', async () => {
    const image = registry.encoders.image!;
    const bytes = await fixture('darknet-dog.jpg');
    const boxes = [
      { x: 120, y: 200, width: 220, height: 340 },
      { x: 0, y: 0, width: 300, height: 150 },
      { x: 400, y: 50, width: 200, height: 250 },
    ];
    const crops = await image.decoded!.embedCrops(await decodeRgb(bytes), boxes);
    expect(crops).toHaveLength(3);
    for (const [index, box] of boxes.entries()) {
      const alone = await image.encodeImage(bytes, box);
      let largest = 0;
      alone.forEach((value, i) => {
        largest = Math.max(largest, Math.abs(value - crops[index]![i]!));
      });
      expect(largest).toBeLessThan(1e-6);
    }
  });

  it('gives each picture a style-robust vector from its plain and mirrored views, crops included', async () => {
    const image = registry.encoders.image!;
    const { imageRobust } = registry.manifest.components;
    expect(image.robustDimension).toBe(256);
    // One fingerprint names both vectors, so a new head makes stored images stale.
    expect(image.fingerprint).toBe(
      `${registry.manifest.components.image!.fingerprint}+${imageRobust!.fingerprint}`,
    );
    const bytes = await fixture('darknet-dog.jpg');
    const box = { x: 120, y: 200, width: 220, height: 340 };
    const vectors = await image.encodeImageVectors(bytes, box);
    expect(Array.from(vectors.embedding)).toEqual(Array.from(await image.encodeImage(bytes, box)));
    expect(vectors.robust).toHaveLength(256);
    expect(Math.hypot(...vectors.robust!)).toBeCloseTo(1, 4);
    const decoded = await decodeRgb(bytes);
    const cropped = await image.decoded!.embedCropsWithRobust(decoded, [box], [0]);
    expect(cropped.embeddings).toEqual(await image.decoded!.embedCrops(decoded, [box]));
    const [robustCrop] = cropped.robust;
    // A box not asked for (in a given pair) gets no robust vector and no mirrored view.
    const some = await image.decoded!.embedCropsWithRobust(decoded, [box, box], [1]);
    expect(some.robust[0]).toBeNull();
    expect(some.robust[1]).toEqual(robustCrop);
    let largest = 0;
    robustCrop!.forEach((value, i) => {
      largest = Math.max(largest, Math.abs(value - vectors.robust![i]!));
    });
    expect(largest).toBeLessThan(1e-5);
    // The mirrored view counts: the robust vector of the mirrored picture is the same one.
    const whole = await image.encodeImageVectors(bytes);
    const {
      robust: [mirroredRobust],
    } = await image.decoded!.embedCropsWithRobust(
      mirrorRgb(decoded),
      [{ x: 0, y: 0, width: decoded.width, height: decoded.height }],
      [0],
    );
    let cosine = 0;
    whole.robust!.forEach((value, i) => (cosine += value * mirroredRobust![i]!));
    expect(cosine).toBeGreaterThan(0.999);
  });

  it('loads the detector, faces and OCR once, on first use, and they read real images', async () => {
    const first = registry.vision();
    expect(registry.vision()).toBe(first);
    const { detector, faces, ocr } = await first;
    const dog = await decodeRgb(await fixture('darknet-dog.jpg'));
    expect((await detector!.detect(dog)).map((d) => d.label)).toContain('dog');
    const hopper = await decodeRgb(await fixture('grace-hopper.jpg'));
    expect(await faces!.analyze(hopper)).toHaveLength(1);
    const intro = await decodeRgb(await fixture('ocr/freeciv-intro.png'));
    expect((await ocr!.read(intro)).map((line) => line.text)).toContain('FREECIV');
  });
});
