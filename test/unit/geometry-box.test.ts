import { describe, expect, it } from 'vitest';
import {
  area,
  clipBox,
  fromTuple,
  intersectionArea,
  iou,
  toTuple,
  type PixelBox,
} from '../../src/geometry/box.js';
import { iou as tupleIou } from '../../eval/harness/scoring.js';
import { area as tupleArea, intersection as tupleIntersection } from '../../eval/build/geometry.js';

const a: PixelBox = { x: 0, y: 0, width: 10, height: 10 };
const b: PixelBox = { x: 5, y: 5, width: 10, height: 10 };

describe('src/geometry/box.ts', () => {
  it('measures areas, overlaps and IoU', () => {
    expect(area(a)).toBe(100);
    expect(area({ x: 0, y: 0, width: -3, height: 4 })).toBe(0);
    expect(intersectionArea(a, b)).toBe(25);
    expect(iou(a, b)).toBeCloseTo(25 / 175, 12);
    expect(iou(a, a)).toBe(1);
    // Touching edges and empty boxes share nothing.
    expect(iou(a, { x: 10, y: 0, width: 5, height: 5 })).toBe(0);
    expect(iou(a, { x: 2, y: 2, width: 0, height: 5 })).toBe(0);
    expect(iou(a, { x: 2, y: 2, width: -4, height: -4 })).toBe(0);
  });

  it('clips fractional boxes to integer boxes inside the image', () => {
    expect(clipBox({ x: -3.4, y: 2.6, width: 50, height: 4 }, { width: 20, height: 10 })).toEqual({
      x: 0,
      y: 3,
      width: 20,
      height: 4,
    });
    expect(clipBox({ x: 30, y: 0, width: 5, height: 5 }, { width: 20, height: 10 })).toBeNull();
    expect(
      clipBox({ x: Number.NaN, y: 0, width: 5, height: 5 }, { width: 20, height: 10 }),
    ).toBeNull();
  });

  it('converts to and from the benchmark files [x, y, w, h]', () => {
    expect(toTuple(b)).toEqual([5, 5, 10, 10]);
    expect(fromTuple([5, 5, 10, 10])).toEqual(b);
  });

  it('is what the eval harness and the benchmark builder compute on tuples', () => {
    const boxes: [number, number, number, number][] = [
      [0, 0, 10, 10],
      [5, 5, 10, 10],
      [2.5, 1.25, 3.5, 7],
      [10, 0, 5, 5],
      [3, 3, 0, 4],
    ];
    for (const p of boxes) {
      expect(tupleArea(p)).toBe(area(fromTuple(p)));
      for (const q of boxes) {
        expect(tupleIou(p, q)).toBe(iou(fromTuple(p), fromTuple(q)));
        expect(tupleIntersection(p, q)).toBe(intersectionArea(fromTuple(p), fromTuple(q)));
      }
    }
  });
});
