import type { Config } from '../config.js';
import { BadInputError } from '../errors.js';
import { anyTermQuery } from '../candidates/lucene.js';
import { mergeCandidates, type MergedCandidate } from '../candidates/merge.js';
import { matchRules } from '../candidates/rules.js';
import { contentTokens, foldText, initialism, tokenize } from '../candidates/text-normalize.js';
import type { Graph } from '../neo4j/driver.js';
import { searchFullText, type EntityRecord } from '../neo4j/entity-repository.js';

export interface CandidateQuery {
  readonly mention: string;
  readonly limit?: number | null;
  readonly domain?: string | null;
}

export type Candidate = MergedCandidate<EntityRecord>;

const MAX_MENTION_LENGTH = 500;
const DEFAULT_LIMIT = 20;
/** How many name matches the rules may inspect per mention; rules are cheap, the pool is the cost. */
const RULE_POOL_SIZE = 200;

/**
 * Candidate generation (Zheng et al. 2022, section 4.3): BM25 over names, aliases and descriptions,
 * merged with the shared-words, containment and acronym rules applied to a pool drawn from the names index.
 */
export class CandidateService {
  constructor(
    private readonly graph: Graph,
    private readonly limits: Config['limits'],
  ) {}

  async generate(query: CandidateQuery): Promise<Candidate[]> {
    const mention = query.mention.trim();
    if (mention === '' || mention.length > MAX_MENTION_LENGTH) {
      throw new BadInputError(`mention must have 1 to ${MAX_MENTION_LENGTH} characters`, {
        field: 'mention',
      });
    }
    const limit = query.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > this.limits.maxCandidates) {
      throw new BadInputError(`limit must be between 1 and ${this.limits.maxCandidates}`, {
        field: 'limit',
      });
    }
    const domain = query.domain ?? null;
    const textQuery = anyTermQuery(tokenize(mention));
    const namesQuery = anyTermQuery([
      ...contentTokens(mention),
      ...initialism(mention),
      // A lone word may itself be an acronym ("NASA") stored among the initialisms.
      ...(tokenize(mention).length === 1 ? [foldText(mention)] : []),
    ]);
    const { bm25, pool } = await this.graph.read('candidates', async (tx) => ({
      bm25: textQuery ? await searchFullText(tx, 'entity_text', textQuery, { limit, domain }) : [],
      pool: namesQuery
        ? await searchFullText(tx, 'entity_names', namesQuery, { limit: RULE_POOL_SIZE, domain })
        : [],
    }));
    const ruleHits = pool
      .map(({ entity }) => ({
        entity,
        matches: matchRules(mention, [entity.name, ...entity.aliases]),
      }))
      .filter(({ matches }) => matches.length > 0);
    return mergeCandidates(bm25, ruleHits, (entity) => entity.id, limit);
  }
}
