import { area as boxArea, fromTuple, intersectionArea } from '../../src/geometry/box.js';

/** Pure geometry of the benchmark builder: boxes are [x, y, width, height] in pixels. */

export type Box = [number, number, number, number];

/**
 * Tight bounding box of the pixels whose alpha is above `threshold` in a raw RGBA buffer
 * (4 bytes per pixel, row-major); undefined when every pixel is transparent.
 */
export function alphaBBox(
  rgba: ArrayLike<number>,
  width: number,
  height: number,
  threshold = 0,
): Box | undefined {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((rgba[(y * width + x) * 4 + 3] ?? 0) > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** `area` of src/geometry/box.ts on a tuple. */
export function area(b: Box): number {
  return boxArea(fromTuple(b));
}

/** `intersectionArea` of src/geometry/box.ts on tuples. */
export function intersection(a: Box, b: Box): number {
  return intersectionArea(fromTuple(a), fromTuple(b));
}

export function boxInside(b: Box, width: number, height: number): boolean {
  return (
    b.every((v) => Number.isInteger(v)) &&
    b[0] >= 0 &&
    b[1] >= 0 &&
    b[2] > 0 &&
    b[3] > 0 &&
    b[0] + b[2] <= width &&
    b[1] + b[3] <= height
  );
}

/**
 * Soften the edges of a cut-out in place: each alpha becomes the minimum of itself and the 3×3
 * mean around it, so edges fade over about one pixel inward and nothing spreads outward (no halo
 * from the colour of fully transparent pixels).
 */
export function featherAlpha(rgba: Uint8Array, width: number, height: number): void {
  const alpha = new Uint8Array(width * height);
  for (let k = 0; k < width * height; k++) alpha[k] = rgba[k * 4 + 3] ?? 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          sum +=
            xx < 0 || yy < 0 || xx >= width || yy >= height ? 0 : (alpha[yy * width + xx] ?? 0);
        }
      }
      const k = y * width + x;
      rgba[k * 4 + 3] = Math.min(alpha[k] ?? 0, Math.round(sum / 9));
    }
  }
}
