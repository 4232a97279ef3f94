import { iou, type PixelBox } from '../geometry/box.js';
import type { DecodedImage } from '../inference/vision/image-preprocess.js';

/**
 * Class-agnostic region proposals for drawings and illustrations (issue 12, part 4): pictures
 * whose colours stand out from the background around them. The COCO detector finds objects of
 * its 80 classes and, on drawings, often only parts of them; a sprite, a card, an emoji or a flag
 * laid on a landscape is instead a connected patch of colours that its surroundings lack.
 *
 * On a small copy of the decoded image (long side `workSide`, area-averaged, CIE Lab) one or two
 * maps are computed:
 * - colour rarity (`rarityLevels`, on by default): -log10 of the share of the pixel's coarse Lab
 *   bin among the pixels within `rarityFraction` of the long side around it;
 * - colour contrast (`levels`, off by default: it added nothing on the dev scenes, EVAL.md part
 *   4): the pixel's ΔE to the box-filtered mean colour within `surroundFraction` around it.
 * Each map is smoothed (`smoothRadius`) and thresholded at each of its levels, the mask closed
 * by `closeRadius` pixels (so that an outline broken by a background-coloured stretch stays one
 * object), and each connected component's box (over the mask pixels themselves) becomes a
 * proposal when its size and aspect pass the filters. Boxes from different levels and maps that
 * overlap a better one by more than `dedupeIou` are dropped. A transparent input is flattened on
 * white when decoded (image-decoding.ts), so a cut-out on transparency reaches this stage as a
 * picture on a uniform background, whose colours are all rare there. The limit of rarity: a
 * colour is rare at the lowest default level (1.3) while it covers under 5% of the window, so
 * one flat colour over a larger share is missed; a drawing of several colours is found while
 * each of them stays under it.
 *
 * The score of a box, 0-1 (its isolation): `1 - ring / inside`, clipped to [0, 1], where `inside`
 * is the mean map value over the component's pixels and `ring` the mean over a band `ringWidth`
 * working pixels wide just outside the box. A picture on a quiet background scores near 1; a
 * patch of busy background, whose surroundings stand out as much as itself, near 0. Not
 * calibrated against the detector's scores (RegionProposer weighs it, see `contrastWeight`).
 *
 * Everything here is pure and synchronous: pixels in, boxes out, no sharp.
 */

export interface ContrastRegionOptions {
  /** Long side, in pixels, of the working copy (never upscaled). */
  readonly workSide: number;
  /** Radius of the background's box filter, as a fraction of the working long side. */
  readonly surroundFraction: number;
  /** ΔE (CIE Lab) thresholds of the contrast map; each gives its own components. */
  readonly levels: readonly number[];
  /**
   * Thresholds of the rarity map, -log10 of the share of the pixel's colour bin in the window
   * around it (`rarityFraction`); each gives its own components. Empty: no rarity proposals.
   */
  readonly rarityLevels: readonly number[];
  /** Radius of the rarity window, as a fraction of the working long side. */
  readonly rarityFraction: number;
  /** Box-filter radius, in working pixels, that smooths each map before it is thresholded. */
  readonly smoothRadius: number;
  /** Square dilation radius, in working pixels, that joins nearby mask pixels into one component. */
  readonly closeRadius: number;
  /** A box must cover at least this fraction of the image... */
  readonly minAreaFraction: number;
  /** ...and at most this fraction. */
  readonly maxAreaFraction: number;
  /** Longer side over shorter side, at most. */
  readonly maxAspect: number;
  /** Width, in working pixels, of the band around a box that the score compares against. */
  readonly ringWidth: number;
  /** Boxes from different levels overlapping a better one by more than this IoU are dropped. */
  readonly dedupeIou: number;
  /**
   * At most this many proposals, best score first. With `minScore`, this trades proposal recall
   * for precision: each extra box that matches nothing can still link an entity. On the dev
   * scenes and the in-house dev split end to end (EVAL.md, part 4), 20 and no floor gave the most
   * proposal recall but cost 3.6 points of automatic-mode F1, 3 and no floor 2.1; 2 with a floor
   * of 0.5 kept F1 (58.6 against 58.8) with 3.3 points more region recall.
   */
  readonly maxProposals: number;
  /** Boxes scoring under this are dropped. */
  readonly minScore: number;
}

export const DEFAULT_CONTRAST_OPTIONS: ContrastRegionOptions = {
  workSide: 160,
  surroundFraction: 0.15,
  levels: [],
  rarityLevels: [1.3, 1.7, 2, 2.3, 2.7],
  rarityFraction: 0.5,
  smoothRadius: 1,
  closeRadius: 1,
  minAreaFraction: 0.015,
  maxAreaFraction: 0.5,
  maxAspect: 3,
  ringWidth: 2,
  dedupeIou: 0.7,
  maxProposals: 2,
  minScore: 0.5,
};

export interface ContrastRegion {
  /** Original image pixels (fractional: a working pixel spans several). */
  readonly box: PixelBox;
  readonly score: number;
}

/** A small Lab copy of an image: three planes, row-major, and the scale to the original. */
export interface LabImage {
  readonly width: number;
  readonly height: number;
  readonly l: Float32Array;
  readonly a: Float32Array;
  readonly b: Float32Array;
  /** Working pixels per original pixel, horizontally and vertically. */
  readonly scaleX: number;
  readonly scaleY: number;
}

const SRGB_TO_LINEAR = (() => {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v += 1) {
    const c = v / 255;
    table[v] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return table;
})();

function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116;
}

/**
 * Area-averages an RGB image down to a long side of at most `workSide` (never up) and converts it
 * to CIE Lab (D65). Each working pixel averages the original pixels whose index maps onto it.
 */
export function downscaleToLab(image: DecodedImage, workSide: number): LabImage {
  const { width: W, height: H, rgb } = image;
  const factor = Math.min(1, workSide / Math.max(W, H));
  const w = Math.max(1, Math.round(W * factor));
  const h = Math.max(1, Math.round(H * factor));
  const n = w * h;
  const sums = new Float64Array(n * 3);
  const counts = new Uint32Array(n);
  const column = new Int32Array(W);
  for (let x = 0; x < W; x += 1) column[x] = Math.min(w - 1, Math.floor((x * w) / W));
  for (let y = 0; y < H; y += 1) {
    const row = Math.min(h - 1, Math.floor((y * h) / H)) * w;
    let p = y * W * 3;
    for (let x = 0; x < W; x += 1, p += 3) {
      const o = row + column[x]!;
      sums[o * 3] = sums[o * 3]! + SRGB_TO_LINEAR[rgb[p]!]!;
      sums[o * 3 + 1] = sums[o * 3 + 1]! + SRGB_TO_LINEAR[rgb[p + 1]!]!;
      sums[o * 3 + 2] = sums[o * 3 + 2]! + SRGB_TO_LINEAR[rgb[p + 2]!]!;
      counts[o] = counts[o]! + 1;
    }
  }
  const l = new Float32Array(n);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const c = Math.max(1, counts[i]!);
    const r = sums[i * 3]! / c;
    const g = sums[i * 3 + 1]! / c;
    const bl = sums[i * 3 + 2]! / c;
    const fx = labF((0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047);
    const fy = labF(0.2126 * r + 0.7152 * g + 0.0722 * bl);
    const fz = labF((0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883);
    l[i] = 116 * fy - 16;
    a[i] = 500 * (fx - fy);
    b[i] = 200 * (fy - fz);
  }
  return { width: w, height: h, l, a, b, scaleX: w / W, scaleY: h / H };
}

/** Mean of `plane` over the (2r+1)² box around each pixel, clipped at the edges (integral image). */
export function boxMean(
  plane: Float32Array,
  width: number,
  height: number,
  radius: number,
): Float32Array {
  const stride = width + 1;
  const integral = new Float64Array(stride * (height + 1));
  for (let y = 0; y < height; y += 1) {
    let rowSum = 0;
    for (let x = 0; x < width; x += 1) {
      rowSum += plane[y * width + x]!;
      integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1]! + rowSum;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y += 1) {
    const y0 = Math.max(0, y - radius);
    const y1 = Math.min(height, y + radius + 1);
    for (let x = 0; x < width; x += 1) {
      const x0 = Math.max(0, x - radius);
      const x1 = Math.min(width, x + radius + 1);
      const sum =
        integral[y1 * stride + x1]! -
        integral[y0 * stride + x1]! -
        integral[y1 * stride + x0]! +
        integral[y0 * stride + x0]!;
      out[y * width + x] = sum / ((x1 - x0) * (y1 - y0));
    }
  }
  return out;
}

/** Each pixel's ΔE to the box-filtered mean colour around it. */
export function contrastMap(lab: LabImage, radius: number): Float32Array {
  const { width, height } = lab;
  const ml = boxMean(lab.l, width, height, radius);
  const ma = boxMean(lab.a, width, height, radius);
  const mb = boxMean(lab.b, width, height, radius);
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i += 1) {
    const dl = lab.l[i]! - ml[i]!;
    const da = lab.a[i]! - ma[i]!;
    const db = lab.b[i]! - mb[i]!;
    out[i] = Math.sqrt(dl * dl + da * da + db * db);
  }
  return out;
}

/** Square dilation of a 0/1 mask (separable: rows, then columns). */
function dilate(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  if (radius <= 0) return mask;
  const rows = new Uint8Array(mask.length);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (!mask[y * width + x]) continue;
      const x0 = Math.max(0, x - radius);
      const x1 = Math.min(width - 1, x + radius);
      for (let k = x0; k <= x1; k += 1) rows[y * width + k] = 1;
    }
  }
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (!rows[y * width + x]) continue;
      const y0 = Math.max(0, y - radius);
      const y1 = Math.min(height - 1, y + radius);
      for (let k = y0; k <= y1; k += 1) out[k * width + x] = 1;
    }
  }
  return out;
}

interface Size {
  readonly width: number;
  readonly height: number;
}

/** A component's box in working pixels (inclusive edges) with its mean contrast. */
interface Component {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  sum: number;
  count: number;
}

/**
 * The 8-connected components of `joined`, each box and mean taken over the pixels of `mask` (a
 * subset of `joined`) that it holds; components holding no mask pixel are left out.
 */
function components(
  mask: Uint8Array,
  joined: Uint8Array,
  contrast: Float32Array,
  { width, height }: Size,
): Component[] {
  const labels = new Int32Array(mask.length).fill(-1);
  const stack = new Int32Array(mask.length);
  const found: Component[] = [];
  for (let start = 0; start < mask.length; start += 1) {
    if (!joined[start] || labels[start] !== -1) continue;
    const c: Component = { x0: width, y0: height, x1: -1, y1: -1, sum: 0, count: 0 };
    labels[start] = found.length;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      if (mask[p]) {
        if (x < c.x0) c.x0 = x;
        if (x > c.x1) c.x1 = x;
        if (y < c.y0) c.y0 = y;
        if (y > c.y1) c.y1 = y;
        c.sum += contrast[p]!;
        c.count += 1;
      }
      for (let dy = -1; dy <= 1; dy += 1) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx += 1) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (joined[q] && labels[q] === -1) {
            labels[q] = found.length;
            stack[top++] = q;
          }
        }
      }
    }
    if (c.count > 0) found.push(c);
  }
  return found;
}

/** Mean of `values` over the band `ring` pixels wide around the inclusive box (inside the image). */
function ringMean(
  values: Float32Array,
  { width, height }: Size,
  c: Component,
  ring: number,
): number {
  const x0 = Math.max(0, c.x0 - ring);
  const y0 = Math.max(0, c.y0 - ring);
  const x1 = Math.min(width - 1, c.x1 + ring);
  const y1 = Math.min(height - 1, c.y1 + ring);
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y += 1) {
    const inside = y >= c.y0 && y <= c.y1;
    for (let x = x0; x <= x1; x += 1) {
      if (inside && x >= c.x0 && x <= c.x1) continue;
      sum += values[y * width + x]!;
      count += 1;
    }
  }
  return count > 0 ? sum / count : 0;
}

/** Lab colour bins of the rarity map: lightness, a and b, in this many steps each. */
const BINS_L = 5;
const BINS_AB = 6;
/** Side, in working pixels, of the cells the rarity map's histograms are counted in. */
const RARITY_CELL = 4;

/**
 * Each pixel's colour rarity around it: -log10 of the share, among the pixels of the cells
 * within `radius` working pixels, of those in the pixel's own coarse Lab bin. A picture laid on a
 * landscape brings colours the landscape lacks, so its pixels are rare even where its edges are
 * as busy as the background's.
 */
export function rarityMap(lab: LabImage, radius: number): Float32Array {
  const { width, height } = lab;
  const n = width * height;
  const bins = BINS_L * BINS_AB * BINS_AB;
  const bin = new Uint16Array(n);
  for (let i = 0; i < n; i += 1) {
    const l = Math.min(BINS_L - 1, Math.max(0, Math.floor((lab.l[i]! / 100) * BINS_L)));
    const a = Math.min(BINS_AB - 1, Math.max(0, Math.floor(((lab.a[i]! + 60) / 120) * BINS_AB)));
    const b = Math.min(BINS_AB - 1, Math.max(0, Math.floor(((lab.b[i]! + 60) / 120) * BINS_AB)));
    bin[i] = (l * BINS_AB + a) * BINS_AB + b;
  }
  const cw = Math.ceil(width / RARITY_CELL);
  const ch = Math.ceil(height / RARITY_CELL);
  // Prefix sums over cells, per bin: integral[(cy * (cw + 1) + cx) * bins + k].
  const stride = cw + 1;
  const integral = new Float64Array(stride * (ch + 1) * bins);
  for (let i = 0; i < n; i += 1) {
    const x = i % width;
    const y = (i - x) / width;
    const cell = (Math.floor(y / RARITY_CELL) + 1) * stride + Math.floor(x / RARITY_CELL) + 1;
    integral[cell * bins + bin[i]!] = integral[cell * bins + bin[i]!]! + 1;
  }
  for (let cy = 1; cy <= ch; cy += 1) {
    for (let cx = 1; cx <= cw; cx += 1) {
      const here = (cy * stride + cx) * bins;
      const up = ((cy - 1) * stride + cx) * bins;
      const left = (cy * stride + cx - 1) * bins;
      const diag = ((cy - 1) * stride + cx - 1) * bins;
      for (let k = 0; k < bins; k += 1) {
        integral[here + k] =
          integral[here + k]! + integral[up + k]! + integral[left + k]! - integral[diag + k]!;
      }
    }
  }
  const rc = Math.max(1, Math.round(radius / RARITY_CELL));
  const out = new Float32Array(n);
  for (let y = 0; y < height; y += 1) {
    const cy = Math.floor(y / RARITY_CELL);
    const y0 = Math.max(0, cy - rc);
    const y1 = Math.min(ch, cy + rc + 1);
    for (let x = 0; x < width; x += 1) {
      const cx = Math.floor(x / RARITY_CELL);
      const x0 = Math.max(0, cx - rc);
      const x1 = Math.min(cw, cx + rc + 1);
      const k = bin[y * width + x]!;
      // The window's count of bin k from the four corners of the prefix sums (inline: this runs
      // once per pixel, and a closure here was one allocation per pixel).
      const count =
        integral[(y1 * stride + x1) * bins + k]! -
        integral[(y0 * stride + x1) * bins + k]! -
        integral[(y1 * stride + x0) * bins + k]! +
        integral[(y0 * stride + x0) * bins + k]!;
      const cells = Math.min(height, y1 * RARITY_CELL) - y0 * RARITY_CELL;
      const total = cells * (Math.min(width, x1 * RARITY_CELL) - x0 * RARITY_CELL);
      out[y * width + x] = -Math.log10(Math.max(count, 0.5) / total);
    }
  }
  return out;
}

/** The components of `map` above each of `levels` that pass the size filters, scored. */
function regionsOfMap(
  map: Float32Array,
  lab: LabImage,
  levels: readonly number[],
  options: ContrastRegionOptions,
): ContrastRegion[] {
  const { width, height } = lab;
  const imageArea = width * height;
  const found: ContrastRegion[] = [];
  for (const level of levels) {
    const mask = new Uint8Array(map.length);
    for (let i = 0; i < mask.length; i += 1) mask[i] = map[i]! > level ? 1 : 0;
    const joined = dilate(mask, width, height, options.closeRadius);
    for (const c of components(mask, joined, map, lab)) {
      const bw = c.x1 - c.x0 + 1;
      const bh = c.y1 - c.y0 + 1;
      const areaFraction = (bw * bh) / imageArea;
      if (areaFraction < options.minAreaFraction || areaFraction > options.maxAreaFraction)
        continue;
      if (Math.max(bw, bh) / Math.min(bw, bh) > options.maxAspect) continue;
      const inside = c.sum / c.count;
      const ring = ringMean(map, lab, c, options.ringWidth);
      const score = inside > 0 ? Math.min(1, Math.max(0, 1 - ring / inside)) : 0;
      found.push({
        box: {
          x: c.x0 / lab.scaleX,
          y: c.y0 / lab.scaleY,
          width: bw / lab.scaleX,
          height: bh / lab.scaleY,
        },
        score,
      });
    }
  }
  return found;
}

/**
 * The contrast proposals of a decoded image (see the top of this module), best score first (ties: top, left, larger), at most
 * `maxProposals`. Deterministic. Pure.
 */
export function contrastRegions(
  image: DecodedImage,
  options: ContrastRegionOptions = DEFAULT_CONTRAST_OPTIONS,
): ContrastRegion[] {
  if (image.width < 2 || image.height < 2) return [];
  const lab = downscaleToLab(image, options.workSide);
  const long = Math.max(lab.width, lab.height);
  const smooth = (map: Float32Array) =>
    options.smoothRadius > 0 ? boxMean(map, lab.width, lab.height, options.smoothRadius) : map;
  const found: ContrastRegion[] = [];
  if (options.levels.length > 0) {
    const radius = Math.max(1, Math.round(options.surroundFraction * long));
    found.push(...regionsOfMap(smooth(contrastMap(lab, radius)), lab, options.levels, options));
  }
  if (options.rarityLevels.length > 0) {
    const radius = Math.max(1, Math.round(options.rarityFraction * long));
    found.push(...regionsOfMap(smooth(rarityMap(lab, radius)), lab, options.rarityLevels, options));
  }
  found.sort(
    (p, q) =>
      q.score - p.score ||
      p.box.y - q.box.y ||
      p.box.x - q.box.x ||
      q.box.width * q.box.height - p.box.width * p.box.height,
  );
  const kept: ContrastRegion[] = [];
  for (const region of found) {
    if (kept.length >= options.maxProposals) break;
    if (region.score < options.minScore) continue;
    if (!kept.some((other) => iou(other.box, region.box) > options.dedupeIou)) kept.push(region);
  }
  return kept;
}
