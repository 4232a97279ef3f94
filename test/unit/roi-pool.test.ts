import { describe, expect, it } from 'vitest';
import {
  axisWeights,
  boxToGrid,
  roiAveragePool,
  type FeatureGrid,
} from '../../src/inference/vision/roi-pool.js';

/** A [channels, height, width] map from nested rows: grid(channel)(row)(col). */
function grid(planes: number[][][]): FeatureGrid {
  const channels = planes.length;
  const height = planes[0]!.length;
  const width = planes[0]![0]!.length;
  return { data: Float32Array.from(planes.flat(2)), channels, height, width };
}

// Channel 0 counts cells 0..8 row by row; channel 1 is constant 5; channel 2 is x (column).
const map3x3 = grid([
  [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
  ],
  [
    [5, 5, 5],
    [5, 5, 5],
    [5, 5, 5],
  ],
  [
    [0, 1, 2],
    [0, 1, 2],
    [0, 1, 2],
  ],
]);

function close(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, index) => expect(actual[index]).toBeCloseTo(value, 5));
}

describe('axisWeights', () => {
  it('splits a span over the cells it covers, summing to 1', () => {
    expect(axisWeights(0, 3, 3)).toEqual({ first: 0, weights: [1 / 3, 1 / 3, 1 / 3] });
    const half = axisWeights(0.5, 2, 3);
    expect(half.first).toBe(0);
    expect(half.weights[0]).toBeCloseTo(1 / 3);
    expect(half.weights[1]).toBeCloseTo(2 / 3);
    expect(half.weights).toHaveLength(2);
  });

  it('clamps to the axis and samples one cell for an empty span', () => {
    expect(axisWeights(-2, 1, 3)).toEqual({ first: 0, weights: [1] });
    expect(axisWeights(1.5, 1.5, 3)).toEqual({ first: 1, weights: [1] });
    expect(axisWeights(7, 9, 3)).toEqual({ first: 2, weights: [1] });
    expect(axisWeights(-4, -1, 3)).toEqual({ first: 0, weights: [1] });
  });

  it('rejects inverted or non-finite spans', () => {
    expect(() => axisWeights(2, 1, 3)).toThrow(RangeError);
    expect(() => axisWeights(Number.NaN, 1, 3)).toThrow(RangeError);
    expect(() => axisWeights(0, 1, 0)).toThrow(RangeError);
  });
});

describe('roiAveragePool', () => {
  it('over the whole map is the global average pool', () => {
    close(roiAveragePool(map3x3, { x0: 0, y0: 0, x1: 3, y1: 3 }), [4, 5, 1]);
  });

  it('over one whole cell is that cell', () => {
    close(roiAveragePool(map3x3, { x0: 2, y0: 1, x1: 3, y1: 2 }), [5, 5, 2]);
  });

  it('over an aligned 2x2 block is its mean', () => {
    // cells 4, 5, 7, 8
    close(roiAveragePool(map3x3, { x0: 1, y0: 1, x1: 3, y1: 3 }), [6, 5, 1.5]);
  });

  it('weights partly covered cells by the area covered', () => {
    // x from 0.5 to 2: column 0 weighs 1/3, column 1 weighs 2/3; rows 0 only.
    close(roiAveragePool(map3x3, { x0: 0.5, y0: 0, x1: 2, y1: 1 }), [2 / 3, 5, 2 / 3]);
    // a quarter-cell box inside cell 4 is cell 4
    close(roiAveragePool(map3x3, { x0: 1.25, y0: 1.25, x1: 1.75, y1: 1.75 }), [4, 5, 1]);
    // straddling four cells equally: mean of 0, 1, 3, 4
    close(roiAveragePool(map3x3, { x0: 0.5, y0: 0.5, x1: 1.5, y1: 1.5 }), [2, 5, 0.5]);
  });

  it('clamps boxes that run off the map', () => {
    close(roiAveragePool(map3x3, { x0: -5, y0: -5, x1: 10, y1: 10 }), [4, 5, 1]);
    close(roiAveragePool(map3x3, { x0: 2, y0: 2, x1: 9, y1: 9 }), [8, 5, 2]);
  });

  it('samples the nearest cell for a zero-size box', () => {
    close(roiAveragePool(map3x3, { x0: 1.5, y0: 2.5, x1: 1.5, y1: 2.5 }), [7, 5, 1]);
  });

  it('handles non-square maps with the right strides', () => {
    // 1 channel, 2 rows x 4 columns
    const wide = grid([
      [
        [1, 2, 3, 4],
        [10, 20, 30, 40],
      ],
    ]);
    close(roiAveragePool(wide, { x0: 2, y0: 0, x1: 4, y1: 2 }), [(3 + 4 + 30 + 40) / 4]);
    close(roiAveragePool(wide, { x0: 0, y0: 1, x1: 4, y1: 2 }), [25]);
  });

  it('rejects a map whose data does not match its shape', () => {
    expect(() =>
      roiAveragePool(
        { data: new Float32Array(5), channels: 1, height: 2, width: 3 },
        { x0: 0, y0: 0, x1: 1, y1: 1 },
      ),
    ).toThrow(RangeError);
  });
});

describe('boxToGrid', () => {
  const grid7 = { width: 7, height: 7 };

  it('maps a stretched image: the whole image is the whole map', () => {
    const transform = {
      originalWidth: 768,
      originalHeight: 576,
      scale: 224 / 768,
      offsetX: 0,
      offsetY: 0,
    };
    const spec = { resize: 'stretch' as const, width: 224, height: 224 };
    const whole = boxToGrid({ x: 0, y: 0, width: 768, height: 576 }, transform, spec, grid7);
    expect(whole.x0).toBeCloseTo(0);
    expect(whole.y0).toBeCloseTo(0);
    expect(whole.x1).toBeCloseTo(7);
    expect(whole.y1).toBeCloseTo(7);
    // the left half, bottom quarter: x and y scale separately
    const part = boxToGrid({ x: 0, y: 432, width: 384, height: 144 }, transform, spec, grid7);
    expect(part.x1).toBeCloseTo(3.5);
    expect(part.y0).toBeCloseTo(5.25);
    expect(part.y1).toBeCloseTo(7);
  });

  it('maps a letterboxed image through its scale and offsets', () => {
    // 400x200 into 224x224: scale 0.56, 224x112 content, 56 px bands above and below.
    const transform = {
      originalWidth: 400,
      originalHeight: 200,
      scale: 0.56,
      offsetX: 0,
      offsetY: 56,
    };
    const spec = { resize: 'letterbox' as const, width: 224, height: 224 };
    const whole = boxToGrid({ x: 0, y: 0, width: 400, height: 200 }, transform, spec, grid7);
    expect(whole.x0).toBeCloseTo(0);
    expect(whole.x1).toBeCloseTo(7);
    expect(whole.y0).toBeCloseTo(1.75);
    expect(whole.y1).toBeCloseTo(5.25);
  });
});
