import { describe, expect, it } from 'vitest';
import {
  boxScore,
  connectedComponents,
  ctcCharset,
  ctcGreedyDecode,
  dbPostProcess,
  detectionInputSize,
  minAreaRect,
  orderQuad,
  planRecognitionBatches,
  quadBounds,
  quadSize,
  quadToOriginal,
  recognitionWidth,
  sampleQuad,
  sortReadingOrder,
  squareToQuad,
  unclip,
  uprightQuad,
  type Point,
  type ProbabilityMap,
  type Quad,
} from '../../src/inference/vision/ocr-postprocess.js';

/** A mask from rows of '#' (foreground) and '.' (background). */
function mask(rows: string[]): { data: Uint8Array; width: number; height: number } {
  const width = rows[0]!.length;
  const data = new Uint8Array(
    rows
      .join('')
      .split('')
      .map((c) => (c === '#' ? 1 : 0)),
  );
  return { data, width, height: rows.length };
}

/** A map of zeros whose `fill([x0, y0, x1, y1], value)` sets an inclusive rectangle. */
function probabilityMap(width: number, height: number): ProbabilityMap & { fill: Fill } {
  const data = new Float32Array(width * height);
  const fill: Fill = ([x0, y0, x1, y1], value) => {
    for (let y = y0; y <= y1; y += 1) for (let x = x0; x <= x1; x += 1) data[y * width + x] = value;
  };
  return { data, width, height, fill };
}
type Fill = (rect: [number, number, number, number], value: number) => void;

const close = (a: readonly Point[], b: readonly Point[], digits = 6) => {
  expect(a).toHaveLength(b.length);
  a.forEach((p, i) => {
    expect(p[0]).toBeCloseTo(b[i]![0], digits);
    expect(p[1]).toBeCloseTo(b[i]![1], digits);
  });
};

describe('connectedComponents', () => {
  it('labels 8-connected blobs on a hand-made mask, with areas, bounds and row extremes', () => {
    const m = mask(['##.....#', '##......', '..#...##', '......##', '#.......']);
    const components = connectedComponents(m.data, m.width, m.height);
    // The 2x2 block and the pixel touching it diagonally are one component (8-connectivity).
    expect(components.map((c) => c.area)).toEqual([5, 1, 4, 1]);
    const [block, corner, square, lone] = components;
    expect(block).toMatchObject({ minX: 0, maxX: 2, minY: 0, maxY: 2 });
    expect(block!.extremes).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [2, 2],
    ]);
    expect(corner).toMatchObject({ minX: 7, maxX: 7, minY: 0, maxY: 0 });
    expect(square).toMatchObject({ minX: 6, maxX: 7, minY: 2, maxY: 3 });
    expect(lone).toMatchObject({ minX: 0, maxX: 0, minY: 4, maxY: 4 });
  });

  it('keeps a blob with a hole as one component and rejects a mask of the wrong size', () => {
    const m = mask(['#####', '#...#', '#####']);
    const [ring, ...rest] = connectedComponents(m.data, m.width, m.height);
    expect(rest).toEqual([]);
    expect(ring!.area).toBe(12);
    expect(() => connectedComponents(new Uint8Array(3), 2, 2)).toThrow(/expected 2x2/);
  });
});

describe('minimum-area rectangles and unclip', () => {
  it('fits an axis-aligned rectangle to pixel centres, ordered tl, tr, br, bl', () => {
    const points: Point[] = [];
    for (let y = 6; y <= 11; y += 1) points.push([5, y], [24, y]);
    const rect = minAreaRect(points);
    close(rect.quad, [
      [5, 6],
      [24, 6],
      [24, 11],
      [5, 11],
    ]);
    expect(rect.shortSide).toBeCloseTo(5);
    expect(rect.longSide).toBeCloseTo(19);
  });

  it('recovers a rotated rectangle from its corners and interior points', () => {
    const angle = (20 * Math.PI) / 180;
    const corner = (u: number, v: number): Point => [
      50 + u * Math.cos(angle) - v * Math.sin(angle),
      30 + u * Math.sin(angle) + v * Math.cos(angle),
    ];
    const points = [corner(0, 0), corner(40, 0), corner(40, 10), corner(0, 10), corner(20, 5)];
    const rect = minAreaRect(points);
    expect(rect.longSide).toBeCloseTo(40);
    expect(rect.shortSide).toBeCloseTo(10);
    // The top-left is the upper of the two leftmost corners.
    close(rect.quad, [corner(0, 0), corner(40, 0), corner(40, 10), corner(0, 10)]);
  });

  it('unclips a rectangle by area * ratio / perimeter on every side', () => {
    const quad: Quad = [
      [5, 6],
      [24, 6],
      [24, 11],
      [5, 11],
    ];
    const d = (19 * 5 * 1.5) / (2 * (19 + 5)); // 2.96875
    close(unclip(quad, 1.5), [
      [5 - d, 6 - d],
      [24 + d, 6 - d],
      [24 + d, 11 + d],
      [5 - d, 11 + d],
    ]);
    // Either winding grows outwards.
    close(unclip([...quad].reverse(), 1.5), [
      [5 - d, 11 + d],
      [24 + d, 11 + d],
      [24 + d, 6 - d],
      [5 - d, 6 - d],
    ]);
  });

  it('unclips a rotated rectangle into a rotated rectangle with sides grown by 2d', () => {
    const angle = (-30 * Math.PI) / 180;
    const at = (u: number, v: number): Point => [
      100 + u * Math.cos(angle) - v * Math.sin(angle),
      100 + u * Math.sin(angle) + v * Math.cos(angle),
    ];
    const rect = minAreaRect([at(0, 0), at(60, 0), at(60, 12), at(0, 12)]);
    const d = (60 * 12 * 2) / (2 * 72);
    const grown = minAreaRect(unclip(rect.quad, 2));
    expect(grown.longSide).toBeCloseTo(60 + 2 * d);
    expect(grown.shortSide).toBeCloseTo(12 + 2 * d);
    const [tl, tr] = grown.quad;
    expect(Math.atan2(tr[1] - tl[1], tr[0] - tl[0])).toBeCloseTo(angle);
  });

  it('orders corners as PaddleOCR does whatever order they come in', () => {
    expect(
      orderQuad([
        [10, 8],
        [0, 9],
        [1, 0],
        [11, 1],
      ]),
    ).toEqual([
      [1, 0],
      [11, 1],
      [10, 8],
      [0, 9],
    ]);
  });
});

describe('DB post-processing', () => {
  it('keeps a confident text region and drops a low-scoring and a tiny one', () => {
    const map = probabilityMap(40, 24);
    map.fill([5, 6, 24, 11], 0.9); // text
    map.fill([28, 2, 38, 8], 0.4); // above the pixel threshold, but a mean of 0.4 < box threshold
    map.fill([30, 18, 31, 19], 0.95); // 2x2: shorter side 1 < 3
    const found = dbPostProcess(map);
    expect(found).toHaveLength(1);
    const [text] = found;
    expect(text!.score).toBeCloseTo(0.9, 5);
    const d = 2.96875;
    close(text!.quad, [
      [5 - d, 6 - d],
      [24 + d, 6 - d],
      [24 + d, 11 + d],
      [5 - d, 11 + d],
    ]);
  });

  it('scores a box by the mean probability of the pixels inside it', () => {
    const map = probabilityMap(10, 10);
    map.fill([2, 2, 5, 3], 1);
    map.fill([2, 4, 5, 5], 0.5);
    const quad: Quad = [
      [2, 2],
      [5, 2],
      [5, 5],
      [2, 5],
    ];
    expect(boxScore(map, quad)).toBeCloseTo(0.75);
  });

  it('maps quads from map pixels to original pixels, rounded and clipped', () => {
    const quad: Quad = [
      [-3, 10.2],
      [100.4, 10.2],
      [100.4, 40],
      [-3, 40],
    ];
    const original = quadToOriginal(quad, { width: 96, height: 64 }, { width: 300, height: 200 });
    expect(original).toEqual([
      [0, 32],
      [299, 32],
      [299, 125],
      [0, 125],
    ]);
    expect(quadBounds(original)).toEqual({ x: 0, y: 32, width: 300, height: 94 });
  });

  it('sizes the detector input as DetResizeForTest, enlarging small images only when asked', () => {
    expect(detectionInputSize(1920, 1080, { max: 960, min: 0 })).toEqual({
      width: 960,
      height: 544,
    });
    expect(detectionInputSize(510, 300, { max: 960, min: 0 })).toEqual({ width: 512, height: 288 });
    expect(detectionInputSize(510, 300, { max: 960, min: 736 })).toEqual({
      width: 960,
      height: 576,
    });
    expect(detectionInputSize(10, 5, { max: 960, min: 0 })).toEqual({ width: 32, height: 32 });
  });

  it('sorts boxes into reading order, left to right within a line', () => {
    const box = (x: number, y: number, id: string) => ({
      id,
      quad: [
        [x, y],
        [x + 10, y],
        [x + 10, y + 5],
        [x, y + 5],
      ] as Quad,
    });
    const sorted = sortReadingOrder([
      box(50, 42, 'c'),
      box(0, 40, 'b'),
      box(80, 0, 'a2'),
      box(0, 3, 'a1'),
    ]);
    expect(sorted.map((b) => b.id)).toEqual(['a1', 'a2', 'b', 'c']);
  });
});

describe('recogniser crops', () => {
  it('maps the unit square onto a perspective quad corner to corner', () => {
    const quad: Quad = [
      [10, 12],
      [90, 5],
      [95, 40],
      [8, 30],
    ];
    const map = squareToQuad(quad);
    close([map(0, 0), map(1, 0), map(1, 1), map(0, 1)], quad, 9);
  });

  it('samples an axis-aligned quad at the source resolution pixel for pixel', () => {
    const width = 8;
    const height = 6;
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) rgb.set([x * 30, y * 40, 7], (y * width + x) * 3);
    }
    // Corners on pixel centres 1..5 x 1..4 give a 4x3 crop sampled half a pixel in.
    const out = sampleQuad(
      { rgb, width, height },
      [
        [1, 1],
        [5, 1],
        [5, 4],
        [1, 4],
      ],
      { width: 4, height: 3 },
    );
    expect(out[0]).toBe(45); // x = 1.5
    expect(out[1]).toBe(60); // y = 1.5
    expect(out[2]).toBe(7);
    const last = (2 * 4 + 3) * 3;
    expect([out[last], out[last + 1]]).toEqual([135, 140]); // x = 4.5, y = 3.5
  });

  it('turns tall crops a quarter turn and sizes lines at the recogniser height', () => {
    const tall: Quad = [
      [0, 0],
      [10, 0],
      [10, 40],
      [0, 40],
    ];
    const turned = uprightQuad(tall);
    expect(turned).toEqual([
      [10, 0],
      [10, 40],
      [0, 40],
      [0, 0],
    ]);
    expect(quadSize(turned)).toEqual({ width: 40, height: 10 });
    expect(recognitionWidth(turned, { height: 48, maxWidth: 3200 })).toBe(192);
    expect(
      uprightQuad([
        [0, 0],
        [40, 0],
        [40, 10],
        [0, 10],
      ])[0],
    ).toEqual([0, 0]);
  });

  it('puts lines of similar widths in one batch padded to the widest', () => {
    const plans = planRecognitionBatches([120, 300, 200, 410], {
      minWidth: 320,
      multiple: 8,
      runCostColumns: 320,
      maxBatchColumns: 16_384,
    });
    expect(plans).toEqual([{ indices: [0, 2, 1, 3], width: 416 }]);
  });

  it('splits off a very wide line instead of padding every short line to it', () => {
    const widths = [100, 150, 2000, 90, 200, 120];
    const plans = planRecognitionBatches(widths, {
      minWidth: 320,
      multiple: 8,
      runCostColumns: 320,
      maxBatchColumns: 16_384,
    });
    expect(plans).toEqual([
      { indices: [3, 0, 5, 1, 4], width: 320 },
      { indices: [2], width: 2000 },
    ]);
    const capped = planRecognitionBatches([300, 300, 300], {
      minWidth: 320,
      multiple: 8,
      runCostColumns: 320,
      maxBatchColumns: 700,
    });
    expect(capped).toEqual([
      { indices: [0, 1], width: 320 },
      { indices: [2], width: 320 },
    ]);
  });
});

describe('CTC decoding', () => {
  const charset = ctcCharset('a\nb\r\nc\n');

  it('builds the charset as blank + dictionary lines + space', () => {
    expect(charset).toEqual(['', 'a', 'b', 'c', ' ']);
    expect(ctcCharset('a\nb', false)).toEqual(['', 'a', 'b']);
  });

  /** One-hot-ish probabilities: each step's best class gets `p`, the rest share 1 - p. */
  function steps(best: number[], p: number[]): Float32Array {
    const classes = charset.length;
    const data = new Float32Array(best.length * classes);
    best.forEach((k, t) => {
      for (let c = 0; c < classes; c += 1) data[t * classes + c] = (1 - p[t]!) / (classes - 1);
      data[t * classes + k] = p[t]!;
    });
    return data;
  }

  it('merges repeats, keeps letters a blank separates, drops blanks; confidence is the mean kept max', () => {
    // a a _ a b b _ _ c (space) c
    const best = [1, 1, 0, 1, 2, 2, 0, 0, 3, 4, 3];
    const p = [0.9, 0.5, 0.99, 0.8, 0.7, 0.6, 0.9, 0.9, 0.6, 0.95, 0.75];
    const decoded = ctcGreedyDecode(
      steps(best, p),
      { steps: 11, classes: charset.length },
      charset,
    );
    expect(decoded.text).toBe('aabc c');
    // Kept: first a (0.9), a after blank (0.8), first b (0.7), c (0.6), space (0.95), c (0.75).
    expect(decoded.confidence).toBeCloseTo((0.9 + 0.8 + 0.7 + 0.6 + 0.95 + 0.75) / 6, 6);
  });

  it('reads nothing with confidence 0 from all blanks, and decodes at an offset in a batch', () => {
    const blank = steps([0, 0, 0], [0.9, 0.9, 0.9]);
    expect(ctcGreedyDecode(blank, { steps: 3, classes: 5 }, charset)).toEqual({
      text: '',
      confidence: 0,
    });
    const batch = new Float32Array([...blank, ...steps([3, 0, 2], [0.8, 0.9, 0.6])]);
    const second = ctcGreedyDecode(batch, { steps: 3, classes: 5, offset: 15 }, charset);
    expect(second.text).toBe('cb');
    expect(second.confidence).toBeCloseTo(0.7, 6);
  });
});
