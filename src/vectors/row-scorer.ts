import { createOnnxRuntime } from '../inference/runtime/onnx-runtime.js';
import type { Logger } from '../logger.js';

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
  close(): Promise<void>;
}

/** Plain JS dot products, unrolled by four: no native code, ~20x slower than `onnxMatMulScorer`. */
export const jsScorer: RowScorer = {
  name: 'js',
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
 * symbolic, opset 13, made with onnx 1.23 (`helper.make_graph([make_node('MatMul', ['matrix',
 * 'query'], ['scores'])], ...)`): 130 bytes, so it lives here rather than in the model bundle.
 */
const MATMUL_ONNX = Buffer.from(
  'CAg6eAofCgZtYXRyaXgKBXF1ZXJ5EgZzY29yZXMiBk1hdE11bBICbW1aGgoGbWF0cml4EhAKDggBEgoKAxIBbgoDEgFkWhkKBXF1ZXJ5EhAKDggBEgoKAxIBZAoDEgFiYhoKBnNjb3JlcxIQCg4IARIKCgMSAW4KAxIBYkIECgAQDQ==',
  'base64',
);

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
 * 12.6 ms against 7.3 ms for usearch's exact scan and 7.7 ms for hnswlib-node: past ~30,000 vectors
 * a faster scan (usearch's, with the grouping and filter kept here) or an HNSW is the next step.
 */
export async function onnxMatMulScorer(logger: Logger): Promise<RowScorer> {
  const runtime = createOnnxRuntime({
    executionProvider: 'cpu',
    intraOpThreads: 1,
    interOpThreads: 1,
    logger,
  });
  const session = await runtime.load('vector-matmul', new Uint8Array(MATMUL_ONNX));
  return {
    name: 'onnxruntime-matmul',
    async score(matrix, rows, d, query) {
      if (rows === 0) return new Float32Array(0);
      const output = await session.run({
        matrix: { type: 'float32', data: matrix.subarray(0, rows * d), dims: [rows, d] },
        query: { type: 'float32', data: query, dims: [d, 1] },
      });
      return output.scores!.data as Float32Array;
    },
    close: () => runtime.close(),
  };
}
