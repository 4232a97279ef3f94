import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ShardWriter,
  boxGeometry,
  decodeFloat16,
  encodeFloat16,
  fromFloat16Bits,
  mentionTokenPositions,
  positionsToMask,
  readArray,
  shardName,
  toFloat16Bits,
} from '../../eval/features/features.js';

describe('mentionTokenPositions', () => {
  // "[CLS] the hair manga in a forest . [SEP]" for "The hair manga in a forest."
  const offsets: [number, number][] = [
    [0, 0],
    [0, 3],
    [4, 8],
    [9, 14],
    [15, 17],
    [18, 19],
    [20, 26],
    [26, 27],
    [0, 0],
  ];
  const fromText = [false, true, true, true, true, true, true, true, false];

  it('marks the tokens a span covers', () => {
    expect(mentionTokenPositions(offsets, fromText, 4, 14)).toEqual([2, 3]);
    expect(mentionTokenPositions(offsets, fromText, 0, 27)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('includes tokens the span only partly overlaps (sub-words)', () => {
    expect(mentionTokenPositions(offsets, fromText, 5, 10)).toEqual([2, 3]);
  });

  it('never marks special tokens and gives nothing past truncation', () => {
    expect(mentionTokenPositions(offsets, fromText, 0, 0)).toEqual([]);
    expect(mentionTokenPositions(offsets, fromText, 40, 50)).toEqual([]);
  });

  it('turns positions into a mask', () => {
    expect([...positionsToMask([2, 3, 99], 5)]).toEqual([0, 0, 1, 1, 0]);
  });
});

describe('boxGeometry', () => {
  it('normalises corners and gives the covered fraction', () => {
    expect(boxGeometry([160, 40, 80, 80], 320, 160)).toEqual([0.5, 0.25, 0.75, 0.75, 0.125]);
    expect(boxGeometry([0, 0, 320, 160], 320, 160)).toEqual([0, 0, 1, 1, 1]);
  });

  it('clips boxes that leave the image', () => {
    expect(boxGeometry([-10, -10, 20, 20], 100, 100)).toEqual([0, 0, 0.1, 0.1, 0.1 * 0.1]);
    expect(boxGeometry([90, 90, 20, 20], 100, 100)).toEqual([
      0.9,
      0.9,
      1,
      1,
      expect.closeTo(0.01, 9),
    ]);
  });

  it('rejects an empty image', () => {
    expect(() => boxGeometry([0, 0, 1, 1], 0, 10)).toThrow(RangeError);
  });
});

describe('float16', () => {
  it('encodes exactly representable values exactly', () => {
    for (const value of [0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 0.0999755859375]) {
      expect(fromFloat16Bits(toFloat16Bits(value))).toBe(value);
    }
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
  });

  it('rounds to nearest even, overflows to infinity, underflows to zero', () => {
    expect(fromFloat16Bits(toFloat16Bits(1 + 2 ** -11))).toBe(1); // tie: to even
    expect(fromFloat16Bits(toFloat16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie: up to even
    expect(fromFloat16Bits(toFloat16Bits(70000))).toBe(Infinity);
    expect(fromFloat16Bits(toFloat16Bits(2 ** -26))).toBe(0);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
  });

  it('keeps L2-normalised features to about 3 significant digits', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.3);
    const back = decodeFloat16(encodeFloat16(values));
    values.forEach((value, i) => expect(Math.abs(back[i]! - value)).toBeLessThanOrEqual(2 ** -12));
  });

  it('writes little-endian', () => {
    expect([...encodeFloat16([1])]).toEqual([0x00, 0x3c]);
  });
});

describe('ShardWriter', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips arrays across shards', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'features-'));
    const writer = new ShardWriter(dir, 64); // 32 float16 values a shard
    const a = Float32Array.from({ length: 12 }, (_, i) => i / 4); // [3, 4]
    const b = Float32Array.from({ length: 8 }, (_, i) => -i); // [2, 4]
    const empty = new Float32Array(0);
    const c = Float32Array.from({ length: 20 }, (_, i) => i * 0.5); // [5, 4]: does not fit shard 0
    const refs = [
      writer.write(a, [3, 4]),
      writer.write(b, [2, 4]),
      writer.write(empty, [0, 1280]),
      writer.write(c, [5, 4]),
    ];
    const shards = writer.close();
    expect(shards).toEqual([
      { file: shardName(0), bytes: 40 },
      { file: shardName(1), bytes: 40 },
    ]);
    expect(refs).toEqual([
      { shard: 0, offset: 0, shape: [3, 4] },
      { shard: 0, offset: 24, shape: [2, 4] },
      { shard: 0, offset: 40, shape: [0, 1280] },
      { shard: 1, offset: 0, shape: [5, 4] },
    ]);
    expect(readFileSync(path.join(dir, 'shard-001.bin')).length).toBe(40);
    expect(readArray(dir, shards, refs[0]!)).toEqual(a);
    expect(readArray(dir, shards, refs[1]!)).toEqual(b);
    expect(readArray(dir, shards, refs[2]!)).toEqual(empty);
    expect(readArray(dir, shards, refs[3]!)).toEqual(c);
  });

  it('checks that the shape matches the values', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'features-'));
    const writer = new ShardWriter(dir);
    expect(() => writer.write([1, 2, 3], [2, 2])).toThrow(RangeError);
    writer.close();
  });
});
