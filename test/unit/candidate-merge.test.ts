import { describe, it, expect } from 'vitest';
import {
  GENERATOR_WEIGHTS,
  combineGeneratorScores,
  mergeCandidates,
} from '../../src/candidates/merge.js';
import type { Bm25Hit, GeneratorHit, RuleHits } from '../../src/candidates/merge.js';
import type { RuleMatch, RuleName } from '../../src/candidates/rules.js';

interface Entity {
  readonly id: string;
}
const idOf = (entity: Entity) => entity.id;
const e = (id: string): Entity => ({ id });

function hit(generator: GeneratorHit['generator'], score: number): GeneratorHit {
  return { generator, score, rank: 1, matchedName: null };
}
function match(rule: RuleName, score: number, matchedName = 'name'): RuleMatch {
  return { rule, score, matchedName };
}

describe('combineGeneratorScores (noisy-OR)', () => {
  it('is 0 with no evidence', () => {
    expect(combineGeneratorScores([])).toBe(0);
  });

  it('is the weight times the score for one generator', () => {
    expect(combineGeneratorScores([hit('BM25', 1)])).toBeCloseTo(GENERATOR_WEIGHTS.BM25);
    expect(combineGeneratorScores([hit('CONTAINMENT', 0.5)])).toBeCloseTo(0.45);
  });

  it('combines independent evidence as 1 - product of misses', () => {
    // 1 - (1 - 0.9) * (1 - 0.6 * 0.5) * (1 - 0.85)
    expect(
      combineGeneratorScores([hit('CONTAINMENT', 1), hit('BM25', 0.5), hit('ACRONYM', 1)]),
    ).toBeCloseTo(1 - 0.1 * 0.7 * 0.15);
  });

  it('rises with agreement but stays below 1', () => {
    const one = combineGeneratorScores([hit('SHARED_WORDS', 1)]);
    const two = combineGeneratorScores([hit('SHARED_WORDS', 1), hit('BM25', 1)]);
    expect(two).toBeGreaterThan(one);
    expect(two).toBeLessThan(1);
  });

  it('trusts an exact-name rule more than BM25', () => {
    expect(GENERATOR_WEIGHTS.CONTAINMENT).toBeGreaterThan(GENERATOR_WEIGHTS.BM25);
    expect(GENERATOR_WEIGHTS.ACRONYM).toBeGreaterThan(GENERATOR_WEIGHTS.BM25);
  });
});

describe('mergeCandidates', () => {
  it('normalises BM25 scores by the best hit and ranks them in list order', () => {
    const bm25: Bm25Hit<Entity>[] = [
      { entity: e('a'), score: 8 },
      { entity: e('b'), score: 4 },
      { entity: e('c'), score: 2 },
    ];
    const merged = mergeCandidates({ bm25: bm25, rules: [] }, idOf, 10);
    expect(merged.map((candidate) => candidate.generators)).toEqual([
      [{ generator: 'BM25', score: 1, rank: 1, matchedName: null }],
      [{ generator: 'BM25', score: 0.5, rank: 2, matchedName: null }],
      [{ generator: 'BM25', score: 0.25, rank: 3, matchedName: null }],
    ]);
    expect(merged[0]?.score).toBeCloseTo(0.6);
    expect(merged[1]?.score).toBeCloseTo(0.3);
  });

  it('gives BM25 hits score 0 when every raw score is 0', () => {
    const merged = mergeCandidates({ bm25: [{ entity: e('a'), score: 0 }], rules: [] }, idOf, 10);
    expect(merged[0]?.generators[0]?.score).toBe(0);
    expect(merged[0]?.score).toBe(0);
  });

  it('keeps provenance: an entity found by BM25 and two rules has three hits with their ranks', () => {
    const bm25: Bm25Hit<Entity>[] = [
      { entity: e('x'), score: 10 },
      { entity: e('nasa'), score: 5 },
    ];
    const rules: RuleHits<Entity>[] = [
      { entity: e('y'), matches: [match('CONTAINMENT', 1, 'Y')] },
      {
        entity: e('nasa'),
        matches: [match('CONTAINMENT', 0.8, 'NASA HQ'), match('ACRONYM', 1, 'NASA')],
      },
    ];
    const merged = mergeCandidates({ bm25, rules }, idOf, 10);
    const nasa = merged.find((candidate) => candidate.entity.id === 'nasa');
    expect(nasa?.generators).toEqual([
      { generator: 'BM25', score: 0.5, rank: 2, matchedName: null },
      { generator: 'ACRONYM', score: 1, rank: 1, matchedName: 'NASA' },
      { generator: 'CONTAINMENT', score: 0.8, rank: 2, matchedName: 'NASA HQ' },
    ]);
    expect(nasa?.score).toBeCloseTo(combineGeneratorScores(nasa?.generators ?? []));
    expect(nasa?.score).toBeCloseTo(1 - (1 - 0.3) * (1 - 0.85) * (1 - 0.72));
  });

  it('ranks each rule by score, independently of other rules', () => {
    const rules: RuleHits<Entity>[] = [
      { entity: e('a'), matches: [match('SHARED_WORDS', 0.5)] },
      { entity: e('b'), matches: [match('SHARED_WORDS', 0.9), match('CONTAINMENT', 0.3)] },
      { entity: e('c'), matches: [match('CONTAINMENT', 0.6)] },
    ];
    const rankOf = (id: string, rule: RuleName) =>
      mergeCandidates({ bm25: [], rules: rules }, idOf, 10)
        .find((candidate) => candidate.entity.id === id)
        ?.generators.find((generator) => generator.generator === rule)?.rank;
    expect(rankOf('b', 'SHARED_WORDS')).toBe(1);
    expect(rankOf('a', 'SHARED_WORDS')).toBe(2);
    expect(rankOf('c', 'CONTAINMENT')).toBe(1);
    expect(rankOf('b', 'CONTAINMENT')).toBe(2);
  });

  it('returns each entity once, keeping the first entity object seen', () => {
    const first = { id: 'a', from: 'bm25' };
    const second = { id: 'a', from: 'rules' };
    const merged = mergeCandidates(
      {
        bm25: [{ entity: first, score: 1 }],
        rules: [{ entity: second, matches: [match('SHARED_WORDS', 1)] }],
      },
      (entity) => entity.id,
      10,
    );
    expect(merged).toHaveLength(1);
    expect(merged[0]?.entity).toBe(first);
    expect(merged[0]?.generators.map((generator) => generator.generator)).toEqual([
      'BM25',
      'SHARED_WORDS',
    ]);
  });

  it('orders by score descending, then by id ascending', () => {
    const rules: RuleHits<Entity>[] = [
      { entity: e('m'), matches: [match('SHARED_WORDS', 1)] },
      { entity: e('z'), matches: [match('CONTAINMENT', 1)] },
      { entity: e('b'), matches: [match('SHARED_WORDS', 1)] },
      { entity: e('a'), matches: [match('SHARED_WORDS', 0.2)] },
    ];
    expect(
      mergeCandidates({ bm25: [], rules: rules }, idOf, 10).map((candidate) => candidate.entity.id),
    ).toEqual(['z', 'b', 'm', 'a']);
  });

  it('cuts the merged list to the limit after sorting', () => {
    const bm25: Bm25Hit<Entity>[] = [
      { entity: e('low'), score: 1 },
      { entity: e('high'), score: 1 },
    ];
    const rules: RuleHits<Entity>[] = [{ entity: e('high'), matches: [match('CONTAINMENT', 1)] }];
    expect(
      mergeCandidates({ bm25, rules }, idOf, 1).map((candidate) => candidate.entity.id),
    ).toEqual(['high']);
    expect(mergeCandidates({ bm25, rules }, idOf, 0)).toEqual([]);
  });

  it('returns [] with no input', () => {
    expect(mergeCandidates({ bm25: [], rules: [] }, idOf, 10)).toEqual([]);
  });
});
