/**
 * A 64-bit perceptual hash (dHash, "difference hash") in pure TypeScript, used by the benchmark
 * builder to prove that a query image is not a (near-)copy of a KB image.
 *
 * dHash: shrink the greyscale picture to 9×8 cells (area average), then for each of the 8 rows
 * set one bit per adjacent pair of cells: 1 when the left cell is brighter than the right one.
 * It survives re-encoding, rescaling and small colour shifts, and changes with the layout of
 * the picture (a horizontal flip flips most bits).
 */

/** A greyscale image: one byte (0..255) per pixel, row-major. */
export interface GrayImage {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

export const DHASH_BITS = 64;

/**
 * Hamming distance at or below which two dHashes count as the same picture (a near-duplicate).
 *
 * Why 10 (of 64 bits): on this project's real images (Tux Paint stamps, Twemoji, OpenMoji,
 * Freeciv flags, Endless Sky photos; the re-encoding bound is pinned by
 * test/unit/benchmark-queries.test.ts) a JPEG re-encode at quality 50–95 or a 0.5×–2×
 * rescale of the same picture moves at most 0–6 bits, while two different pictures are
 * usually 20–40 bits apart (random 64-bit hashes are 32 apart on average). 10 leaves margin above
 * the re-encoding noise and stays far below chance agreement, so a rejected query is a real
 * near-copy and an accepted one is a different picture.
 */
export const NEAR_DUPLICATE_MAX_DISTANCE = 10;

/** Area-average downscale of a greyscale image to `w`×`h` cells (each cell ≥ 1 source pixel). */
export function shrinkGray(img: GrayImage, w: number, h: number): Float64Array {
  const { width: W, height: H, data } = img;
  if (W < 1 || H < 1 || data.length < W * H) throw new Error('shrinkGray: empty or short image');
  const out = new Float64Array(w * h);
  for (let cy = 0; cy < h; cy++) {
    const y0 = Math.min(H - 1, Math.floor((cy * H) / h));
    const y1 = Math.max(y0 + 1, Math.floor(((cy + 1) * H) / h));
    for (let cx = 0; cx < w; cx++) {
      const x0 = Math.min(W - 1, Math.floor((cx * W) / w));
      const x1 = Math.max(x0 + 1, Math.floor(((cx + 1) * W) / w));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        const row = y * W;
        for (let x = x0; x < x1; x++) sum += data[row + x] ?? 0;
      }
      out[cy * w + cx] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** The 64-bit dHash of a greyscale image, as 16 lower-case hex digits (bit 63 first). */
export function dHash(img: GrayImage): string {
  const cells = shrinkGray(img, 9, 8);
  let hex = '';
  for (let r = 0; r < 8; r++) {
    let byte = 0;
    for (let c = 0; c < 8; c++) {
      const left = cells[r * 9 + c] ?? 0;
      const right = cells[r * 9 + c + 1] ?? 0;
      byte = (byte << 1) | (left > right ? 1 : 0);
    }
    hex += byte.toString(16).padStart(2, '0');
  }
  return hex;
}

const POPCOUNT4 = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/** Number of differing bits between two hex hashes of the same length. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) throw new Error('hammingDistance: hashes differ in length');
  let d = 0;
  for (let k = 0; k < a.length; k++) {
    const x = parseInt(a[k] ?? '0', 16) ^ parseInt(b[k] ?? '0', 16);
    d += POPCOUNT4[x] ?? 0;
  }
  return d;
}

export function isNearDuplicate(a: string, b: string): boolean {
  return hammingDistance(a, b) <= NEAR_DUPLICATE_MAX_DISTANCE;
}
