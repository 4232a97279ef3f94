import { LRUCache } from 'lru-cache';
import type { CacheStats } from '../observability/cache-stats.js';

/** An entity as a candidate list names it: its id and the content hash its vector was made from. */
export interface CandidateKey {
  readonly id: string;
  readonly contentHash: string;
}

interface CachedVector {
  readonly contentHash: string;
  readonly vector: Float32Array;
}

/**
 * The linker's candidate vectors (`Entity.candidateVector`) of recently listed entities, in
 * process. At 1,000 candidates per mention and region, reading the vectors from Neo4j costs more
 * than everything else in `linkImage` together; a list already carries each entity's content
 * hash, and a candidate vector is a function of the content and the linker, so an entry whose hash
 * still matches is the vector the graph holds. An update changes the hash (a miss, read again); a
 * bundle change restarts the service and so empties the cache. One cache per linker fingerprint.
 */
export class CandidateVectorCache {
  private readonly entries: LRUCache<string, CachedVector> | null;
  private hits = 0;
  private misses = 0;

  /** `maxEntries` 0 turns the cache off (every vector is read from the graph). */
  constructor(maxEntries: number) {
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : null;
  }

  /** The cached vectors of the keys whose hash matches, and the keys to read from the graph. */
  lookup(keys: Iterable<CandidateKey>): {
    found: Map<string, Float32Array>;
    missing: CandidateKey[];
  } {
    const found = new Map<string, Float32Array>();
    const missing: CandidateKey[] = [];
    for (const key of keys) {
      const cached = this.entries?.get(key.id);
      if (cached && cached.contentHash === key.contentHash) found.set(key.id, cached.vector);
      else missing.push(key);
    }
    this.hits += found.size;
    this.misses += missing.length;
    return { found, missing };
  }

  /** Remembers vectors read from the graph, under the content hash read with them. */
  store(read: Iterable<{ id: string; contentHash: string; vector: Float32Array }>): void {
    if (!this.entries) return;
    for (const { id, contentHash, vector } of read) this.entries.set(id, { contentHash, vector });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** Hits and misses count entities looked up (a stale hash is a miss). */
  stats(): CacheStats {
    return {
      entries: this.size,
      maxEntries: this.entries?.max ?? 0,
      hits: this.hits,
      misses: this.misses,
    };
  }
}
