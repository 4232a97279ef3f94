/**
 * An int8 copy of a float32 matrix's rows, scanned before the float32 rows so that an exact
 * top-k reads a quarter of the bytes (issue 13: at 100,000 image rows of 1,280 dimensions the
 * float32 scan reads 512 MB a query and is bound by memory bandwidth).
 *
 * Each row r is quantised with its own scale s_r = max|m_r| / 127: m_r = s_r·m̂_r + e_r with
 * integer m̂_r in [-127, 127] and |e_r,i| ≤ s_r/2. A query q is quantised once per search the
 * same way (scale t, integers q̂, residual f = q − t·q̂), and the approximate score is
 * a_r = s_r·t·(m̂_r · q̂), an exact integer dot product scaled. Then, exactly,
 *
 *   m_r·q − a_r = e_r·q + s_r·(m̂_r·f),
 *   |e_r·q| ≤ min(‖e_r‖₂‖q‖₂, (s_r/2)‖q‖₁),   |s_r·(m̂_r·f)| ≤ ‖s_r·m̂_r‖₂‖f‖₂,
 *
 * and the float32 score a scorer computes differs from m_r·q by at most γ·‖m_r‖₂‖q‖₂ with
 * γ = d·2⁻²⁴/(1 − d·2⁻²⁴), whatever the order of its sums (Higham, Accuracy and Stability of
 * Numerical Algorithms, 3.1). `bound` is the sum of the three, widened by a relative 2⁻²⁰ for the
 * float64 arithmetic that computes it. Every row whose score could reach the k-th best is then
 * rescored in float32 by the index (see DenseVectorIndex.search).
 *
 * Layout: blocks of up to `BLOCK_ROWS` rows stored dimension-major (a block is a d × width
 * matrix), so that a block is the right-hand side of one `query (1 × d) × block (d × B)` product,
 * the shape in which ONNX Runtime's integer GEMM (MLAS) runs fast; a matrix-times-vector with the
 * rows as the left-hand side is ~4x slower there (bench/results/knn-scale.md). Blocks are wide
 * because each ONNX Runtime call costs scheduling: 98,304 rows of 1,280 took 11.3 ms p50 in blocks of
 * 8,192 and 6.2 ms in one call (load 7.5). The last block widens by doubling (a copy of it);
 * compaction rebuilds them all.
 */

export const BLOCK_ROWS = 65_536;
/**
 * The last block's width starts here and doubles as rows arrive (each doubling copies it once), so
 * that a scan reads at most twice the rows the block holds.
 */
const FIRST_BLOCK_WIDTH = 1024;

interface Block {
  readonly data: Int8Array;
  readonly width: number;
}
const UNIT_ROUNDOFF = 2 ** -24;
/** Room for the float64 rounding of the bound's own arithmetic. */
const WIDEN = 1 + 2 ** -20;

/**
 * Integer dot products of an unsigned query with every column of a dimension-major int8 block.
 * Unsigned (the query's integers + 128, corrected with each row's sum) because that is the
 * operand order of MLAS's fast integer GEMM on x86, and a zero point of 128 instead makes ONNX
 * Runtime ~5x slower (27 ms against 5.2 ms for 98,304 × 1,280, load 8-9).
 */
export interface Int8BlockDot {
  readonly name: string;
  /** `scores[c] = Σ_i query[i]·block[i·columns + c]` for c < columns; exact int32. */
  dot(block: Int8Array, columns: number, dimension: number, query: Uint8Array): Promise<Int32Array>;
}

/** Plain JS integer dot products: the reference and the fallback without ONNX Runtime. */
export const jsInt8BlockDot: Int8BlockDot = {
  name: 'js-int8',
  dot(block, columns, d, query) {
    const scores = new Int32Array(columns);
    for (let i = 0; i < d; i += 1) {
      const q = query[i]!;
      if (q === 0) continue;
      const base = i * columns;
      for (let c = 0; c < columns; c += 1) scores[c] = scores[c]! + q * block[base + c]!;
    }
    return Promise.resolve(scores);
  },
};

/** A query as the scan uses it: its integers and the norms the error bound needs. */
export interface QuantisedQuery {
  /** q̂ + 128, in [1, 255]. */
  readonly values: Uint8Array;
  readonly scale: number;
  readonly l1: number;
  readonly l2: number;
  /** ‖f‖₂, the query's own quantisation residual. */
  readonly residualL2: number;
}

/** Null when the query has a value that is not finite (the caller then scans exactly). */
export function quantiseQuery(query: ArrayLike<number>): QuantisedQuery | null {
  let max = 0;
  let l1 = 0;
  let l2 = 0;
  for (let i = 0; i < query.length; i += 1) {
    const v = query[i]!;
    if (!Number.isFinite(v)) return null;
    const abs = Math.abs(v);
    if (abs > max) max = abs;
    l1 += abs;
    l2 += v * v;
  }
  const scale = max / 127;
  const values = new Uint8Array(query.length).fill(128);
  let residual = 0;
  if (scale > 0) {
    for (let i = 0; i < query.length; i += 1) {
      const q = Math.max(-127, Math.min(127, Math.round(query[i]! / scale)));
      values[i] = q + 128;
      const f = query[i]! - scale * q;
      residual += f * f;
    }
  }
  return { values, scale, l1, l2: Math.sqrt(l2), residualL2: Math.sqrt(residual) };
}

/** Rows [0, rows) of a scan: `approx[r] ± bound[r]` (the arrays may be longer). */
export interface ScanResult {
  readonly approx: Float64Array;
  readonly bound: Float64Array;
}

export class QuantisedRows {
  private readonly blocks: Block[] = [];
  /** Per row: s_r, ‖e_r‖₂, ‖s_r·m̂_r‖₂ (Infinity: a row that is not finite, always rescored). */
  private scale = new Float64Array(0);
  private errorL2 = new Float64Array(0);
  private roundedL2 = new Float64Array(0);
  /** Per row Σ_i m̂_r,i, to take the query's offset of 128 back out. */
  private sums = new Int32Array(0);
  /**
   * Result arrays of finished scans, reused: fresh ones cost page faults on every search (1.6 MB
   * at 100,000 rows). Concurrent searches each take their own.
   */
  private readonly spare: ScanResult[] = [];
  rows = 0;

  constructor(readonly dimension: number) {}

  /** Appends the float32 row as the matrix stores it (its row index must be `rows`). */
  append(row: Float32Array): void {
    const d = this.dimension;
    const r = this.rows;
    if (r === this.scale.length) this.growStats(Math.max(FIRST_BLOCK_WIDTH, this.scale.length * 2));
    const blockIndex = Math.floor(r / BLOCK_ROWS);
    const column = r % BLOCK_ROWS;
    if (blockIndex === this.blocks.length) {
      this.blocks.push({ data: new Int8Array(d * FIRST_BLOCK_WIDTH), width: FIRST_BLOCK_WIDTH });
    }
    if (column === this.blocks[blockIndex]!.width) this.widen(blockIndex);
    const { data: block, width } = this.blocks[blockIndex]!;
    let max = 0;
    let finite = true;
    for (let i = 0; i < d; i += 1) {
      const v = row[i]!;
      if (!Number.isFinite(v)) finite = false;
      else if (Math.abs(v) > max) max = Math.abs(v);
    }
    const s = max / 127;
    let error = 0;
    let rounded = 0;
    let sum = 0;
    for (let i = 0; i < d; i += 1) {
      const q = finite && s > 0 ? Math.max(-127, Math.min(127, Math.round(row[i]! / s))) : 0;
      block[i * width + column] = q;
      sum += q;
      const e = row[i]! - s * q;
      error += e * e;
      rounded += s * q * (s * q);
    }
    this.scale[r] = finite ? s : Infinity;
    this.errorL2[r] = finite ? Math.sqrt(error) : Infinity;
    this.roundedL2[r] = finite ? Math.sqrt(rounded) : Infinity;
    this.sums[r] = sum;
    this.rows = r + 1;
  }

  /** Empties the copy (before the matrix's rows are appended again after compaction). */
  reset(): void {
    this.blocks.length = 0;
    this.rows = 0;
  }

  get bytes(): number {
    return (
      this.blocks.reduce((bytes, block) => bytes + block.data.byteLength, 0) +
      this.scale.byteLength +
      this.errorL2.byteLength +
      this.roundedL2.byteLength +
      this.sums.byteLength
    );
  }

  /**
   * Approximate scores of rows [0, rows) and each one's error bound: `approx[r] ± bound[r]`
   * contains the float32 score the matrix's scorer gives row r.
   */
  async scan(query: QuantisedQuery, rows: number, dot: Int8BlockDot): Promise<ScanResult> {
    const d = this.dimension;
    let result = this.spare.pop();
    if (!result || result.approx.length < rows) {
      const capacity = Math.max(rows, this.rows);
      result = { approx: new Float64Array(capacity), bound: new Float64Array(capacity) };
    }
    const { approx, bound } = result;
    const gamma = (d * UNIT_ROUNDOFF) / (1 - d * UNIT_ROUNDOFF);
    const { scale: t, l1, l2, residualL2 } = query;
    const halfL1 = l1 / 2;
    const { scale, errorL2, roundedL2, sums } = this;
    // Compaction during an await below rebuilds the blocks (the search then starts again); the
    // old ones stay readable through this copy of the list.
    const blocks = [...this.blocks];
    for (let b = 0; b * BLOCK_ROWS < rows; b += 1) {
      const columns = Math.min(BLOCK_ROWS, rows - b * BLOCK_ROWS);
      // The whole block is one contiguous d × width matrix; columns past `rows` are unused.
      const { data, width } = blocks[b]!;
      const dots = await dot.dot(data, width, d, query.values);
      const first = b * BLOCK_ROWS;
      for (let c = 0; c < columns; c += 1) {
        const r = first + c;
        const s = scale[r]!;
        const e = errorL2[r]!;
        const m = roundedL2[r]!;
        const a = s === Infinity ? 0 : s * t * (dots[c]! - 128 * sums[r]!);
        const raw = Math.min(e * l2, s * halfL1) + m * residualL2 + gamma * (m + e) * l2;
        approx[r] = a;
        // A row with a value that is not finite is always rescored (its bound would be NaN).
        bound[r] = s === Infinity ? Infinity : raw * WIDEN + 2 ** -40 * (1 + Math.abs(a));
      }
    }
    return result;
  }

  /** Hands a scan's arrays back for the next scan (the caller reads them no more). */
  release(result: ScanResult): void {
    this.spare.push(result);
  }

  /** Doubles the last block's width: one copy of it, the new block replacing it in the list. */
  private widen(index: number): void {
    const d = this.dimension;
    const { data, width } = this.blocks[index]!;
    const next = Math.min(BLOCK_ROWS, width * 2);
    const wider = new Int8Array(d * next);
    for (let i = 0; i < d; i += 1) wider.set(data.subarray(i * width, (i + 1) * width), i * next);
    this.blocks[index] = { data: wider, width: next };
  }

  private growStats(capacity: number): void {
    const grow = (old: Float64Array) => {
      const next = new Float64Array(capacity);
      next.set(old);
      return next;
    };
    this.scale = grow(this.scale);
    this.errorL2 = grow(this.errorL2);
    this.roundedL2 = grow(this.roundedL2);
    const sums = new Int32Array(capacity);
    sums.set(this.sums);
    this.sums = sums;
  }
}
