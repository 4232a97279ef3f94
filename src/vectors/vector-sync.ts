import type { Logger } from '../logger.js';
import type { Graph } from '../neo4j/driver.js';
import {
  findVectorChangesSince,
  loadEntityVectorsByIds,
  loadEntityVectorsPage,
  pruneVectorTombstones,
  readVectorClock,
  type EntityVectorRow,
  type VectorFingerprints,
} from '../neo4j/vector-changes.js';
import {
  DenseVectorIndex,
  type DenseHit,
  type DenseQuery,
  type QuantisedScanOptions,
  type VectorKind,
} from './dense-index.js';
import type { RowScorer } from './row-scorer.js';

/**
 * Dense retrieval in process (issue 13): Neo4j stays the source of truth, and each replica keeps
 * a copy of the current vectors in a `DenseVectorIndex` (exact top-k by dot products).
 *
 * Start-up: the clock (below) is read, then every entity is loaded in pages of `pageSize` in id
 * order, keeping only vectors made by the current encoders (fingerprints), and the replica starts
 * from the clock value read first. Writes during the load are stamped after it and so re-applied
 * by the first poll.
 *
 * Keeping current. Every write that changes what the index holds of an entity (registration,
 * update, delete, re-encoding of text or image vectors) stamps the entity, in the same
 * transaction, with the next value of one counter node (`VectorClock`), and a deletion leaves a
 * `VectorTombstone {id, version}` (src/neo4j/vector-changes.ts, db/migrations/0005). The counter's
 * lock is held to commit, so stamps commit in order. A poll reads the clock C, then the ids
 * stamped or tombstoned above the last applied value, then the current rows of those ids (an id
 * without a row was deleted), applies them and moves to C. Anything committed after C is read
 * again by the next poll; applying a row twice is harmless.
 *
 * How stale: this replica's own writes are applied before the mutation returns (the services
 * call `catchUp` after their transaction commits). Another replica's writes are seen within one
 * poll interval (`POLYLINK_VECTOR_POLL_MS`, default 1,000 ms) plus the poll's own time (one small
 * query when nothing changed; a re-encode of the whole graph reloads in pages). While Neo4j is
 * unreachable the index serves what it has and polling retries. Tombstones are pruned after
 * `tombstoneRetentionMs` (default 1 h); a replica that has not polled successfully for longer
 * than that reloads everything instead of trusting the tombstones.
 *
 * Memory: per vector 4 bytes per dimension plus the row's owner and image reference, and with the
 * two-stage search 1 byte per dimension and 28 bytes more; per entity its key fields (id, name,
 * aliases, content hash). `stats()` reports the matrices' bytes, capacity included; the capacity
 * that doubling leaves unused is never written, so it takes address space, not resident memory
 * (bench/results/knn-scale.md: fitting the matrices after the load left RSS as it was).
 */

export interface VectorSyncOptions {
  readonly graph: Graph;
  readonly logger: Logger;
  readonly dimensions: Partial<Record<VectorKind, number>>;
  readonly fingerprints: VectorFingerprints;
  /** How often to look for other replicas' writes; 0: never (tests drive `catchUp`). */
  readonly pollMs: number;
  readonly pageSize: number;
  readonly tombstoneRetentionMs?: number;
  /** How row scores are computed (ONNX Runtime's MatMul in the service; JS by default). */
  readonly scorer?: RowScorer;
  /** Two-stage search of large matrices (int8 scan, exact float32 rescoring); off by default. */
  readonly quantisedScan?: QuantisedScanOptions;
}

export interface LoadReport {
  readonly entities: number;
  readonly pages: number;
  readonly ms: number;
  readonly version: number;
  readonly matrixBytes: number;
}

const DEFAULT_TOMBSTONE_RETENTION_MS = 3_600_000;

/** The dense search CandidateService uses in memory mode. */
export interface DenseSearch {
  search(kind: VectorKind, query: DenseQuery): Promise<DenseHit[]>;
}

export class VectorSync implements DenseSearch {
  private index: DenseVectorIndex;
  private version = 0;
  private lastSyncAt = 0;
  private lastPruneAt = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;

  constructor(private readonly options: VectorSyncOptions) {
    this.index = this.newIndex();
  }

  /** The last clock value applied. */
  get appliedVersion(): number {
    return this.version;
  }

  search(kind: VectorKind, query: DenseQuery): Promise<DenseHit[]> {
    return this.index.search(kind, query);
  }

  stats() {
    return { ...this.index.stats(), version: this.version };
  }

  /** Loads every entity in pages into a fresh index and swaps it in. */
  async load(): Promise<LoadReport> {
    const started = performance.now();
    const { graph, pageSize, fingerprints } = this.options;
    const syncedAt = Date.now();
    const version = await graph.read('vectors.clock', (tx) => readVectorClock(tx));
    const index = this.newIndex();
    let afterId: string | null = null;
    let pages = 0;
    for (;;) {
      const query = { ...fingerprints, afterId, limit: pageSize };
      const rows: EntityVectorRow[] = await graph.read('vectors.loadPage', (tx) =>
        loadEntityVectorsPage(tx, query),
      );
      pages += 1;
      for (const row of rows) index.upsert(toEntityVectors(row));
      if (rows.length < pageSize) break;
      afterId = rows[rows.length - 1]!.id;
    }
    this.index = index;
    this.version = version;
    this.lastSyncAt = syncedAt;
    const report: LoadReport = {
      entities: index.size,
      pages,
      ms: Math.round(performance.now() - started),
      version,
      matrixBytes: index.stats().matrixBytes,
    };
    this.options.logger.info(report, 'in-process vector index loaded');
    return report;
  }

  private newIndex(): DenseVectorIndex {
    const { dimensions, scorer, quantisedScan } = this.options;
    return new DenseVectorIndex(dimensions, {
      ...(scorer ? { scorer } : {}),
      ...(quantisedScan ? { quantisedScan } : {}),
    });
  }

  /** Starts polling for other replicas' writes every `pollMs`. */
  start(): void {
    if (this.options.pollMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      // A poll still running (a large change) is not queued behind.
      if (this.polling) return;
      this.catchUp().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'vector index poll failed; retrying'),
      );
    }, this.options.pollMs);
    this.timer.unref();
  }

  /**
   * Applies every change committed so far, after the polls already queued (the services call it
   * once their write has committed, so this replica sees its own writes at once).
   */
  catchUp(): Promise<void> {
    const next = this.chain.then(() => this.poll());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Stops polling and releases the scorer. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.options.scorer?.close();
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    this.polling = true;
    try {
      const { graph, fingerprints } = this.options;
      const retention = this.options.tombstoneRetentionMs ?? DEFAULT_TOMBSTONE_RETENTION_MS;
      const syncedAt = Date.now();
      if (syncedAt - this.lastSyncAt > retention) {
        await this.load();
        return;
      }
      const clock = await graph.read('vectors.clock', (tx) => readVectorClock(tx));
      if (clock > this.version) {
        const since = this.version;
        const { changed, deleted } = await graph.read('vectors.changes', (tx) =>
          findVectorChangesSince(tx, since),
        );
        const ids = [...new Set([...changed, ...deleted])];
        const present = new Set<string>();
        for (let start = 0; start < ids.length; start += this.options.pageSize) {
          const page = ids.slice(start, start + this.options.pageSize);
          const rows = await graph.read('vectors.loadIds', (tx) =>
            loadEntityVectorsByIds(tx, { ...fingerprints, ids: page }),
          );
          for (const row of rows) {
            present.add(row.id);
            this.index.upsert(toEntityVectors(row));
          }
        }
        for (const id of ids) if (!present.has(id)) this.index.remove(id);
        this.version = clock;
      }
      this.lastSyncAt = syncedAt;
      if (syncedAt - this.lastPruneAt > retention / 10) {
        this.lastPruneAt = syncedAt;
        await graph.write('vectors.prune', (tx) => pruneVectorTombstones(tx, retention));
      }
    } finally {
      this.polling = false;
    }
  }
}

function toEntityVectors(row: EntityVectorRow) {
  return {
    key: { id: row.id, name: row.name, aliases: row.aliases, contentHash: row.contentHash },
    domain: row.domain,
    text: row.text,
    images: row.images,
  };
}
