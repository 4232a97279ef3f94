import type { PixelBox } from '../../geometry/box.js';
import sharp from 'sharp';
import type { DecodedImage } from '../../images/image-decoding.js';

/** How a model wants its pixels; read from the bundle manifest. */
export interface PixelSpec {
  readonly width: number;
  readonly height: number;
  /**
   * `stretch` ignores aspect ratio; `letterbox` keeps it and pads with `padValue`; `cover` keeps it,
   * fills the target and crops the centre (CLIP's resize-shorter-side-then-centre-crop).
   */
  readonly resize: 'stretch' | 'letterbox' | 'cover';
  readonly layout: 'nchw' | 'nhwc';
  /** Per-channel mean and std applied to 0–255 values: (v - mean) / std. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly padValue?: number;
}

/** Where the model's input came from in the original image, to map boxes back. */
export interface ImageTransform {
  readonly originalWidth: number;
  readonly originalHeight: number;
  readonly scale: number;
  readonly offsetX: number;
  readonly offsetY: number;
}

export interface PreparedPixels {
  readonly data: Float32Array;
  readonly dims: readonly [number, number, number, number];
  readonly transform: ImageTransform;
}

// Decoding encoded bytes is image-decoding.ts's job (limits, timeout); this module works on pixels.
export type { DecodedImage } from '../../images/image-decoding.js';

/** The image mirrored left to right (test-time flip of the style-robust vectors). Pure. */
export function mirrorRgb(image: DecodedImage): DecodedImage {
  const { width, height } = image;
  const data = new Uint8Array(image.rgb.length);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    for (let x = 0; x < width; x += 1) {
      const from = (row + x) * 3;
      const to = (row + width - 1 - x) * 3;
      data[to] = image.rgb[from]!;
      data[to + 1] = image.rgb[from + 1]!;
      data[to + 2] = image.rgb[from + 2]!;
    }
  }
  return { ...image, rgb: data };
}

/** Crops a decoded image (pixel box, clamped to the image) without re-decoding. */
export async function cropRgb(image: DecodedImage, box: PixelBox): Promise<DecodedImage> {
  const left = Math.max(0, Math.min(image.width - 1, Math.floor(box.x)));
  const top = Math.max(0, Math.min(image.height - 1, Math.floor(box.y)));
  const width = Math.max(1, Math.min(image.width - left, Math.round(box.width)));
  const height = Math.max(1, Math.min(image.height - top, Math.round(box.height)));
  const { data, info } = await sharp(image.rgb, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .extract({ left, top, width, height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

/** Where the resized image sits in the model input: a uniform scale and an offset (negative: cropped). */
function placement(image: DecodedImage, spec: PixelSpec) {
  if (spec.resize === 'stretch') {
    return {
      width: spec.width,
      height: spec.height,
      offsetX: 0,
      offsetY: 0,
      scale: spec.width / image.width,
    };
  }
  const scale =
    spec.resize === 'letterbox'
      ? Math.min(spec.width / image.width, spec.height / image.height)
      : Math.max(spec.width / image.width, spec.height / image.height);
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  return {
    width,
    height,
    offsetX: Math.floor((spec.width - width) / 2),
    offsetY: Math.floor((spec.height - height) / 2),
    scale,
  };
}

/** Resizes (stretch, letterbox or cover) and normalises into the float tensor a vision model takes. */
export async function toModelInput(image: DecodedImage, spec: PixelSpec): Promise<PreparedPixels> {
  const place = placement(image, spec);
  const pad = spec.padValue ?? 0;
  let pipeline = sharp(image.rgb, {
    raw: { width: image.width, height: image.height, channels: 3 },
  }).resize(place.width, place.height, { fit: 'fill', kernel: 'lanczos3' });
  pipeline =
    spec.resize === 'cover'
      ? pipeline.extract({
          left: -place.offsetX,
          top: -place.offsetY,
          width: spec.width,
          height: spec.height,
        })
      : pipeline.extend({
          top: place.offsetY,
          bottom: spec.height - place.height - place.offsetY,
          left: place.offsetX,
          right: spec.width - place.width - place.offsetX,
          background: { r: pad, g: pad, b: pad },
        });
  const { data } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return {
    data: normalizePixels(data, spec),
    dims:
      spec.layout === 'nchw' ? [1, 3, spec.height, spec.width] : [1, spec.height, spec.width, 3],
    transform: {
      originalWidth: image.width,
      originalHeight: image.height,
      scale: place.scale,
      offsetX: place.offsetX,
      offsetY: place.offsetY,
    },
  };
}

/** Interleaved RGB bytes to a normalised float tensor in the requested layout. Pure. */
export function normalizePixels(
  rgb: Uint8Array,
  spec: Pick<PixelSpec, 'width' | 'height' | 'layout' | 'mean' | 'std'>,
): Float32Array {
  const plane = spec.width * spec.height;
  if (rgb.length !== plane * 3)
    throw new Error(`Expected ${plane * 3} bytes of RGB, got ${rgb.length}`);
  const out = new Float32Array(plane * 3);
  // The per-channel constants and the layout are hoisted out of the loop (a request normalises
  // over a million pixels: detector, face, OCR, whole image and crops); the arithmetic is the
  // same `(v - mean) / std`, so the tensors are bit for bit those of the plain loop.
  const [mean0, mean1, mean2] = spec.mean;
  const [std0, std1, std2] = spec.std;
  if (spec.layout === 'nchw') {
    for (let pixel = 0, at = 0; pixel < plane; pixel += 1, at += 3) {
      out[pixel] = (rgb[at]! - mean0) / std0;
      out[plane + pixel] = (rgb[at + 1]! - mean1) / std1;
      out[2 * plane + pixel] = (rgb[at + 2]! - mean2) / std2;
    }
  } else {
    for (let at = 0; at < 3 * plane; at += 3) {
      out[at] = (rgb[at]! - mean0) / std0;
      out[at + 1] = (rgb[at + 1]! - mean1) / std1;
      out[at + 2] = (rgb[at + 2]! - mean2) / std2;
    }
  }
  return out;
}

/** Maps a box from model-input pixels back to original-image pixels (undoes resize and padding). */
export function boxToOriginal(
  box: PixelBox,
  transform: ImageTransform,
  spec: Pick<PixelSpec, 'resize' | 'width' | 'height'>,
): PixelBox {
  const scaleX = spec.resize === 'stretch' ? spec.width / transform.originalWidth : transform.scale;
  const scaleY =
    spec.resize === 'stretch' ? spec.height / transform.originalHeight : transform.scale;
  const x = (box.x - transform.offsetX) / scaleX;
  const y = (box.y - transform.offsetY) / scaleY;
  const right = Math.min(transform.originalWidth, (box.x + box.width - transform.offsetX) / scaleX);
  const bottom = Math.min(
    transform.originalHeight,
    (box.y + box.height - transform.offsetY) / scaleY,
  );
  const left = Math.max(0, x);
  const top = Math.max(0, y);
  return { x: left, y: top, width: Math.max(0, right - left), height: Math.max(0, bottom - top) };
}
