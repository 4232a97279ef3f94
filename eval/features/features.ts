/**
 * Pure parts of the feature extraction (eval/features/FORMAT.md): float16 packing and the shard
 * writer / reader; mention positions and region geometry come from src/inference/linker/linker-features.ts,
 * which the service feeds the trained model with.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Version of the index layout described in FORMAT.md. */
export const FEATURE_FORMAT_VERSION = 1;

/** Where one float16 array lies: `shape` values, little-endian, from byte `offset` of `shard`. */
export interface ArrayRef {
  readonly shard: number;
  readonly offset: number;
  readonly shape: readonly number[];
}

// The input layout shared with the service lives in src; re-exported for the extractor and tests.
export {
  FULL_IMAGE_GEOMETRY,
  boxGeometry,
  mentionTokenPositions,
  positionsToMask,
} from '../../src/inference/linker/linker-features.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE-754 binary16 bits of a number, round to nearest even; overflow gives ±Infinity. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Inf / NaN
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to ±0
    mantissa |= 0x800000; // implicit bit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && (result & 1) === 1)) result += 1;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1) === 1)) result += 1; // may carry into e
  e = result >>> 10;
  return sign | (e >= 0x1f ? 0x7c00 : result);
}

/** The number that binary16 `bits` stand for. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Little-endian float16 bytes of `values`. */
export function encodeFloat16(values: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(values.length * 2);
  for (let index = 0; index < values.length; index += 1) {
    out.writeUInt16LE(toFloat16Bits(values[index]!), index * 2);
  }
  return out;
}

/** Float32 values of little-endian float16 `bytes`. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let index = 0; index < out.length; index += 1) {
    out[index] = fromFloat16Bits(view.getUint16(index * 2, true));
  }
  return out;
}

export const shardName = (index: number) => `shard-${String(index).padStart(3, '0')}.bin`;

/**
 * Appends float16 arrays to `shard-NNN.bin` files in `dir`, starting a new shard once one would pass
 * `maxShardBytes`. Synchronous: extraction is bound by the models, not by the disk.
 */
export class ShardWriter {
  private readonly files: { name: string; bytes: number }[] = [];
  private fd: number | null = null;

  constructor(
    private readonly dir: string,
    private readonly maxShardBytes = 256 * 2 ** 20,
  ) {}

  /** Writes `values` (row-major, `shape`) and says where they lie. */
  write(values: ArrayLike<number>, shape: readonly number[]): ArrayRef {
    const count = shape.reduce((product, size) => product * size, 1);
    if (count !== values.length) {
      throw new RangeError(
        `shape [${shape.join(', ')}] needs ${count} values, got ${values.length}`,
      );
    }
    const bytes = encodeFloat16(values);
    let current = this.files.at(-1);
    if (
      !current ||
      this.fd === null ||
      (current.bytes > 0 && current.bytes + bytes.length > this.maxShardBytes)
    ) {
      if (this.fd !== null) closeSync(this.fd);
      current = { name: shardName(this.files.length), bytes: 0 };
      this.files.push(current);
      this.fd = openSync(path.join(this.dir, current.name), 'w');
    }
    const ref: ArrayRef = {
      shard: this.files.length - 1,
      offset: current.bytes,
      shape: [...shape],
    };
    if (bytes.length > 0) writeSync(this.fd, bytes);
    current.bytes += bytes.length;
    return ref;
  }

  /** Closes the open shard; returns every shard's file name and size. */
  close(): { file: string; bytes: number }[] {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    return this.files.map(({ name, bytes }) => ({ file: name, bytes }));
  }
}

/** Reads one array back as float32 (for tests and checks; training reads with numpy). */
export function readArray(
  dir: string,
  shards: readonly { file: string }[],
  ref: ArrayRef,
): Float32Array {
  const shard = shards[ref.shard];
  if (!shard) throw new RangeError(`no shard ${ref.shard}`);
  const count = ref.shape.reduce((product, size) => product * size, 1);
  const bytes = readFileSync(path.join(dir, shard.file)).subarray(
    ref.offset,
    ref.offset + count * 2,
  );
  if (bytes.length !== count * 2) throw new RangeError(`shard ${shard.file} is too short`);
  return decodeFloat16(bytes);
}
