import { describe, expect, it } from 'vitest';
import { clsPool, l2Normalize, meanPool } from '../../src/inference/text/pooling.js';

// Two rows, three positions, two features: row 0 has 3 real tokens, row 1 has 2 and a pad.
const states = {
  data: Float32Array.from([
    // row 0
    1, 2, 3, 4, 5, 6,
    // row 1 (its last position is padding and holds garbage that must be ignored)
    10, 20, 30, 40, 999, 999,
  ]),
  dims: [2, 3, 2],
};
const mask = BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 0n]);

describe('clsPool', () => {
  it('takes the first token of each row', () => {
    expect(clsPool(states).map((row) => [...row])).toEqual([
      [1, 2],
      [10, 20],
    ]);
  });

  it('returns copies, not views of the states', () => {
    const [first] = clsPool(states);
    first![0] = 42;
    expect(states.data[0]).toBe(1);
  });

  it('rejects states whose size does not match the shape', () => {
    expect(() => clsPool({ data: new Float32Array(5), dims: [1, 3, 2] })).toThrow(RangeError);
    expect(() => clsPool({ data: new Float32Array(6), dims: [6] })).toThrow(RangeError);
  });
});

describe('meanPool', () => {
  it('averages only the positions the mask marks as real', () => {
    expect(meanPool(states, mask).map((row) => [...row])).toEqual([
      [3, 4],
      [20, 30],
    ]);
  });

  it('accepts a number mask as well as an int64 one', () => {
    expect(meanPool(states, [1, 1, 1, 1, 1, 0]).map((row) => [...row])).toEqual([
      [3, 4],
      [20, 30],
    ]);
  });

  it('gives the same vector for a row alone and the row padded in a batch', () => {
    const alone = meanPool({ data: Float32Array.from([10, 20, 30, 40]), dims: [1, 2, 2] }, [1, 1]);
    expect([...alone[0]!]).toEqual([...meanPool(states, mask)[1]!]);
  });

  it('pools a row without real tokens to zeros', () => {
    expect([...meanPool(states, [1, 1, 1, 0, 0, 0])[1]!]).toEqual([0, 0]);
  });

  it('rejects a mask of the wrong size', () => {
    expect(() => meanPool(states, [1, 1, 1])).toThrow(RangeError);
  });
});

describe('l2Normalize', () => {
  it('scales to unit length', () => {
    expect([...l2Normalize(Float32Array.from([3, 4]))]).toEqual([
      Math.fround(0.6),
      Math.fround(0.8),
    ]);
  });

  it('leaves the zero vector at zero instead of dividing by zero', () => {
    expect([...l2Normalize(new Float32Array(3))]).toEqual([0, 0, 0]);
  });

  it('does not change its input', () => {
    const vector = Float32Array.from([1, 1]);
    const normalised = l2Normalize(vector);
    expect([...vector]).toEqual([1, 1]);
    const norm = Math.hypot(...normalised);
    expect(norm).toBeCloseTo(1, 6);
  });
});
