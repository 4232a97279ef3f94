/** What an in-process cache reports to /metrics: counts since the process started. */
export interface CacheStats {
  readonly entries: number;
  /** 0: the cache is off. */
  readonly maxEntries: number;
  readonly hits: number;
  readonly misses: number;
}
