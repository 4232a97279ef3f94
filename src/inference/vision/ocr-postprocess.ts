/**
 * Pure helpers for PP-OCR (PaddleOCR) text detection and recognition: DB post-processing of the
 * detector's probability map (threshold, connected components, minimum-area boxes, unclip,
 * scoring), the geometry of text quads, the perspective crop a recogniser line is sampled with,
 * batching of recogniser inputs, and CTC greedy decoding. No I/O and no runtime dependencies:
 * everything here works on plain arrays, so it is unit-tested without models.
 *
 * Conventions follow PaddleOCR 2.x (`ppocr/postprocess/db_postprocess.py`,
 * `ppocr/postprocess/rec_postprocess.py`, `tools/infer/predict_system.py`).
 */

/** A point [x, y] in pixels; pixel (i, j) has its centre at (i, j) as in OpenCV contours. */
export type Point = readonly [number, number];

/** Four corners, clockwise from the top-left (y grows downwards): tl, tr, br, bl. */
export type Quad = readonly [Point, Point, Point, Point];

/** A single-channel float map, row-major. */
export interface ProbabilityMap {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

export interface AxisBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** One 8-connected component of a binary mask. */
export interface Component {
  /** Number of pixels. */
  readonly area: number;
  readonly minX: number;
  readonly maxX: number;
  readonly minY: number;
  readonly maxY: number;
  /**
   * The leftmost and rightmost pixel of every row the component touches. Their convex hull is the
   * component's convex hull, which is all a minimum-area rectangle needs.
   */
  readonly extremes: readonly Point[];
}

/**
 * Labels the 8-connected components of a mask (non-zero = foreground), in raster order of their
 * first pixel. Iterative flood fill: no recursion depth limit on large blobs.
 */
export function connectedComponents(mask: Uint8Array, width: number, height: number): Component[] {
  if (mask.length !== width * height) {
    throw new Error(`mask has ${mask.length} values, expected ${width}x${height}`);
  }
  const labels = new Int32Array(width * height).fill(-1);
  const stack = new Int32Array(width * height);
  const boxes: { area: number; minX: number; maxX: number; minY: number; maxY: number }[] = [];
  for (let start = 0; start < mask.length; start += 1) {
    if (mask[start] === 0 || labels[start] !== -1) continue;
    const label = boxes.length;
    const bounds = { area: 0, minX: width, maxX: -1, minY: height, maxY: -1 };
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const index = stack[--top]!;
      const x = index % width;
      const y = (index - x) / width;
      bounds.area += 1;
      if (x < bounds.minX) bounds.minX = x;
      if (x > bounds.maxX) bounds.maxX = x;
      if (y < bounds.minY) bounds.minY = y;
      if (y > bounds.maxY) bounds.maxY = y;
      for (let dy = -1; dy <= 1; dy += 1) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx += 1) {
          const nx = x + dx;
          if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue;
          const neighbour = ny * width + nx;
          if (mask[neighbour] !== 0 && labels[neighbour] === -1) {
            labels[neighbour] = label;
            stack[top++] = neighbour;
          }
        }
      }
    }
    boxes.push(bounds);
  }
  // One raster pass collects each component's per-row extremes.
  const rowMin = boxes.map((b) => new Int32Array(b.maxY - b.minY + 1).fill(width));
  const rowMax = boxes.map((b) => new Int32Array(b.maxY - b.minY + 1).fill(-1));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const label = labels[y * width + x]!;
      if (label < 0) continue;
      const row = y - boxes[label]!.minY;
      const mins = rowMin[label]!;
      const maxs = rowMax[label]!;
      if (x < mins[row]!) mins[row] = x;
      if (x > maxs[row]!) maxs[row] = x;
    }
  }
  return boxes.map((bounds, label) => {
    const extremes: Point[] = [];
    const mins = rowMin[label]!;
    const maxs = rowMax[label]!;
    for (let row = 0; row < mins.length; row += 1) {
      const y = bounds.minY + row;
      extremes.push([mins[row]!, y]);
      if (maxs[row] !== mins[row]) extremes.push([maxs[row]!, y]);
    }
    return { ...bounds, extremes };
  });
}

function cross(o: Point, a: Point, b: Point): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** Convex hull by Andrew's monotone chain; collinear points dropped. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const unique = sorted.filter(
    (p, i) => i === 0 || p[0] !== sorted[i - 1]![0] || p[1] !== sorted[i - 1]![1],
  );
  if (unique.length <= 2) return unique;
  const lower: Point[] = [];
  for (const p of unique) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) {
      lower.pop();
    }
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = unique.length - 1; i >= 0; i -= 1) {
    const p = unique[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) {
      upper.pop();
    }
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/**
 * Orders four corners as PaddleOCR's get_mini_boxes does: of the two leftmost (by x), the upper
 * is the top-left and the lower the bottom-left; likewise on the right.
 */
export function orderQuad(corners: readonly Point[]): Quad {
  if (corners.length !== 4) throw new Error(`a quad has 4 corners, got ${corners.length}`);
  const byX = [...corners].sort((a, b) => a[0] - b[0]);
  const [l1, l2, r1, r2] = byX as [Point, Point, Point, Point];
  const [tl, bl] = l1[1] <= l2[1] ? [l1, l2] : [l2, l1];
  const [tr, br] = r1[1] <= r2[1] ? [r1, r2] : [r2, r1];
  return [tl, tr, br, bl];
}

export interface MinAreaRect {
  readonly quad: Quad;
  /** Length of the shorter side (PaddleOCR's `sside`). */
  readonly shortSide: number;
  readonly longSide: number;
}

/** The minimum-area rectangle around points (rotating calipers over the convex hull). */
export function minAreaRect(points: readonly Point[]): MinAreaRect {
  const hull = convexHull(points);
  if (hull.length === 0) throw new Error('minAreaRect needs at least one point');
  if (hull.length === 1) {
    const p = hull[0]!;
    return { quad: [p, p, p, p], shortSide: 0, longSide: 0 };
  }
  let best: { area: number; corners: Point[]; sides: [number, number] } | undefined;
  for (let i = 0; i < hull.length; i += 1) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (length === 0) continue;
    const ux = (b[0] - a[0]) / length;
    const uy = (b[1] - a[1]) / length;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (!best || area < best.area - 1e-9) {
      const corner = (u: number, v: number): Point => [u * ux - v * uy, u * uy + v * ux];
      best = {
        area,
        corners: [corner(minU, minV), corner(maxU, minV), corner(maxU, maxV), corner(minU, maxV)],
        sides: [maxU - minU, maxV - minV],
      };
    }
  }
  const found = best!;
  return {
    quad: orderQuad(found.corners),
    shortSide: Math.min(...found.sides),
    longSide: Math.max(...found.sides),
  };
}

export function polygonArea(points: readonly Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i += 1) {
    const a = points[i]!;
    const b = points[(i + 1) % points.length]!;
    twice += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(twice) / 2;
}

export function polygonPerimeter(points: readonly Point[]): number {
  let length = 0;
  for (let i = 0; i < points.length; i += 1) {
    const a = points[i]!;
    const b = points[(i + 1) % points.length]!;
    length += Math.hypot(b[0] - a[0], b[1] - a[1]);
  }
  return length;
}

/**
 * DB's unclip: grows a convex polygon outwards by `area * ratio / perimeter`, the distance the
 * detector's training shrank text regions by. Each edge moves out along its normal and adjacent
 * edges are re-intersected (a mitred offset). PaddleOCR offsets with round joins (pyclipper) and
 * then takes the minimum-area rectangle of the result; for the rectangles DB feeds it both give
 * the same rectangle: every side moved out by the distance.
 */
export function unclip(polygon: readonly Point[], ratio: number): Point[] {
  const perimeter = polygonPerimeter(polygon);
  if (perimeter === 0) return [...polygon];
  const distance = (polygonArea(polygon) * ratio) / perimeter;
  return offsetConvexPolygon(polygon, distance);
}

/** Moves every edge of a convex polygon outwards by `distance` (negative shrinks). */
export function offsetConvexPolygon(polygon: readonly Point[], distance: number): Point[] {
  const n = polygon.length;
  let signed = 0;
  for (let i = 0; i < n; i += 1) {
    const a = polygon[i]!;
    const b = polygon[(i + 1) % n]!;
    signed += a[0] * b[1] - b[0] * a[1];
  }
  // With y down, a positive signed area is clockwise on screen; the outward normal of edge
  // (dx, dy) is then (dy, -dx) / |d|, and (-dy, dx) / |d| otherwise.
  const orientation = signed >= 0 ? 1 : -1;
  const lines: { point: Point; direction: Point }[] = [];
  for (let i = 0; i < n; i += 1) {
    const a = polygon[i]!;
    const b = polygon[(i + 1) % n]!;
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const length = Math.hypot(dx, dy);
    if (length === 0) continue;
    const nx = (orientation * dy) / length;
    const ny = (-orientation * dx) / length;
    lines.push({ point: [a[0] + nx * distance, a[1] + ny * distance], direction: [dx, dy] });
  }
  const out: Point[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const previous = lines[(i - 1 + lines.length) % lines.length]!;
    const current = lines[i]!;
    const denominator =
      previous.direction[0] * current.direction[1] - previous.direction[1] * current.direction[0];
    if (Math.abs(denominator) < 1e-12) {
      out.push(current.point);
      continue;
    }
    const wx = current.point[0] - previous.point[0];
    const wy = current.point[1] - previous.point[1];
    const t = (wx * current.direction[1] - wy * current.direction[0]) / denominator;
    out.push([
      previous.point[0] + t * previous.direction[0],
      previous.point[1] + t * previous.direction[1],
    ]);
  }
  return out;
}

function insideConvex(polygon: readonly Point[], x: number, y: number): boolean {
  let sign = 0;
  for (let i = 0; i < polygon.length; i += 1) {
    const a = polygon[i]!;
    const b = polygon[(i + 1) % polygon.length]!;
    const side = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    if (Math.abs(side) < 1e-9) continue; // on the edge counts as inside, as cv2.fillPoly draws edges
    const s = side > 0 ? 1 : -1;
    if (sign === 0) sign = s;
    else if (s !== sign) return false;
  }
  return true;
}

/**
 * PaddleOCR's box_score_fast: the mean probability over the pixels whose centres lie in the
 * (convex) polygon, within its bounding box clipped to the map.
 */
export function boxScore(map: ProbabilityMap, polygon: readonly Point[]): number {
  const xs = polygon.map((p) => p[0]);
  const ys = polygon.map((p) => p[1]);
  const clampX = (v: number) => Math.max(0, Math.min(map.width - 1, v));
  const clampY = (v: number) => Math.max(0, Math.min(map.height - 1, v));
  const x0 = clampX(Math.floor(Math.min(...xs)));
  const x1 = clampX(Math.ceil(Math.max(...xs)));
  const y0 = clampY(Math.floor(Math.min(...ys)));
  const y1 = clampY(Math.ceil(Math.max(...ys)));
  let sum = 0;
  let count = 0;
  let boxSum = 0;
  for (let y = y0; y <= y1; y += 1) {
    for (let x = x0; x <= x1; x += 1) {
      const value = map.data[y * map.width + x]!;
      boxSum += value;
      if (insideConvex(polygon, x, y)) {
        sum += value;
        count += 1;
      }
    }
  }
  if (count > 0) return sum / count;
  const area = (x1 - x0 + 1) * (y1 - y0 + 1);
  return area > 0 ? boxSum / area : 0;
}

/**
 * PaddleOCR's DetResizeForTest (limit_type "max"): shrink so the longer side is at most
 * `limits.max`, then round each side to a multiple of 32, at least 32. Images whose shorter side
 * is under `limits.min` are first enlarged towards it, never past `limits.max`.
 */
export function detectionInputSize(
  width: number,
  height: number,
  limits: { readonly max: number; readonly min: number },
): { width: number; height: number } {
  const longer = Math.max(width, height);
  const shorter = Math.min(width, height);
  let ratio = longer > limits.max ? limits.max / longer : 1;
  if (shorter < limits.min)
    ratio = Math.max(ratio, Math.min(limits.min / shorter, limits.max / longer));
  const round32 = (value: number) => Math.max(32, Math.round(Math.trunc(value * ratio) / 32) * 32);
  return { width: round32(width), height: round32(height) };
}

export interface DbOptions {
  /** Probability above which a pixel is text (PaddleOCR det_db_thresh). */
  readonly threshold: number;
  /** Minimum mean probability inside a box (det_db_box_thresh). */
  readonly boxThreshold: number;
  /** How far boxes grow back (det_db_unclip_ratio). */
  readonly unclipRatio: number;
  /** Boxes whose shorter side is below this (map pixels) are dropped; after unclip, below this + 2. */
  readonly minSize: number;
  readonly maxCandidates: number;
}

export const DEFAULT_DB_OPTIONS: DbOptions = {
  threshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 1.5,
  minSize: 3,
  maxCandidates: 1000,
};

export interface DetectedQuad {
  /** In the probability map's pixels. */
  readonly quad: Quad;
  /** Mean probability inside the box before unclip. */
  readonly score: number;
}

/**
 * DB post-processing (PaddleOCR DBPostProcess, score_mode "fast", no dilation): threshold the
 * map, take connected components, fit minimum-area rectangles, drop small or low-scoring ones,
 * unclip and re-fit. Quads are in map pixels.
 */
export function dbPostProcess(
  map: ProbabilityMap,
  options: DbOptions = DEFAULT_DB_OPTIONS,
): DetectedQuad[] {
  const mask = new Uint8Array(map.width * map.height);
  for (let i = 0; i < mask.length; i += 1) mask[i] = map.data[i]! > options.threshold ? 1 : 0;
  const components = connectedComponents(mask, map.width, map.height).slice(
    0,
    options.maxCandidates,
  );
  const found: DetectedQuad[] = [];
  for (const component of components) {
    const rect = minAreaRect(component.extremes);
    if (rect.shortSide < options.minSize) continue;
    const score = boxScore(map, rect.quad);
    if (score < options.boxThreshold) continue;
    const grown = minAreaRect(unclip(rect.quad, options.unclipRatio));
    if (grown.shortSide < options.minSize + 2) continue;
    found.push({ quad: grown.quad, score });
  }
  return found;
}

/**
 * Maps a quad from the map's pixels to the original image's, as PaddleOCR does (round, then clip
 * to [0, size]; then clip to the last pixel, filter_tag_det_res).
 */
export function quadToOriginal(
  quad: Quad,
  map: { readonly width: number; readonly height: number },
  original: { readonly width: number; readonly height: number },
): Quad {
  const sx = original.width / map.width;
  const sy = original.height / map.height;
  const point = (p: Point): Point => [
    Math.max(0, Math.min(original.width - 1, Math.round(p[0] * sx))),
    Math.max(0, Math.min(original.height - 1, Math.round(p[1] * sy))),
  ];
  return orderQuad(quad.map(point));
}

/** Width and height of a quad as its longer opposite sides (PaddleOCR's crop size). */
export function quadSize(quad: Quad): { width: number; height: number } {
  const [tl, tr, br, bl] = quad;
  const d = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  return { width: Math.max(d(tl, tr), d(bl, br)), height: Math.max(d(tl, bl), d(tr, br)) };
}

/** The axis-aligned box around a quad, in pixels that fully contain its corners. */
export function quadBounds(quad: readonly Point[]): AxisBox {
  const xs = quad.map((p) => p[0]);
  const ys = quad.map((p) => p[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x + 1, height: Math.max(...ys) - y + 1 };
}

/**
 * Reading order as PaddleOCR's sorted_boxes: by top-left y then x, then neighbours whose tops
 * are within `lineTolerance` pixels are put left to right.
 */
export function sortReadingOrder<T extends { readonly quad: Quad }>(
  items: readonly T[],
  lineTolerance = 10,
): T[] {
  const sorted = [...items].sort(
    (a, b) => a.quad[0][1] - b.quad[0][1] || a.quad[0][0] - b.quad[0][0],
  );
  for (let i = 0; i < sorted.length - 1; i += 1) {
    for (let j = i; j >= 0; j -= 1) {
      const current = sorted[j]!;
      const next = sorted[j + 1]!;
      if (
        Math.abs(next.quad[0][1] - current.quad[0][1]) < lineTolerance &&
        next.quad[0][0] < current.quad[0][0]
      ) {
        sorted[j] = next;
        sorted[j + 1] = current;
      } else {
        break;
      }
    }
  }
  return sorted;
}

/** Interleaved 8-bit RGB pixels. */
export interface RgbImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * The homography taking the unit square's corners (0,0), (1,0), (1,1), (0,1) to the quad's
 * tl, tr, br, bl (Heckbert's square-to-quad). Returns a function (u, v) -> [x, y].
 */
export function squareToQuad(quad: Quad): (u: number, v: number) => Point {
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = quad;
  const sx = x0 - x1 + x2 - x3;
  const sy = y0 - y1 + y2 - y3;
  let a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number;
  if (Math.abs(sx) < 1e-9 && Math.abs(sy) < 1e-9) {
    // A parallelogram: affine.
    [a, b, c] = [x1 - x0, x3 - x0, x0];
    [d, e, f] = [y1 - y0, y3 - y0, y0];
    [g, h] = [0, 0];
  } else {
    const dx1 = x1 - x2;
    const dx2 = x3 - x2;
    const dy1 = y1 - y2;
    const dy2 = y3 - y2;
    const det = dx1 * dy2 - dx2 * dy1;
    g = (sx * dy2 - dx2 * sy) / det;
    h = (dx1 * sy - sx * dy1) / det;
    [a, b, c] = [x1 - x0 + g * x1, x3 - x0 + h * x3, x0];
    [d, e, f] = [y1 - y0 + g * y1, y3 - y0 + h * y3, y0];
  }
  return (u, v) => {
    const w = g * u + h * v + 1;
    return [(a * u + b * v + c) / w, (d * u + e * v + f) / w];
  };
}

/**
 * Samples the quad of `image` into an upright `outWidth` x `outHeight` RGB image: a perspective
 * crop and resize in one step (PaddleOCR's get_rotate_crop_image followed by its resize), with
 * bilinear interpolation, edge pixels replicated, and box-filter supersampling when shrinking so
 * large text does not alias.
 */
export function sampleQuad(
  image: RgbImage,
  quad: Quad,
  size: { readonly width: number; readonly height: number },
): Uint8Array {
  const { width: outWidth, height: outHeight } = size;
  const map = squareToQuad(quad);
  const source = quadSize(quad);
  const ssX = Math.max(1, Math.min(4, Math.ceil(source.width / outWidth)));
  const ssY = Math.max(1, Math.min(4, Math.ceil(source.height / outHeight)));
  const out = new Uint8Array(outWidth * outHeight * 3);
  const { rgb, width, height } = image;
  const acc = new Float64Array(3);
  for (let oy = 0; oy < outHeight; oy += 1) {
    for (let ox = 0; ox < outWidth; ox += 1) {
      acc.fill(0);
      for (let sy = 0; sy < ssY; sy += 1) {
        for (let sx = 0; sx < ssX; sx += 1) {
          // Output pixel centres map into the quad, whose corners (like source pixel centres)
          // are at integer coordinates.
          const u = (ox + (sx + 0.5) / ssX) / outWidth;
          const v = (oy + (sy + 0.5) / ssY) / outHeight;
          const [px, py] = map(u, v);
          const fx = Math.max(0, Math.min(width - 1, px));
          const fy = Math.max(0, Math.min(height - 1, py));
          const xa = Math.floor(fx);
          const ya = Math.floor(fy);
          const xb = Math.min(width - 1, xa + 1);
          const yb = Math.min(height - 1, ya + 1);
          const wx = fx - xa;
          const wy = fy - ya;
          for (let c = 0; c < 3; c += 1) {
            const top =
              rgb[(ya * width + xa) * 3 + c]! * (1 - wx) + rgb[(ya * width + xb) * 3 + c]! * wx;
            const bottom =
              rgb[(yb * width + xa) * 3 + c]! * (1 - wx) + rgb[(yb * width + xb) * 3 + c]! * wx;
            acc[c]! += top * (1 - wy) + bottom * wy;
          }
        }
      }
      const base = (oy * outWidth + ox) * 3;
      const n = ssX * ssY;
      for (let c = 0; c < 3; c += 1) out[base + c] = Math.round(acc[c]! / n);
    }
  }
  return out;
}

/**
 * The quad a recogniser should read: PaddleOCR turns crops at least 1.5 times taller than wide
 * by 90 degrees (counter-clockwise), taking them for vertical lines.
 */
export function uprightQuad(quad: Quad, verticalRatio = 1.5): Quad {
  const { width, height } = quadSize(quad);
  if (width > 0 && height / width >= verticalRatio) {
    const [tl, tr, br, bl] = quad;
    return [tr, br, bl, tl];
  }
  return quad;
}

/** Width a line is resized to at the recogniser's height, keeping its aspect ratio. */
export function recognitionWidth(
  quad: Quad,
  options: { readonly height: number; readonly maxWidth: number },
): number {
  const { width, height } = quadSize(quad);
  if (height <= 0) return 1;
  return Math.max(1, Math.min(options.maxWidth, Math.ceil((options.height * width) / height)));
}

export interface BatchPlan {
  /** Indices into the widths given, narrowest first. */
  readonly indices: readonly number[];
  /** The padded width every line of the batch is fed at. */
  readonly width: number;
}

export interface BatchOptions {
  /** Batches are padded to at least this width. */
  readonly minWidth: number;
  /** Padded widths are rounded up to a multiple of this. */
  readonly multiple: number;
  /**
   * What one more recogniser run costs, in padded columns (lines x width). A run costs about
   * lines x padded width, so padding many short lines to one very wide line is slow; splitting
   * is only worth it when it saves more than this. The larger, the fewer runs.
   */
  readonly runCostColumns: number;
  /** Lines x padded width a single run may not pass (memory). */
  readonly maxBatchColumns: number;
}

/**
 * Groups lines into recogniser batches, each padded to its widest member. Lines are sorted by
 * width and cut into consecutive groups minimising total padded columns plus `runCostColumns`
 * per run (dynamic programming): lines of similar widths all go into one run, and a run is split
 * off only where padding everything to the widest would cost more than the extra run.
 */
export function planRecognitionBatches(
  widths: readonly number[],
  options: BatchOptions,
): BatchPlan[] {
  const padded = (w: number) =>
    Math.ceil(Math.max(options.minWidth, w) / options.multiple) * options.multiple;
  const order = widths.map((_, i) => i).sort((a, b) => widths[a]! - widths[b]! || a - b);
  const sizes = order.map((index) => padded(widths[index]!));
  const n = sizes.length;
  // cost[j]: best cost of batching the j narrowest lines; start[j]: where its last batch starts.
  const cost = new Float64Array(n + 1);
  const start = new Int32Array(n + 1);
  for (let j = 1; j <= n; j += 1) {
    const width = sizes[j - 1]!;
    cost[j] = Infinity;
    for (let i = j - 1; i >= 0; i -= 1) {
      const columns = (j - i) * width;
      if (i < j - 1 && columns > options.maxBatchColumns) break;
      const total = cost[i]! + columns + options.runCostColumns;
      if (total < cost[j]!) {
        cost[j] = total;
        start[j] = i;
      }
    }
  }
  const plans: BatchPlan[] = [];
  for (let j = n; j > 0;) {
    const from = start[j]!;
    plans.unshift({ indices: order.slice(from, j), width: sizes[j - 1]! });
    j = from;
  }
  return plans;
}

/**
 * The recogniser's classes from a PaddleOCR dictionary file: index 0 is the CTC blank, then one
 * class per line of the file, then a space (use_space_char, on for ppocr_keys_v1.txt).
 */
export function ctcCharset(dictionary: string, useSpace = true): string[] {
  const lines = dictionary.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ...(useSpace ? [' '] : [])];
}

export interface DecodedText {
  readonly text: string;
  /** Mean of the kept characters' probabilities; 0 when nothing was read. */
  readonly confidence: number;
}

/**
 * CTC greedy decoding of one sequence of `steps` x `classes` probabilities (row-major, starting
 * at `offset`): best class per step, merge repeats, drop blanks (class 0).
 */
export function ctcGreedyDecode(
  probabilities: Float32Array,
  shape: { readonly steps: number; readonly classes: number; readonly offset?: number },
  charset: readonly string[],
): DecodedText {
  const { steps, classes } = shape;
  const offset = shape.offset ?? 0;
  let text = '';
  let sum = 0;
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t += 1) {
    const base = offset + t * classes;
    let best = 0;
    let bestValue = -Infinity;
    for (let k = 0; k < classes; k += 1) {
      const value = probabilities[base + k]!;
      if (value > bestValue) {
        bestValue = value;
        best = k;
      }
    }
    if (best !== 0 && best !== previous) {
      text += charset[best] ?? '';
      sum += bestValue;
      kept += 1;
    }
    previous = best;
  }
  return { text, confidence: kept > 0 ? sum / kept : 0 };
}
