import sharp, { type Metadata, type Sharp } from 'sharp';
import { ErrorCode, ImageError } from '../errors.js';

/** What the service accepts, by the format name sharp reports, with the MIME type it is served as. */
export const SUPPORTED_IMAGE_FORMATS = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
} as const;
export type ImageFormat = keyof typeof SUPPORTED_IMAGE_FORMATS;

export interface ImageLimits {
  readonly maxBytes: number;
  /** Decoded pixels, every frame of an animated or multi-page image counted. */
  readonly maxPixels: number;
  /** Longest side; libvips cannot address more than 10,000,000 and would call the file corrupt. */
  readonly maxSide: number;
  /** `refuse`: SVG is UNSUPPORTED_IMAGE_FORMAT (rendering it runs filters an attacker writes). */
  readonly svg: 'rasterize' | 'refuse';
  /** Declared size of an SVG: rendering cost grows faster than its pixels (see inspectImage). */
  readonly maxSvgPixels: number;
  /** Wall-clock bound of one full decode (sharp counts whole seconds: rounded up). */
  readonly decodeTimeoutMs: number;
}

/** Interleaved 8-bit RGB, upright (EXIF orientation applied), in sRGB. */
export interface DecodedImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface InspectedImage {
  readonly format: ImageFormat;
  readonly mime: string;
  readonly width: number;
  readonly height: number;
}

function isSupportedFormat(format: string | undefined): format is ImageFormat {
  return format !== undefined && Object.hasOwn(SUPPORTED_IMAGE_FORMATS, format);
}

/** sharp names every HEIF container `heif`; only its AV1 flavour (AVIF) is accepted, not HEVC. */
function formatName(metadata: Metadata): string | undefined {
  return metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : metadata.format;
}

/** Names clients use for a supported format besides its registered MIME type. */
const MIME_ALIASES: Readonly<Record<string, ImageFormat>> = {
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
  'image/x-png': 'png',
  'image/svg': 'svg',
  'image/x-tiff': 'tiff',
};

function formatOfMime(mime: string): ImageFormat | undefined {
  const found = Object.entries(SUPPORTED_IMAGE_FORMATS).find(([, served]) => served === mime);
  return (found?.[0] as ImageFormat | undefined) ?? MIME_ALIASES[mime];
}

/**
 * Refuses bytes whose declared image type (a data URL's or an upload's) names another format than
 * the bytes are: a client that says PNG and sends an SVG gets INVALID_IMAGE, not a stored SVG. No
 * type, `application/octet-stream` or any non-image type is accepted: the sniffed format is what
 * is stored and served either way. Bytes that are no supported image are left to inspectImage.
 */
export async function checkDeclaredType(
  bytes: Uint8Array,
  declaredType: string | null,
): Promise<void> {
  const declared = declaredType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!declared.startsWith('image/')) return;
  let detected: string | undefined;
  try {
    // sharp throws at construction (empty input), not only from metadata().
    detected = formatName(await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch {
    return;
  }
  if (!isSupportedFormat(detected) || formatOfMime(declared) === detected) return;
  throw new ImageError(
    `The image is declared ${declared} but the bytes are ${detected}`,
    ErrorCode.InvalidImage,
    { declaredType: declared, detectedFormat: detected },
  );
}

/** What the header says, checked against every limit before a pixel is decoded. */
async function checkHeader(bytes: Uint8Array, limits: ImageLimits): Promise<InspectedImage> {
  if (bytes.byteLength === 0) throw new ImageError('The image is empty', ErrorCode.InvalidImage);
  if (bytes.byteLength > limits.maxBytes) {
    throw new ImageError(
      `The image is ${bytes.byteLength} bytes; the limit is ${limits.maxBytes}`,
      ErrorCode.ImageTooLarge,
      { limitBytes: limits.maxBytes },
    );
  }
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageError(
      'The data is not an image in a format the service can read',
      ErrorCode.InvalidImage,
    );
  }
  const format = formatName(metadata);
  if (!isSupportedFormat(format)) {
    throw new ImageError(
      `Image format "${format ?? 'unknown'}" is not supported; use one of ${Object.keys(SUPPORTED_IMAGE_FORMATS).join(', ')}`,
      ErrorCode.UnsupportedImageFormat,
      { format: format ?? null },
    );
  }
  if (format === 'svg' && limits.svg === 'refuse') {
    throw new ImageError(
      'SVG images are refused by this service (POLYLINK_SVG=refuse); send a raster format',
      ErrorCode.UnsupportedImageFormat,
      { format },
    );
  }
  // Without `pages`, sharp reports the size of one frame and how many frames there are.
  const { width, height } = metadata;
  if (!width || !height) {
    throw new ImageError('The image has no pixels', ErrorCode.InvalidImage);
  }
  const side = Math.max(width, height);
  if (side > limits.maxSide) {
    throw new ImageError(
      width >= height
        ? `The image is ${width} pixels wide; the longest side allowed is ${limits.maxSide}`
        : `The image is ${height} pixels high; the longest side allowed is ${limits.maxSide}`,
      ErrorCode.ImageTooLarge,
      { limitSide: limits.maxSide },
    );
  }
  // An SVG's cost is its filters, not its pixels: a 195-byte 7000x7000 one with a Gaussian blur
  // took ~170 s of both cores and 1.5 GB to rasterise. librsvg renders filters per strip, so time
  // grows faster than the area; measured on the 2-core dev machine (full decode as the encoders do
  // it): one blur at 2000x2000 0.3-0.8 s, 4000x1000 0.5 s, 1000x4000 0.6 s, five chained blurs at
  // 2000x2000 1.0 s; at 4000x4000 one blur took 6.9 s. The 4 MP default keeps one filter within
  // about a second; more filters are bounded by decodeTimeoutMs.
  if (format === 'svg' && width * height > limits.maxSvgPixels) {
    throw new ImageError(
      `The SVG image is ${width}x${height} pixels; the limit for SVG is ${limits.maxSvgPixels} pixels`,
      ErrorCode.ImageTooLarge,
      { limitPixels: limits.maxSvgPixels },
    );
  }
  const frames = metadata.pages ?? 1;
  const pixels = width * height * frames;
  if (pixels > limits.maxPixels) {
    throw new ImageError(
      frames > 1
        ? `The image has ${frames} frames of ${width}x${height} pixels (${pixels} in all); the limit is ${limits.maxPixels} pixels`
        : `The image is ${width}x${height} pixels; the limit is ${limits.maxPixels} pixels`,
      ErrorCode.ImageTooLarge,
      { limitPixels: limits.maxPixels },
    );
  }
  return { format, mime: SUPPORTED_IMAGE_FORMATS[format], width, height };
}

/** A sharp pipeline over untrusted bytes: failing on corrupt data, bounded in pixels and time. */
function decoder(bytes: Uint8Array, limits: ImageLimits): Sharp {
  return sharp(bytes, {
    failOn: 'error',
    limitInputPixels: limits.maxPixels,
    animated: false,
  }).timeout({ seconds: Math.max(1, Math.ceil(limits.decodeTimeoutMs / 1000)) });
}

/** sharp's timeout error ("timeout: 4% complete") as a documented error; anything else is corrupt data. */
function decodeError(error: unknown, limits: ImageLimits): ImageError {
  const reason = error instanceof Error ? error.message.split('\n')[0] : 'decode failed';
  if (reason?.startsWith('timeout')) {
    return new ImageError(
      `Decoding the image took longer than the ${limits.decodeTimeoutMs} ms allowed (${reason})`,
      ErrorCode.ImageTooLarge,
      { limitDecodeMs: limits.decodeTimeoutMs },
    );
  }
  return new ImageError(`The image is corrupt or truncated: ${reason}`, ErrorCode.InvalidImage);
}

/**
 * Decodes every pixel of an image before anything is stored: reading the header alone
 * would accept truncated files. Throws ImageError with a documented code.
 */
export async function inspectImage(
  bytes: Uint8Array,
  limits: ImageLimits,
): Promise<InspectedImage> {
  const inspected = await checkHeader(bytes, limits);
  try {
    // failOn 'error' rejects truncated and corrupt pixel data. A shrink to 8 pixels without
    // shrink-on-load decodes every pixel while streaming, with a tiny output: 2 ms for a 640x320
    // JPEG where stats() (which also computes entropy and sharpness) took 15. (An SVG is rendered
    // at the small size here; the encoders' decodeRgb renders it in full.)
    await decoder(bytes, limits).resize({ width: 8, fastShrinkOnLoad: false }).raw().toBuffer();
  } catch (error) {
    throw decodeError(error, limits);
  }
  return inspected;
}

/**
 * Decodes any supported image (its first frame) to upright sRGB RGB bytes, flattening alpha onto
 * white, under the same limits as inspectImage: the encoders also see stored images, which may
 * predate the current limits.
 */
export async function decodeRgb(bytes: Uint8Array, limits: ImageLimits): Promise<DecodedImage> {
  await checkHeader(bytes, limits);
  try {
    const { data, info } = await decoder(bytes, limits)
      .rotate() // EXIF orientation: a phone photo must not reach a model sideways
      .toColourspace('srgb')
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    throw decodeError(error, limits);
  }
}

/** Width and height from the header alone, for bytes `inspectImage` has already accepted. */
export async function imageDimensions(
  bytes: Uint8Array,
): Promise<{ readonly width: number; readonly height: number }> {
  const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
  return { width, height };
}
