import type { RuleMatch, RuleName } from './rules.js';

export type DenseGenerator = 'DENSE_TEXT' | 'DENSE_IMAGE' | 'DENSE_IMAGE_ROBUST';
export type GeneratorName = 'BM25' | RuleName | DenseGenerator;

export interface GeneratorHit {
  readonly generator: GeneratorName;
  /** The generator's own score in [0, 1]; BM25 is relative to the best BM25 hit for the mention. */
  readonly score: number;
  /** 1-based rank within the generator's own list. */
  readonly rank: number;
  readonly matchedName: string | null;
}

export interface MergedCandidate<E> {
  readonly entity: E;
  readonly score: number;
  readonly generators: readonly GeneratorHit[];
}

/**
 * How far one generator alone is trusted. An exact name or acronym match is stronger evidence
 * than word overlap or a BM25 hit in a description.
 */
export const GENERATOR_WEIGHTS: Readonly<Record<GeneratorName, number>> = {
  CONTAINMENT: 0.9,
  ACRONYM: 0.85,
  SHARED_WORDS: 0.7,
  BM25: 0.6,
  DENSE_TEXT: 0.6,
  DENSE_IMAGE: 0.6,
  DENSE_IMAGE_ROBUST: 0.6,
};

/** Noisy-OR: each generator is independent evidence, and agreement raises the score without passing 1. */
export function combineGeneratorScores(hits: readonly GeneratorHit[]): number {
  const miss = hits.reduce(
    (product, hit) => product * (1 - GENERATOR_WEIGHTS[hit.generator] * hit.score),
    1,
  );
  return 1 - miss;
}

export interface Bm25Hit<E> {
  readonly entity: E;
  readonly score: number;
}

export interface RuleHits<E> {
  readonly entity: E;
  readonly matches: readonly RuleMatch[];
}

export interface DenseHits<E> {
  readonly generator: DenseGenerator;
  /** Nearest neighbours, best first; score is the cosine similarity. */
  readonly hits: readonly { readonly entity: E; readonly cosine: number }[];
}

export interface CandidateSources<E> {
  readonly bm25?: readonly Bm25Hit<E>[];
  readonly rules?: readonly RuleHits<E>[];
  readonly dense?: readonly DenseHits<E>[];
}

/** Merges and de-duplicates the generators' lists, keeping each entity's provenance. */
export function mergeCandidates<E>(
  sources: CandidateSources<E>,
  idOf: (entity: E) => string,
  limit: number,
): MergedCandidate<E>[] {
  const { bm25 = [], rules = [], dense = [] } = sources;
  const byId = new Map<string, { entity: E; hits: GeneratorHit[] }>();
  const add = (entity: E, hit: GeneratorHit) => {
    const id = idOf(entity);
    const entry = byId.get(id);
    if (entry) entry.hits.push(hit);
    else byId.set(id, { entity, hits: [hit] });
  };
  const best = bm25.reduce((max, hit) => Math.max(max, hit.score), 0);
  bm25.forEach((hit, index) =>
    add(hit.entity, {
      generator: 'BM25',
      score: best > 0 ? hit.score / best : 0,
      rank: index + 1,
      matchedName: null,
    }),
  );
  const ranks = new Map<RuleName, number>();
  const ruleHits = rules
    .flatMap(({ entity, matches }) => matches.map((match) => ({ entity, match })))
    .sort((a, b) => b.match.score - a.match.score);
  for (const { entity, match } of ruleHits) {
    const rank = (ranks.get(match.rule) ?? 0) + 1;
    ranks.set(match.rule, rank);
    add(entity, {
      generator: match.rule,
      score: match.score,
      rank,
      matchedName: match.matchedName,
    });
  }
  for (const list of dense) {
    list.hits.forEach((hit, index) =>
      add(hit.entity, {
        generator: list.generator,
        // Negative cosine is no evidence at all.
        score: Math.max(0, Math.min(1, hit.cosine)),
        rank: index + 1,
        matchedName: null,
      }),
    );
  }
  // Each entry scored once; sorted, cut and returned without intermediate copies.
  const ranked: { id: string; candidate: MergedCandidate<E> }[] = [];
  for (const [id, { entity, hits }] of byId) {
    ranked.push({
      id,
      candidate: { entity, score: combineGeneratorScores(hits), generators: hits },
    });
  }
  ranked.sort(
    (a, b) => b.candidate.score - a.candidate.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return ranked.slice(0, limit).map(({ candidate }) => candidate);
}
