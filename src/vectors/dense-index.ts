import type { EntityKey } from '../neo4j/entity-repository.js';
import {
  jsInt8BlockDot,
  QuantisedRows,
  quantiseQuery,
  type Int8BlockDot,
  type QuantisedQuery,
} from './quantised-rows.js';
import { jsScorer, type RowScorer } from './row-scorer.js';

/**
 * The k-NN side of candidate generation in process: per kind of vector one contiguous Float32Array
 * matrix (a row per vector), exact cosine top-k by dot products (every stored vector is
 * L2-normalised), the best row per entity, an optional domain filter. Pure data structure: what
 * goes in and when is `VectorSync`'s business (src/vectors/vector-sync.ts). The scores of all rows
 * come from a `RowScorer` (ONNX Runtime's MatMul in the service, plain JS by default); the domain
 * filter, the best row per entity and the top-k run over them here.
 *
 * Rows: `text` has one row per entity with a current text vector; `image` and `imageRobust` one
 * row per (entity, image) pair with a current vector, so an image shared by two entities is a row
 * of each (an image hit is an entity hit, best image per entity). Replacing or removing an entity
 * marks its rows dead; dead rows are skipped by the search and reclaimed by compaction once they
 * are a quarter of the matrix.
 *
 * Large matrices (option `quantisedScan`) are searched in two stages with the same result, bit
 * for bit: an int8 copy of the rows (src/vectors/quantised-rows.ts) gives every row an
 * approximate score with a proven error bound, and only the rows whose score could reach the
 * k-th best entity, or be their entity's best row, are scored in float32 by the scorer.
 */

export type VectorKind = 'text' | 'image' | 'imageRobust';
export const VECTOR_KINDS: readonly VectorKind[] = ['text', 'image', 'imageRobust'];

/** An entity as the index holds it: the key fields a candidate list needs, its domain and vectors. */
export interface EntityVectors {
  readonly key: EntityKey;
  readonly domain: string;
  /** Null: no current text vector (missing, or made by other weights). */
  readonly text: ArrayLike<number> | null;
  /** Its images with a current vector, in position order. */
  readonly images: readonly {
    readonly sha256: string;
    readonly vector: ArrayLike<number> | null;
    readonly robust: ArrayLike<number> | null;
  }[];
}

export interface DenseHit {
  readonly entity: EntityKey;
  /** Cosine similarity of the query and the entity's best row. */
  readonly cosine: number;
  /** For image kinds: the image whose row matched best. */
  readonly imageSha256?: string;
}

export interface DenseQuery {
  readonly vector: ArrayLike<number>;
  readonly limit: number;
  readonly domain: string | null;
}

/** Two-stage search of large matrices (see the class comment). */
export interface QuantisedScanOptions {
  /** Live rows from which a kind is searched in two stages; below it one float32 scan is faster. */
  readonly minRows: number;
  /** The integer products of the first stage (the scorer's own when it has one, else plain JS). */
  readonly dot?: Int8BlockDot;
  /** Which kinds keep an int8 copy (all by default). */
  readonly kinds?: readonly VectorKind[];
}

/** What the index holds and how much memory its matrices take. */
export interface DenseIndexStats {
  readonly entities: number;
  readonly rows: Readonly<Record<VectorKind, { live: number; dead: number; dimension: number }>>;
  /** Bytes of the matrices and row bookkeeping (allocated capacity, not only live rows). */
  readonly matrixBytes: number;
  /** Of `matrixBytes`, the int8 copies of the two-stage search. */
  readonly quantisedBytes: number;
  /** Two-stage searches so far and the rows their second stage scored in float32. */
  readonly twoStage: { readonly searches: number; readonly rescoredRows: number };
}

const INITIAL_ROWS = 1024;

/**
 * The share of rows past which the second stage gives way to one float32 scan of them all.
 * Rescoring a row costs a copy of it besides its product: at 100,000 image rows of 1,280
 * dimensions in the service, a whole scan took about 25 ms, while searches rescoring 5,000-20,000
 * rows took 80-120 ms (their copies also outgrow the 64 MiB of reused gather buffers, so each
 * faults in fresh pages); a quarter, the earlier bound, let those through. An eighth keeps the
 * copy under 64 MiB up to about 100,000 such rows (bench/results/knn-scale.md).
 */
const SCAN_ALL_SHARE = 1 / 8;

/** One kind's rows: vectors in one Float32Array, the owning entity slot of each (-1: dead). */
class VectorMatrix {
  data: Float32Array;
  owner: Int32Array;
  sha256: (string | undefined)[] = [];
  rows = 0;
  dead = 0;
  /** Incremented when rows move (compaction): a search that awaited its scores across it retries. */
  generation = 0;
  /** Incremented when a row dies or moves: the two-stage search needs the rows as they were. */
  mutations = 0;

  constructor(
    readonly dimension: number,
    readonly quantised: QuantisedRows | null,
  ) {
    this.data = new Float32Array(INITIAL_ROWS * dimension);
    this.owner = new Int32Array(INITIAL_ROWS);
  }

  get capacity(): number {
    return this.owner.length;
  }

  append(vector: ArrayLike<number>, slot: number, sha256: string | undefined): number {
    if (vector.length !== this.dimension) {
      throw new Error(`vector of ${vector.length} dimensions for an index of ${this.dimension}`);
    }
    if (this.rows === this.capacity) this.grow(this.capacity * 2);
    const row = this.rows;
    this.data.set(vector, row * this.dimension);
    this.quantised?.append(this.row(row));
    this.owner[row] = slot;
    this.sha256[row] = sha256;
    this.rows += 1;
    return row;
  }

  kill(row: number): void {
    if (this.owner[row] === -1) return;
    this.owner[row] = -1;
    this.sha256[row] = undefined;
    this.dead += 1;
    this.mutations += 1;
  }

  row(row: number): Float32Array {
    return this.data.subarray(row * this.dimension, (row + 1) * this.dimension);
  }

  private grow(capacity: number): void {
    const data = new Float32Array(capacity * this.dimension);
    data.set(this.data.subarray(0, this.rows * this.dimension));
    const owner = new Int32Array(capacity);
    owner.set(this.owner.subarray(0, this.rows));
    this.data = data;
    this.owner = owner;
  }

  /** Moves live rows down over dead ones; returns old row -> new row (-1: dropped). */
  compact(): Int32Array {
    const moved = new Int32Array(this.rows).fill(-1);
    const d = this.dimension;
    let next = 0;
    for (let row = 0; row < this.rows; row += 1) {
      if (this.owner[row] === -1) continue;
      if (next !== row) {
        this.data.copyWithin(next * d, row * d, (row + 1) * d);
        this.owner[next] = this.owner[row]!;
        this.sha256[next] = this.sha256[row];
      }
      moved[row] = next;
      next += 1;
    }
    this.sha256.length = next;
    this.rows = next;
    this.dead = 0;
    this.generation += 1;
    this.mutations += 1;
    if (this.quantised) {
      this.quantised.reset();
      for (let row = 0; row < next; row += 1) this.quantised.append(this.row(row));
    }
    return moved;
  }

  get bytes(): number {
    return (
      this.data.byteLength +
      this.owner.byteLength +
      this.sha256.length * 8 +
      (this.quantised?.bytes ?? 0)
    );
  }
}

interface Slot {
  key: EntityKey;
  domain: number;
  rows: Record<VectorKind, number[]>;
}

export class DenseVectorIndex {
  private readonly matrices = new Map<VectorKind, VectorMatrix>();
  private readonly slots: (Slot | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly slotById = new Map<string, number>();
  private readonly domainIds = new Map<string, number>();
  /** Per slot, the best score of the current query (scratch, sized with the slots). */
  private best = new Float64Array(0);
  private bestRow = new Int32Array(0);
  /** Per slot, the highest approximate score ± bound of its rows (two-stage scratch). */
  private upper = new Float64Array(0);
  private lower = new Float64Array(0);
  private readonly twoStage = { searches: 0, rescoredRows: 0 };

  /**
   * Dimensions per kind; a kind left out (no such encoder) holds nothing and finds nothing.
   * `minDeadRows`: a matrix is compacted once it has this many dead rows and they are a quarter.
   */
  constructor(
    dimensions: Partial<Record<VectorKind, number>>,
    private readonly options: {
      readonly minDeadRows?: number;
      readonly scorer?: RowScorer;
      readonly quantisedScan?: QuantisedScanOptions;
    } = {},
  ) {
    const quantisedKinds = options.quantisedScan?.kinds ?? VECTOR_KINDS;
    for (const kind of VECTOR_KINDS) {
      const dimension = dimensions[kind];
      if (!dimension) continue;
      const quantised =
        options.quantisedScan && quantisedKinds.includes(kind)
          ? new QuantisedRows(dimension)
          : null;
      this.matrices.set(kind, new VectorMatrix(dimension, quantised));
    }
  }

  has(kind: VectorKind): boolean {
    return this.matrices.has(kind);
  }

  get size(): number {
    return this.slotById.size;
  }

  /** Adds or replaces an entity (its rows of every kind). */
  upsert(entity: EntityVectors): void {
    this.remove(entity.key.id);
    const slot = this.freeSlots.pop() ?? this.slots.length;
    const rows: Record<VectorKind, number[]> = { text: [], image: [], imageRobust: [] };
    const text = this.matrices.get('text');
    if (text && entity.text) rows.text.push(text.append(entity.text, slot, undefined));
    const image = this.matrices.get('image');
    const robust = this.matrices.get('imageRobust');
    for (const { sha256, vector, robust: robustVector } of entity.images) {
      if (image && vector) rows.image.push(image.append(vector, slot, sha256));
      if (robust && robustVector) rows.imageRobust.push(robust.append(robustVector, slot, sha256));
    }
    this.slots[slot] = { key: entity.key, domain: this.domainId(entity.domain), rows };
    this.slotById.set(entity.key.id, slot);
    this.compactIfSparse();
  }

  /** Removes an entity; true when it was there. */
  remove(id: string): boolean {
    const slot = this.slotById.get(id);
    if (slot === undefined) return false;
    const entry = this.slots[slot]!;
    for (const kind of VECTOR_KINDS) {
      const matrix = this.matrices.get(kind);
      for (const row of entry.rows[kind]) matrix?.kill(row);
    }
    this.slots[slot] = undefined;
    this.freeSlots.push(slot);
    this.slotById.delete(id);
    return true;
  }

  /** Empties the index (a full reload follows). */
  clear(): void {
    for (const id of [...this.slotById.keys()]) this.remove(id);
    for (const matrix of this.matrices.values()) matrix.compact();
  }

  ids(): IterableIterator<string> {
    return this.slotById.keys();
  }

  /**
   * The `limit` entities nearest to the query by their best row of `kind`, best first; ties by
   * entity id. Exact: every live row is scored.
   */
  async search(kind: VectorKind, query: DenseQuery): Promise<DenseHit[]> {
    const matrix = this.matrices.get(kind);
    if (!matrix || query.limit < 1) return [];
    const d = matrix.dimension;
    if (query.vector.length !== d) {
      throw new Error(`query of ${query.vector.length} dimensions for an index of ${d}`);
    }
    const q = query.vector instanceof Float32Array ? query.vector : Float32Array.from(query.vector);
    let domain = -1;
    if (query.domain !== null) {
      const id = this.domainIds.get(query.domain);
      if (id === undefined) return [];
      domain = id;
    }
    const scorer = this.options.scorer ?? jsScorer;
    const twoStage = this.options.quantisedScan;
    if (twoStage && matrix.quantised && matrix.rows - matrix.dead >= twoStage.minRows) {
      const quantisedQuery = quantiseQuery(q);
      // A zero query scores every row 0: nothing to prune.
      if (quantisedQuery && quantisedQuery.scale > 0) {
        const dot = twoStage.dot ?? scorer.int8 ?? jsInt8BlockDot;
        // Rows that die or move between the stages change the answer: start again, a few times.
        for (let attempt = 0; attempt < 3; attempt += 1) {
          const hits = await this.searchTwoStage(matrix, q, quantisedQuery, {
            domain,
            limit: query.limit,
            scorer,
            dot,
          });
          if (hits === 'scan-all') break;
          if (hits) return hits;
        }
      }
    }
    for (;;) {
      // Rows appended while the scores are computed lie past `rows` and wait for the next search;
      // rows killed meanwhile are skipped below; only compaction moves rows, and then we rescore.
      const { generation, rows } = matrix;
      const scores = await scorer.score(matrix.data, rows, d, q);
      if (matrix.generation === generation) {
        return this.rank(matrix, scores, { rows, picked: null, domain, limit: query.limit });
      }
    }
  }

  /**
   * Stage 1: every row's approximate score a_r ± b_r (int8). For an entity e, L_e and U_e are the
   * largest a_r − b_r and a_r + b_r over its rows, so its exact score lies in [L_e, U_e]. With T
   * the `limit`-th largest L_e, at least `limit` entities score T or more, so an entity with
   * U_e < T cannot be in the top `limit`; of the others, a row with a_r + b_r < L_e cannot be (or
   * tie with) its entity's best row. Stage 2 scores the remaining rows in float32, with the
   * scorer that scores them in the one-stage search, and ranks them as it does. Null: rows died or
   * moved meanwhile; 'scan-all': an eighth of the rows or more would be rescored, and one float32
   * scan costs less than copying them out (`SCAN_ALL_SHARE`).
   */
  private async searchTwoStage(
    matrix: VectorMatrix,
    q: Float32Array,
    quantisedQuery: QuantisedQuery,
    options: { domain: number; limit: number; scorer: RowScorer; dot: Int8BlockDot },
  ): Promise<DenseHit[] | null | 'scan-all'> {
    const { domain, limit, scorer, dot } = options;
    const { rows, mutations } = matrix;
    const quantised = matrix.quantised!;
    const scan = await quantised.scan(quantisedQuery, rows, dot);
    const { approx, bound } = scan;
    if (matrix.mutations !== mutations) {
      quantised.release(scan);
      return null;
    }
    this.ensureScratch();
    const { lower, upper, slots } = this;
    const { owner } = matrix;
    const touched: number[] = [];
    for (let row = 0; row < rows; row += 1) {
      const slot = owner[row]!;
      if (slot < 0) continue;
      if (domain >= 0 && slots[slot]!.domain !== domain) continue;
      const low = approx[row]! - bound[row]!;
      const high = approx[row]! + bound[row]!;
      if (upper[slot] === -Infinity) touched.push(slot);
      if (low > lower[slot]!) lower[slot] = low;
      if (high > upper[slot]!) upper[slot] = high;
    }
    let threshold = -Infinity;
    if (touched.length > limit) {
      const lowers = new Float64Array(touched.length);
      touched.forEach((slot, i) => (lowers[i] = lower[slot]!));
      threshold = kthLargest(lowers, limit);
    }
    const picked: number[] = [];
    for (let row = 0; row < rows; row += 1) {
      const slot = owner[row]!;
      if (slot < 0) continue;
      if (domain >= 0 && slots[slot]!.domain !== domain) continue;
      if (upper[slot]! < threshold) continue;
      if (approx[row]! + bound[row]! < lower[slot]!) continue;
      picked.push(row);
    }
    for (const slot of touched) {
      lower[slot] = -Infinity;
      upper[slot] = -Infinity;
    }
    quantised.release(scan);
    if (picked.length >= rows * SCAN_ALL_SHARE) return 'scan-all';
    const scores = await scorer.scoreRows(matrix.data, q, {
      count: rows,
      dimension: matrix.dimension,
      picked,
    });
    if (matrix.mutations !== mutations) return null;
    this.twoStage.searches += 1;
    this.twoStage.rescoredRows += picked.length;
    return this.rank(matrix, scores, { rows: picked.length, picked, domain, limit });
  }

  private ensureScratch(): void {
    if (this.best.length >= this.slots.length) return;
    const size = this.slots.length * 2;
    this.best = new Float64Array(size).fill(-Infinity);
    this.bestRow = new Int32Array(size);
    this.lower = new Float64Array(size).fill(-Infinity);
    this.upper = new Float64Array(size).fill(-Infinity);
  }

  /**
   * The best row per entity over the scores, filtered by domain, then the top `limit`. `scores[i]`
   * is the score of row `picked[i]` (rows in ascending order), or of row i without `picked`.
   */
  private rank(
    matrix: VectorMatrix,
    scores: ArrayLike<number>,
    {
      rows,
      picked,
      domain,
      limit,
    }: { rows: number; picked: readonly number[] | null; domain: number; limit: number },
  ): DenseHit[] {
    this.ensureScratch();
    const { best, bestRow, slots } = this;
    const touched: number[] = [];
    const { owner } = matrix;
    for (let i = 0; i < rows; i += 1) {
      const row = picked ? picked[i]! : i;
      const slot = owner[row]!;
      if (slot < 0) continue;
      if (domain >= 0 && slots[slot]!.domain !== domain) continue;
      const score = scores[i]!;
      const current = best[slot]!;
      if (current === -Infinity) touched.push(slot);
      if (score > current) {
        best[slot] = score;
        bestRow[slot] = row;
      }
    }
    const top = topK(touched, limit, best, slots);
    const hits = top.map((slot) => {
      const entry = slots[slot]!;
      const sha256 = matrix.sha256[bestRow[slot]!];
      return {
        entity: entry.key,
        cosine: best[slot]!,
        ...(sha256 !== undefined ? { imageSha256: sha256 } : {}),
      };
    });
    for (const slot of touched) best[slot] = -Infinity;
    return hits;
  }

  stats(): DenseIndexStats {
    const rows = {} as Record<VectorKind, { live: number; dead: number; dimension: number }>;
    let matrixBytes = 0;
    for (const kind of VECTOR_KINDS) {
      const matrix = this.matrices.get(kind);
      rows[kind] = {
        live: matrix ? matrix.rows - matrix.dead : 0,
        dead: matrix?.dead ?? 0,
        dimension: matrix?.dimension ?? 0,
      };
      matrixBytes += matrix?.bytes ?? 0;
    }
    let quantisedBytes = 0;
    for (const matrix of this.matrices.values()) quantisedBytes += matrix.quantised?.bytes ?? 0;
    const scratchBytes = this.best.byteLength * 1.5 + this.lower.byteLength * 2;
    return {
      entities: this.size,
      rows,
      matrixBytes: matrixBytes + scratchBytes,
      quantisedBytes,
      twoStage: { ...this.twoStage },
    };
  }

  private domainId(domain: string): number {
    let id = this.domainIds.get(domain);
    if (id === undefined) {
      id = this.domainIds.size;
      this.domainIds.set(domain, id);
    }
    return id;
  }

  private compactIfSparse(): void {
    for (const kind of VECTOR_KINDS) {
      const matrix = this.matrices.get(kind);
      const minDead = this.options.minDeadRows ?? 1024;
      if (!matrix || matrix.dead < minDead || matrix.dead * 4 < matrix.rows) continue;
      const moved = matrix.compact();
      for (const entry of this.slots) {
        if (entry) entry.rows[kind] = entry.rows[kind].map((row) => moved[row]!);
      }
    }
  }
}

/** The k-th largest value (k ≥ 1, k ≤ length), by quickselect; reorders `values`. */
function kthLargest(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  const target = k - 1;
  while (left < right) {
    const pivot = values[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! > pivot) i += 1;
      while (values[j]! < pivot) j -= 1;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i += 1;
        j -= 1;
      }
    }
    if (target <= j) right = j;
    else if (target >= i) left = i;
    else return values[target]!;
  }
  return values[target]!;
}

/**
 * The `limit` best slots of `candidates` by `scores` (ties: smaller entity id), best first. The
 * k-th best score by quickselect, then the slots above it and, of those equal to it, the ones
 * with the smallest ids: O(n + k log k), where a bounded heap took O(n log k) (k is often 1,000 of
 * a few thousand here).
 */
function topK(
  candidates: readonly number[],
  limit: number,
  scores: Float64Array,
  slots: readonly (Slot | undefined)[],
): number[] {
  // The ranking of hits: higher cosine first, then smaller entity id (Neo4j's `ORDER BY score
  // DESC, e.id`).
  const idOf = (slot: number) => slots[slot]!.key.id;
  const byRank = (a: number, b: number) => {
    const difference = scores[b]! - scores[a]!;
    if (difference !== 0) return difference;
    const idA = idOf(a);
    const idB = idOf(b);
    return idA < idB ? -1 : idA > idB ? 1 : 0;
  };
  if (candidates.length <= limit) return [...candidates].sort(byRank);
  const values = new Float64Array(candidates.length);
  candidates.forEach((slot, i) => (values[i] = scores[slot]!));
  const kth = kthLargest(values, limit);
  const kept: number[] = [];
  const tied: number[] = [];
  for (const slot of candidates) {
    const score = scores[slot]!;
    if (score > kth) kept.push(slot);
    else if (score === kth) tied.push(slot);
  }
  tied.sort(byRank);
  for (let i = 0; kept.length < limit && i < tied.length; i += 1) kept.push(tied[i]!);
  return kept.sort(byRank);
}
