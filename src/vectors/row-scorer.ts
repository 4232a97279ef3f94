import { createOnnxRuntime } from '../inference/runtime/onnx-runtime.js';
import type { Logger } from '../logger.js';
import { oneNodeModel, OnnxElementType } from './onnx-graph.js';
import type { Int8BlockDot } from './quantised-rows.js';

/**
 * Scores every row of a row-major matrix against one query: `scores[r] = matrix[r] . query`.
 * The in-process index's only hot loop, behind an interface so that it can run in JS or in a
 * native matrix product.
 */
export interface RowScorer {
  readonly name: string;
  score(
    matrix: Float32Array,
    rows: number,
    dimension: number,
    query: Float32Array,
  ): Promise<ArrayLike<number>>;
  /**
   * The scores of the rows `picked` (ascending) of the first `rows` rows, bit for bit those that
   * `score` over the `rows` rows gives them, for the second stage of the two-stage search.
   */
  scoreRows(
    matrix: Float32Array,
    query: Float32Array,
    rows: {
      readonly count: number;
      readonly dimension: number;
      readonly picked: readonly number[];
    },
  ): Promise<ArrayLike<number>>;
  /** Integer products for the two-stage search of large matrices, where the scorer has them. */
  readonly int8?: Int8BlockDot;
  close(): Promise<void>;
}

/** The picked rows copied into the first rows of `into` (or of a new matrix of as many rows). */
function gather(
  matrix: Float32Array,
  d: number,
  picked: readonly number[],
  into: Float32Array = new Float32Array(picked.length * d),
) {
  picked.forEach((row, i) => into.set(matrix.subarray(row * d, (row + 1) * d), i * d));
  return into;
}

/**
 * Buffers for the rows a two-stage search rescores, reused: a fresh one costs a page fault per
 * 4 KiB (29 MB for 5,700 rows of 1,280 floats, several ms under load). Concurrent searches each
 * take their own; buffers past `maxBytes` are not kept.
 */
class GatherBuffers {
  private readonly spare: Float32Array[] = [];
  constructor(private readonly maxBytes: number) {}

  take(length: number): Float32Array {
    const buffer = this.spare.pop();
    return buffer && buffer.length >= length ? buffer : new Float32Array(length);
  }

  give(buffer: Float32Array): void {
    if (buffer.byteLength <= this.maxBytes) this.spare.push(buffer);
  }
}

/** Plain JS dot products, unrolled by four: no native code, ~20x slower than `onnxMatMulScorer`. */
export const jsScorer: RowScorer = {
  name: 'js',
  // Each row's sum depends on that row alone.
  scoreRows(matrix, query, { dimension, picked }) {
    return this.score(gather(matrix, dimension, picked), picked.length, dimension, query);
  },
  score(matrix, rows, d, query) {
    const scores = new Float64Array(rows);
    const end = d - (d % 4);
    for (let r = 0; r < rows; r += 1) {
      const o = r * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let i = 0;
      for (; i < end; i += 4) {
        s0 += matrix[o + i]! * query[i]!;
        s1 += matrix[o + i + 1]! * query[i + 1]!;
        s2 += matrix[o + i + 2]! * query[i + 2]!;
        s3 += matrix[o + i + 3]! * query[i + 3]!;
      }
      for (; i < d; i += 1) s0 += matrix[o + i]! * query[i]!;
      scores[r] = s0 + s1 + s2 + s3;
    }
    return Promise.resolve(scores);
  },
  close: () => Promise.resolve(),
};

/**
 * One ONNX MatMul node, `scores[n, b] = matrix[n, d] x query[d, b]` with every dimension
 * symbolic, written by the same one-node writer as the int8 scan's graph (src/vectors/onnx-graph.ts),
 * so it lives here rather than in the model bundle.
 */
const MATMUL_ONNX = oneNodeModel({
  opType: 'MatMul',
  opset: 13,
  inputs: [
    { name: 'matrix', type: OnnxElementType.float, shape: ['n', 'd'] },
    { name: 'query', type: OnnxElementType.float, shape: ['d', 'b'] },
  ],
  outputs: [{ name: 'scores', type: OnnxElementType.float, shape: ['n', 'b'] }],
});

/**
 * The matrix-vector product in ONNX Runtime (MLAS, SIMD), already a dependency of the service.
 * The matrix is handed over without a copy (a tensor over the same buffer). One intra-op thread:
 * the request's models need the other cores.
 *
 * Why this and not a vector library (bench/vector-search.ts, bench/results/vector-search.md, 2
 * shared cores, k = 1,000, the benchmark KB's 3,259 image vectors of 1,280 dimensions): p50 1.2 ms
 * here, 6.8 ms in plain JS, 0.7 ms for usearch 2.26.2's SIMD `exactSearch`, 1.6 ms for its HNSW
 * and 1.4 ms for hnswlib-node 3.0.0's HNSW (recall@100 99.9-100 on these queries). The libraries
 * gain well under a millisecond at this size and cost a native dependency (usearch declares Node
 * >= 22 and ships prebuilt binaries; hnswlib-node compiles with node-gyp at install), an index
 * build (1.1-1.8 s here, 36-40 s at 30,000 rows) and, for HNSW, approximate lists and an
 * approximate best-image-per-entity and domain filter (over-fetch, as Neo4j does). Exact search
 * keeps the lists exact and updates trivial. At 30,000 rows (synthetic past the real ones) it is
 * 12.6 ms against 7.3 ms for usearch's exact scan and 7.7 ms for hnswlib-node. Past 20,000 rows the
 * index scans an int8 copy first (`int8` below, src/vectors/quantised-rows.ts) and scores only the
 * rows that can matter here (`scoreRows`): 13.6 ms against 24.8 at 100,000 image rows, load 8
 * (bench/results/knn-scale.md).
 */
export async function onnxMatMulScorer(logger: Logger): Promise<RowScorer> {
  const runtime = createOnnxRuntime({
    executionProvider: 'cpu',
    intraOpThreads: 1,
    interOpThreads: 1,
    logger,
  });
  const session = await runtime.load('vector-matmul', MATMUL_ONNX);
  const int8 = await onnxInt8BlockDot(runtime, logger);
  const buffers = new GatherBuffers(64 * 2 ** 20);
  const score = async (matrix: Float32Array, rows: number, d: number, query: Float32Array) => {
    if (rows === 0) return new Float32Array(0);
    const output = await session.run({
      matrix: { type: 'float32', data: matrix.subarray(0, rows * d), dims: [rows, d] },
      query: { type: 'float32', data: query, dims: [d, 1] },
    });
    return output.scores!.data as Float32Array;
  };
  return {
    name: 'onnxruntime-matmul',
    ...(int8 ? { int8 } : {}),
    /**
     * MLAS sums a row of a group of four rows the same way wherever the group lies, and the last
     * `rows % 4` rows of the matrix another way (measured: a row alone or in a group of two or
     * three differs from the full scan in the last bit for ~2% of rows; none in full groups,
     * test/unit/dense-index.test.ts). So the picked rows before the last `rows % 64` are copied
     * into a matrix padded to a multiple of 64 rows, and if any picked row is among the last
     * `rows % 64`, those rows follow as they are, ending the copy with the same partial group.
     */
    async scoreRows(matrix, query, { count: rows, dimension: d, picked }) {
      const tailStart = rows - (rows % 64);
      if (tailStart === 0) {
        // Under 64 rows (a single row takes MLAS's matrix-vector path): score them all as they are.
        const scores = await score(matrix, rows, d, query);
        return picked.map((row) => scores[row]!);
      }
      let inMain = 0;
      while (inMain < picked.length && picked[inMain]! < tailStart) inMain += 1;
      // At least one full group before the tail, so that the copy never has a single row either.
      const mainRows = Math.max(64, Math.ceil(inMain / 64) * 64);
      const withTail = inMain < picked.length;
      const total = mainRows + (withTail ? rows - tailStart : 0);
      // Rows between the picked ones and the tail keep whatever the buffer held: each row's sum
      // depends on that row alone, and their scores are not read.
      const gathered = gather(matrix, d, picked.slice(0, inMain), buffers.take(total * d));
      if (withTail) {
        gathered.set(matrix.subarray(tailStart * d, rows * d), mainRows * d);
      }
      const scores = await score(gathered, total, d, query).finally(() => buffers.give(gathered));
      return picked.map((row, i) =>
        i < inMain ? scores[i]! : scores[mainRows + row - tailStart]!,
      );
    },
    score,
    close: () => runtime.close(),
  };
}

/**
 * `scores[1, n] = query[1, d] × block[d, n]` as ONNX MatMulInteger (opset 10; CPU kernel types
 * int8/uint8 for both inputs, int32 out: onnxruntime docs/OperatorKernels.md), uint8 query times
 * int8 block, the operand order of MLAS's fast integer GEMM on x86 (int8 × int8 measured ~15x
 * slower here). In this shape (the big operand on the right, one query row) it reads the block at
 * memory speed: 98,304 × 1,280 in 5.2 ms against 22 ms for the float32 MatMul of the same rows,
 * one thread, load 8-9 (bench/results/knn-scale.md).
 */
async function onnxInt8BlockDot(
  runtime: ReturnType<typeof createOnnxRuntime>,
  logger: Logger,
): Promise<Int8BlockDot | null> {
  const model = oneNodeModel({
    opType: 'MatMulInteger',
    opset: 10,
    inputs: [
      { name: 'query', type: OnnxElementType.uint8, shape: [1, 'd'] },
      { name: 'block', type: OnnxElementType.int8, shape: ['d', 'n'] },
    ],
    outputs: [{ name: 'scores', type: OnnxElementType.int32, shape: [1, 'n'] }],
  });
  const session = await runtime.load('vector-int8-dot', model);
  const dot: Int8BlockDot = {
    name: 'onnxruntime-matmulinteger',
    async dot(block, columns, d, query) {
      const output = await session.run({
        query: { type: 'uint8', data: query, dims: [1, d] },
        block: { type: 'int8', data: block.subarray(0, d * columns), dims: [d, columns] },
      });
      return output.scores!.data as Int32Array;
    },
  };
  // The two-stage search's bound holds only if these sums are exact. x86 without VNNI adds pairs
  // of uint8 × int8 products in saturating 16 bits (vpmaddubsw): 2 × 255 × 127 overflows it, so
  // probe that worst case once and keep the one-stage search where it is not exact.
  const d = 64;
  const columns = 16;
  const block = new Int8Array(d * columns);
  for (let i = 0; i < d; i += 1) {
    for (let c = 0; c < columns; c += 1) block[i * columns + c] = c % 2 === 0 ? 127 : -127;
  }
  const scores = await dot.dot(block, columns, d, new Uint8Array(d).fill(255));
  const exact = scores.every((score, c) => score === (c % 2 === 0 ? 1 : -1) * d * 255 * 127);
  if (!exact) {
    logger.warn(
      { scores: Array.from(scores.slice(0, 2)) },
      'ONNX Runtime integer products are not exact here; vector search stays one float32 scan',
    );
    return null;
  }
  return dot;
}
