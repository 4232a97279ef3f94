import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  boxToOriginal,
  cropRgb,
  normalizePixels,
  toModelInput,
  type PixelSpec,
} from '../../src/inference/vision/image-preprocess.js';
import { decodeRgb } from '../helpers/decode.js';

/** A w x h RGB image whose pixel (x, y) is (x * 10, y * 10, 200). */
async function gradient(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      raw.set([x * 10, y * 10, 200], (y * width + x) * 3);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

const identity = { mean: [0, 0, 0], std: [1, 1, 1] } as const;

describe('decodeRgb', () => {
  it('applies EXIF orientation so the image is upright', async () => {
    const landscape = await sharp(await gradient(4, 2))
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const decoded = await decodeRgb(landscape);
    expect([decoded.width, decoded.height]).toEqual([2, 4]);
  });

  it('flattens transparency onto white and expands greyscale to RGB', async () => {
    const transparent = await sharp({
      create: { width: 1, height: 1, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    expect(Array.from((await decodeRgb(transparent)).rgb)).toEqual([255, 255, 255]);
    const grey = await sharp({
      create: { width: 2, height: 1, channels: 3, background: '#404040' },
    })
      .greyscale()
      .png()
      .toBuffer();
    const decoded = await decodeRgb(grey);
    expect(decoded.rgb.length).toBe(6);
    expect(Array.from(decoded.rgb.slice(0, 3))).toEqual([64, 64, 64]);
  });
});

describe('cropRgb', () => {
  it('crops in pixels and clamps the box to the image', async () => {
    const image = await decodeRgb(await gradient(6, 4));
    const crop = await cropRgb(image, { x: 2, y: 1, width: 10, height: 2 });
    expect([crop.width, crop.height]).toEqual([4, 2]);
    expect(Array.from(crop.rgb.slice(0, 3))).toEqual([20, 10, 200]);
  });
});

describe('normalizePixels', () => {
  it('writes channel planes for nchw and interleaved values for nhwc', () => {
    const rgb = new Uint8Array([10, 20, 30, 40, 50, 60]);
    const spec = { width: 2, height: 1, mean: [10, 20, 30], std: [2, 2, 2] } as const;
    expect(Array.from(normalizePixels(rgb, { ...spec, layout: 'nchw' }))).toEqual([
      0, 15, 0, 15, 0, 15,
    ]);
    expect(Array.from(normalizePixels(rgb, { ...spec, layout: 'nhwc' }))).toEqual([
      0, 0, 0, 15, 15, 15,
    ]);
  });

  it('gives every byte value bit for bit the float32 of (v - mean) / std, in both layouts', () => {
    // All 256 values in each channel, the channels shifted so that each sees every value.
    const rgb = new Uint8Array(256 * 3);
    for (let v = 0; v < 256; v += 1) rgb.set([v, (v + 85) % 256, (v + 170) % 256], v * 3);
    for (const { mean, std } of [
      { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] }, // ImageNet, in bytes
      { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
      { mean: [0, 0, 0], std: [255, 255, 255] },
    ] as const) {
      const spec = { width: 16, height: 16, mean, std } as const;
      const nchw = normalizePixels(rgb, { ...spec, layout: 'nchw' });
      const nhwc = normalizePixels(rgb, { ...spec, layout: 'nhwc' });
      for (let pixel = 0; pixel < 256; pixel += 1) {
        for (let channel = 0; channel < 3; channel += 1) {
          const expected = Math.fround(
            (rgb[pixel * 3 + channel]! - mean[channel]!) / std[channel]!,
          );
          expect(Object.is(nchw[channel * 256 + pixel], expected)).toBe(true);
          expect(Object.is(nhwc[pixel * 3 + channel], expected)).toBe(true);
        }
      }
    }
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() =>
      normalizePixels(new Uint8Array(5), { width: 2, height: 1, layout: 'nchw', ...identity }),
    ).toThrow(/Expected 6 bytes/);
  });
});

describe('toModelInput', () => {
  const base = { width: 8, height: 8, layout: 'nhwc', ...identity, padValue: 7 } as const;

  it('letterboxes: keeps the aspect ratio and pads evenly', async () => {
    const image = await decodeRgb(await gradient(8, 4));
    const prepared = await toModelInput(image, { ...base, resize: 'letterbox' });
    expect(prepared.dims).toEqual([1, 8, 8, 3]);
    expect(prepared.transform).toMatchObject({ scale: 1, offsetX: 0, offsetY: 2 });
    expect(prepared.data[0]).toBe(7); // the top padding row
  });

  it('covers: fills the target and crops the centre', async () => {
    const image = await decodeRgb(await gradient(16, 8));
    const prepared = await toModelInput(image, { ...base, resize: 'cover' });
    expect(prepared.dims).toEqual([1, 8, 8, 3]);
    expect(prepared.transform).toMatchObject({ scale: 1, offsetX: -4, offsetY: 0 });
  });

  it('stretches to the exact size', async () => {
    const image = await decodeRgb(await gradient(16, 4));
    const prepared = await toModelInput(image, { ...base, resize: 'stretch' });
    expect(prepared.data.length).toBe(8 * 8 * 3);
  });

  it.each(['letterbox', 'cover', 'stretch'] as const)(
    'maps a box back to the original image (%s)',
    async (resize) => {
      const spec: PixelSpec = { ...base, resize };
      const image = await decodeRgb(await gradient(16, 8));
      const { transform } = await toModelInput(image, spec);
      const inModel = { x: 2, y: 2, width: 4, height: 4 };
      const original = boxToOriginal(inModel, transform, spec);
      const expected = {
        letterbox: { x: 4, y: 0, width: 8, height: 8 },
        cover: { x: 6, y: 2, width: 4, height: 4 },
        stretch: { x: 4, y: 2, width: 8, height: 4 },
      }[resize];
      expect(original).toEqual(expected);
    },
  );
});
