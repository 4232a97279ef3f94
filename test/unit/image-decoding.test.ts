import { randomBytes } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';
import { describe, it, expect } from 'vitest';
import { GraphQLError } from 'graphql';
import { SUPPORTED_IMAGE_FORMATS, inspectImage } from '../../src/images/image-decoding.js';
import type { ImageLimits } from '../../src/images/image-decoding.js';

const LIMITS: ImageLimits = { maxBytes: 10 * 1024 * 1024, maxPixels: 10_000_000 };

function solid(width: number, height: number): Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 60 } } });
}

/** A PNG of random pixels: it barely compresses, so cutting it loses pixel data, not just trailer chunks. */
function noisePng(size: number): Promise<Buffer> {
  return sharp(randomBytes(size * size * 3), { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
}

// ISO-BMFF boxes, to build a HEIC container header (HEVC-coded HEIF) that sharp can read but not decode.
const u32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
};
const u16 = (value: number) => {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
};
const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, version: number, ...parts: Buffer[]) =>
  box(type, Buffer.from([version, 0, 0, 0]), ...parts);

function heicHeader(width: number, height: number): Buffer {
  const ftyp = box('ftyp', Buffer.from('heic'), u32(0), Buffer.from('mif1heic'));
  const payload = Buffer.alloc(16);
  const mdat = box('mdat', payload);
  // HEVCDecoderConfigurationRecord with no parameter-set arrays.
  const hvcC = box(
    'hvcC',
    Buffer.from([
      1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5d, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0,
      0x0f, 0,
    ]),
  );
  const meta = fullBox(
    'meta',
    0,
    fullBox('hdlr', 0, u32(0), Buffer.from('pict'), Buffer.alloc(12), Buffer.from([0])),
    fullBox('pitm', 0, u16(1)),
    // One item, one extent pointing at the mdat payload (4-byte offsets and lengths).
    fullBox(
      'iloc',
      0,
      Buffer.from([0x44, 0]),
      u16(1),
      u16(1),
      u16(0),
      u16(1),
      u32(ftyp.length + 8),
      u32(payload.length),
    ),
    fullBox(
      'iinf',
      0,
      u16(1),
      fullBox('infe', 2, u16(1), u16(0), Buffer.from('hvc1'), Buffer.from([0])),
    ),
    box(
      'iprp',
      box('ipco', hvcC, fullBox('ispe', 0, u32(width), u32(height))),
      fullBox('ipma', 0, u32(1), u16(1), Buffer.from([2, 0x81, 0x02])),
    ),
  );
  return Buffer.concat([ftyp, mdat, meta]);
}

async function imageErrorOf(promise: Promise<unknown>): Promise<GraphQLError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error('expected inspectImage to reject');
}

describe('inspectImage: accepted formats', () => {
  it.each([
    ['png', (image: Sharp) => image.png()],
    ['jpeg', (image: Sharp) => image.jpeg()],
    ['webp', (image: Sharp) => image.webp()],
    ['gif', (image: Sharp) => image.gif()],
    ['tiff', (image: Sharp) => image.tiff()],
  ] as const)('reads a %s image', async (format, encode) => {
    const bytes = await encode(solid(5, 3)).toBuffer();
    expect(await inspectImage(bytes, LIMITS)).toEqual({
      format,
      mime: SUPPORTED_IMAGE_FORMATS[format],
      width: 5,
      height: 3,
    });
  });

  it('reads an SVG image', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"><rect width="4" height="2"/></svg>',
    );
    expect(await inspectImage(svg, LIMITS)).toEqual({
      format: 'svg',
      mime: 'image/svg+xml',
      width: 4,
      height: 2,
    });
  });

  it('accepts a Uint8Array that is not a Buffer', async () => {
    const bytes = new Uint8Array(await solid(2, 2).png().toBuffer());
    expect((await inspectImage(bytes, LIMITS)).format).toBe('png');
  });

  it('reads an AVIF image as avif', async () => {
    const bytes = await solid(3, 2).avif().toBuffer();
    expect(await inspectImage(bytes, LIMITS)).toEqual({
      format: 'avif',
      mime: 'image/avif',
      width: 3,
      height: 2,
    });
  });
});

describe('inspectImage: invalid images', () => {
  it('refuses empty input', async () => {
    const error = await imageErrorOf(inspectImage(new Uint8Array(0), LIMITS));
    expect(error.extensions.code).toBe('INVALID_IMAGE');
  });

  it('refuses random bytes', async () => {
    const error = await imageErrorOf(inspectImage(randomBytes(512), LIMITS));
    expect(error.extensions.code).toBe('INVALID_IMAGE');
  });

  it('refuses a PNG cut in half, whose header alone still reads', async () => {
    const png = await noisePng(64);
    const half = png.subarray(0, png.length >> 1);
    const metadata = await sharp(half).metadata();
    expect([metadata.format, metadata.width]).toEqual(['png', 64]);
    const error = await imageErrorOf(inspectImage(half, LIMITS));
    expect(error.extensions.code).toBe('INVALID_IMAGE');
    expect(error.message).toMatch(/corrupt or truncated/);
  });

  it('refuses a JPEG cut in half', async () => {
    const jpeg = await sharp(randomBytes(64 * 64 * 3), {
      raw: { width: 64, height: 64, channels: 3 },
    })
      .jpeg()
      .toBuffer();
    const error = await imageErrorOf(inspectImage(jpeg.subarray(0, jpeg.length >> 1), LIMITS));
    expect(error.extensions.code).toBe('INVALID_IMAGE');
  });
});

describe('inspectImage: limits', () => {
  it('refuses bytes over maxBytes with IMAGE_TOO_LARGE, and accepts exactly maxBytes', async () => {
    const png = await noisePng(8);
    const error = await imageErrorOf(inspectImage(png, { ...LIMITS, maxBytes: png.length - 1 }));
    expect(error.extensions).toMatchObject({ code: 'IMAGE_TOO_LARGE', limitBytes: png.length - 1 });
    expect((await inspectImage(png, { ...LIMITS, maxBytes: png.length })).width).toBe(8);
  });

  it('checks maxBytes before looking at the data', async () => {
    const error = await imageErrorOf(inspectImage(randomBytes(100), { ...LIMITS, maxBytes: 99 }));
    expect(error.extensions.code).toBe('IMAGE_TOO_LARGE');
  });

  it('refuses more pixels than maxPixels with IMAGE_TOO_LARGE, and accepts exactly maxPixels', async () => {
    const png = await solid(10, 5).png().toBuffer();
    const error = await imageErrorOf(inspectImage(png, { ...LIMITS, maxPixels: 49 }));
    expect(error.extensions).toMatchObject({ code: 'IMAGE_TOO_LARGE', limitPixels: 49 });
    expect((await inspectImage(png, { ...LIMITS, maxPixels: 50 })).height).toBe(5);
  });
});

describe('inspectImage: unsupported formats', () => {
  it('refuses HEIC (sharp reads its header as "heif") with UNSUPPORTED_IMAGE_FORMAT', async () => {
    const heic = heicHeader(4, 3);
    const metadata = await sharp(heic).metadata();
    expect([metadata.format, metadata.compression, metadata.width]).toEqual(['heif', 'hevc', 4]);
    expect(Object.keys(SUPPORTED_IMAGE_FORMATS)).not.toContain('heif');
    const error = await imageErrorOf(inspectImage(heic, LIMITS));
    expect(error.extensions).toMatchObject({ code: 'UNSUPPORTED_IMAGE_FORMAT', format: 'heif' });
  });
});
