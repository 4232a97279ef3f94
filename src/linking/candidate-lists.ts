import type { MergedCandidate } from '../candidates/merge.js';
import type { Logger } from '../logger.js';
import type { Graph } from '../neo4j/driver.js';
import type { EntityKey } from '../neo4j/entity-repository.js';
import { findCandidateVectors } from '../neo4j/link-repository.js';
import type { CandidateService, PreparedCandidateQuery } from '../services/candidate-service.js';
import type { CandidateVectorCache, CandidateKey } from './candidate-vector-cache.js';
import type { LinkRequest } from './link-input.js';
import { toCandidateList, type CandidateList } from './link-units.js';

/** Every listed entity's content hash by id: the keys of the candidate vector cache. */
export type ListedKeys = Map<string, string>;

export type CandidateListQuery = Pick<
  PreparedCandidateQuery,
  'mention' | 'textVector' | 'imageVector' | 'robustImageVector'
>;

export function domainOf(request: Pick<LinkRequest, 'domain'>): string | null {
  const domain = request.domain?.trim() ?? '';
  return domain === '' ? null : domain;
}

/**
 * The candidate lists of a request's mentions and regions (CandidateService, key fields only) and
 * the linker's candidate vector of every listed entity.
 */
export class CandidateLists {
  constructor(
    private readonly deps: {
      readonly graph: Graph;
      readonly candidates: Pick<CandidateService, 'searchKeys' | 'searchKeysMany'>;
      readonly logger: Logger;
      /** The candidate vectors kept in process (its size may be 0: off). */
      readonly vectorCache: CandidateVectorCache;
    },
  ) {}

  private get vectorCache(): CandidateVectorCache {
    return this.deps.vectorCache;
  }

  /** One list; notes each listed entity's content hash. */
  async search(
    request: LinkRequest,
    query: CandidateListQuery,
    keys: ListedKeys,
  ): Promise<CandidateList> {
    const found = await this.deps.candidates.searchKeys({
      ...query,
      limit: request.candidates,
      domain: domainOf(request),
    });
    return noteKeys(found, keys);
  }

  /**
   * One list per distinct mention text, as the linker's training lists were made; the BM25 lists
   * in one Cypher call and the rule pools in another, read while `queryVectors` (one per text) are
   * still being encoded.
   */
  async searchMentions(
    request: LinkRequest,
    texts: readonly string[],
    queryVectors: Promise<ReadonlyMap<string, Float32Array>>,
    keys: ListedKeys,
  ): Promise<Map<string, CandidateList>> {
    const queries = texts.map((mention) => ({
      mention,
      textVector: null,
      imageVector: null,
      limit: request.candidates,
      domain: domainOf(request),
    }));
    const lists = await this.deps.candidates.searchKeysMany(
      queries,
      queryVectors.then((vectors) => texts.map((text) => vectors.get(text) ?? null)),
    );
    return new Map(queries.map(({ mention }, i) => [mention, noteKeys(lists[i]!, keys)] as const));
  }

  /**
   * Every listed entity's candidate vector: from the in-process cache when its content hash
   * matches, else in one query.
   */
  async vectors(keys: ListedKeys, fingerprint: string): Promise<Map<string, Float32Array>> {
    const wanted = [...keys].map(([id, contentHash]): CandidateKey => ({ id, contentHash }));
    const { found, missing } = this.vectorCache.lookup(wanted);
    if (missing.length === 0) return found;
    const read = await this.deps.graph.read('linkImage.candidateVectors', (tx) =>
      findCandidateVectors(
        tx,
        missing.map((key) => key.id),
        fingerprint,
      ),
    );
    this.vectorCache.store(read.vectors);
    for (const { id, vector } of read.vectors) found.set(id, vector);
    if (read.stale.length > 0) {
      this.deps.logger.warn(
        { count: read.stale.length, sample: read.stale.slice(0, 5) },
        'candidates without a current candidate vector were skipped; run reencodeEntities',
      );
    }
    return found;
  }
}

/** A CandidateService list as a CandidateList; notes each listed entity's content hash. */
function noteKeys(found: readonly MergedCandidate<EntityKey>[], keys: ListedKeys): CandidateList {
  for (const { entity } of found) keys.set(entity.id, entity.contentHash);
  return toCandidateList(found);
}
