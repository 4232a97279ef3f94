/**
 * The one box of Polylink and its pure operations (issue 13: the box had four names and IoU five
 * copies). Everything here is pure: no I/O, no clock.
 */

/**
 * A rectangle in the pixels of the upright (EXIF-oriented) image: `x`/`y` its top-left corner,
 * `width`/`height` its size, all in pixels. Integer for what the API takes and returns (given
 * boxes, region proposals after `clipBox`), fractional for what models produce (detector, face
 * and OCR boxes, possibly past the image's edges). A box with a width or height of 0 or less is
 * empty.
 */
export interface PixelBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The same box as the benchmark files write one (eval/FORMAT.md): `[x, y, width, height]`. */
export type BoxTuple = readonly [number, number, number, number];

/** The box's area; 0 when it is empty. */
export function area(box: PixelBox): number {
  return Math.max(0, box.width) * Math.max(0, box.height);
}

/** The area the two boxes share; 0 when they do not overlap or either is empty. */
export function intersectionArea(a: PixelBox, b: PixelBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union of two boxes; 0 when either is empty or they do not overlap. */
export function iou(a: PixelBox, b: PixelBox): number {
  const intersection = intersectionArea(a, b);
  // An empty box intersects nothing, so the unclamped areas give the same answer as area().
  const union = a.width * a.height + b.width * b.height - intersection;
  return union > 0 ? intersection / union : 0;
}

/**
 * A model's box (fractional, possibly past the edges) as an integer box inside the image: each
 * edge is rounded to the nearest pixel, then clipped to [0, width] x [0, height]. Null when
 * nothing of it is left (under half a pixel on a side, or wholly outside) or a number is not
 * finite.
 */
export function clipBox(
  box: PixelBox,
  image: { readonly width: number; readonly height: number },
): PixelBox | null {
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite)) return null;
  const clamp = (value: number, max: number) => Math.min(max, Math.max(0, Math.round(value)));
  const x0 = clamp(box.x, image.width);
  const y0 = clamp(box.y, image.height);
  const x1 = clamp(box.x + box.width, image.width);
  const y1 = clamp(box.y + box.height, image.height);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/** `[x, y, width, height]` as a box. */
export function fromTuple(box: BoxTuple): PixelBox {
  return { x: box[0], y: box[1], width: box[2], height: box[3] };
}

/** A box as `[x, y, width, height]`. */
export function toTuple(box: PixelBox): [number, number, number, number] {
  return [box.x, box.y, box.width, box.height];
}
