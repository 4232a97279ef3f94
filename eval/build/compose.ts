// eslint-disable-next-line no-restricted-imports -- the offline benchmark builder composes images; it is not service code
import sharp from 'sharp';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { alphaBBox, type Box } from './geometry.js';
import { dHash, type GrayImage } from './phash.js';
import { repoRoot } from './sources.js';

sharp.cache(false);

export interface RgbaImage {
  data: Buffer;
  width: number;
  height: number;
}

const abs = (p: string): string => (path.isAbsolute(p) ? p : path.join(repoRoot, p));

export function sha256Hex(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

export function fileSha256(p: string): string {
  return sha256Hex(readFileSync(abs(p)));
}

/** Render density for an SVG so that its long side comes out near `longSide` pixels. */
async function svgDensity(file: string, longSide: number): Promise<number> {
  const m = await sharp(file).metadata();
  const native = Math.max(m.width ?? 0, m.height ?? 0) || 512;
  return Math.min(2400, Math.max(36, (72 * longSide * 1.25) / native));
}

function open(file: string, density?: number): ReturnType<typeof sharp> {
  return density === undefined ? sharp(file) : sharp(file, { density });
}

/** A picture (file path or encoded bytes) as greyscale pixels, transparency flattened on white. */
export async function grayOf(input: string | Buffer): Promise<GrayImage> {
  const src = typeof input === 'string' ? abs(input) : input;
  const density =
    typeof src === 'string' && src.endsWith('.svg') ? await svgDensity(src, 128) : undefined;
  const img = typeof src === 'string' ? open(src, density) : sharp(src);
  const { data, info } = await img
    .flatten({ background: '#ffffff' })
    .greyscale()
    .resize(128, 128, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(
      data.buffer,
      data.byteOffset,
      info.width * info.height * info.channels,
    ).filter((_, k) => k % info.channels === 0),
  };
}

export async function dHashOf(input: string | Buffer): Promise<string> {
  return dHash(await grayOf(input));
}

/** An RGBA rendition scaled so that its long side is `longSide`, optionally mirrored. */
export async function loadRgba(file: string, longSide: number, flip: boolean): Promise<RgbaImage> {
  const f = abs(file);
  const density = f.endsWith('.svg') ? await svgDensity(f, longSide) : undefined;
  // Trim the transparent margin first so that the size refers to the object itself.
  const trimmed = await open(f, density).ensureAlpha().png().toBuffer();
  const bbox = await sharp(trimmed).raw().toBuffer({ resolveWithObject: true });
  const b = alphaBBox(bbox.data, bbox.info.width, bbox.info.height);
  let img = sharp(trimmed);
  if (b) img = img.extract({ left: b[0], top: b[1], width: b[2], height: b[3] });
  const cut = await img.png().toBuffer();
  let out = sharp(cut).resize(longSide, longSide, { fit: 'inside', kernel: 'lanczos3' });
  if (flip) out = out.flop();
  const { data, info } = await out.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const m = await sharp(abs(file)).metadata();
  return { width: m.width ?? 0, height: m.height ?? 0 };
}

export interface Placed {
  image: RgbaImage;
  left: number;
  top: number;
}

/**
 * Crop the background, scale it to `outW`×`outH`, paste the objects (in order), encode as JPEG at
 * `firstQuality`, then decode and re-encode at quality 85 (the re-encode blurs cut-out edges and
 * gives every scene the same final compression).
 */
export interface SceneSpec {
  background: string;
  crop: Box;
  size: { width: number; height: number };
  objects: readonly Placed[];
  firstQuality: number;
}

export async function composeScene({
  background,
  crop,
  size,
  objects,
  firstQuality,
}: SceneSpec): Promise<Buffer> {
  const base = await sharp(abs(background))
    .extract({ left: crop[0], top: crop[1], width: crop[2], height: crop[3] })
    .resize(size.width, size.height, { fit: 'fill' })
    .removeAlpha()
    .png()
    .toBuffer();
  const first = await sharp(base)
    .composite(
      objects.map((o) => ({
        input: o.image.data,
        raw: { width: o.image.width, height: o.image.height, channels: 4 as const },
        left: o.left,
        top: o.top,
      })),
    )
    .jpeg({ quality: firstQuality })
    .toBuffer();
  return sharp(first).jpeg({ quality: 85 }).toBuffer();
}
