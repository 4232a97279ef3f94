import type { PixelBox } from '../../geometry/box.js';
import type { ImageTransform, PixelSpec } from './image-preprocess.js';

/** One image's feature map, channel-major ([channels, height, width], as in NCHW). */
export interface FeatureGrid {
  readonly data: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/**
 * A box in feature-map cell units: cell (i, j) covers [i, i + 1) x [j, j + 1), so the whole map
 * is x0 = 0, x1 = width, y0 = 0, y1 = height. Fractions are allowed.
 */
export interface GridBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

interface AxisWeights {
  readonly first: number;
  readonly weights: readonly number[];
}

/**
 * How much of [start, end) falls in each cell of an axis of `cells` cells, as fractions summing
 * to 1. The span is clamped to the axis; a span with no length left (a zero-size box, or one
 * wholly outside the map) samples the single cell nearest its centre.
 */
export function axisWeights(start: number, end: number, cells: number): AxisWeights {
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new RangeError(`box edges must be finite numbers, got ${start} and ${end}`);
  }
  if (end < start) throw new RangeError(`box ends (${end}) before it starts (${start})`);
  if (!Number.isInteger(cells) || cells < 1) throw new RangeError(`bad axis size ${cells}`);
  const lo = Math.min(Math.max(start, 0), cells);
  const hi = Math.min(Math.max(end, 0), cells);
  const length = hi - lo;
  if (length <= 1e-9) {
    const centre = Math.min(Math.max((start + end) / 2, 0), cells);
    return { first: Math.min(cells - 1, Math.floor(centre)), weights: [1] };
  }
  const first = Math.floor(lo);
  const last = Math.min(cells - 1, Math.ceil(hi) - 1);
  const weights: number[] = [];
  for (let cell = first; cell <= last; cell += 1) {
    weights.push((Math.min(hi, cell + 1) - Math.max(lo, cell)) / length);
  }
  return { first, weights };
}

/**
 * Average of the feature map over a box, per channel, each cell weighted by the area of it the
 * box covers (RoI average pooling with fractional cells; exact for a piecewise-constant map).
 * The whole map as the box gives the global average pool. Returns `channels` values.
 */
export function roiAveragePool(map: FeatureGrid, box: GridBox): Float32Array {
  const { channels, height, width, data } = map;
  if (data.length !== channels * height * width) {
    throw new RangeError(
      `feature map has ${data.length} values, expected ${channels}x${height}x${width}`,
    );
  }
  const xs = axisWeights(box.x0, box.x1, width);
  const ys = axisWeights(box.y0, box.y1, height);
  const out = new Float32Array(channels);
  const plane = height * width;
  for (let channel = 0; channel < channels; channel += 1) {
    let sum = 0;
    for (let dy = 0; dy < ys.weights.length; dy += 1) {
      const row = channel * plane + (ys.first + dy) * width + xs.first;
      let rowSum = 0;
      for (let dx = 0; dx < xs.weights.length; dx += 1) {
        rowSum += xs.weights[dx]! * data[row + dx]!;
      }
      sum += ys.weights[dy]! * rowSum;
    }
    out[channel] = sum;
  }
  return out;
}

/**
 * Maps a box in original-image pixels to feature-map cells: through the model input (resize and
 * letterbox offsets as `transform` and `spec` describe), then divided by the map's stride.
 */
export function boxToGrid(
  box: PixelBox,
  transform: ImageTransform,
  spec: Pick<PixelSpec, 'resize' | 'width' | 'height'>,
  grid: Pick<FeatureGrid, 'width' | 'height'>,
): GridBox {
  const scaleX =
    spec.resize === 'letterbox' ? transform.scale : spec.width / transform.originalWidth;
  const scaleY =
    spec.resize === 'letterbox' ? transform.scale : spec.height / transform.originalHeight;
  const cellsPerInputX = grid.width / spec.width;
  const cellsPerInputY = grid.height / spec.height;
  const toX = (x: number): number => (x * scaleX + transform.offsetX) * cellsPerInputX;
  const toY = (y: number): number => (y * scaleY + transform.offsetY) * cellsPerInputY;
  return {
    x0: toX(box.x),
    y0: toY(box.y),
    x1: toX(box.x + box.width),
    y1: toY(box.y + box.height),
  };
}
