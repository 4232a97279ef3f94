import { describe, it, expect } from 'vitest';
import { matchRules } from '../../src/candidates/rules.js';
import type { RuleMatch, RuleName } from '../../src/candidates/rules.js';

function ruleOf(mention: string, names: readonly string[], rule: RuleName): RuleMatch | undefined {
  return matchRules(mention, names).find((match) => match.rule === rule);
}

function rulesFired(mention: string, names: readonly string[]): RuleName[] {
  return matchRules(mention, names).map((match) => match.rule);
}

describe('matchRules: general behaviour', () => {
  it('returns [] for an empty mention, no names or names empty after folding', () => {
    expect(matchRules('', ['Paris'])).toEqual([]);
    expect(matchRules('  ...  ', ['Paris'])).toEqual([]);
    expect(matchRules('Paris', [])).toEqual([]);
    expect(matchRules('Paris', ['', '—', '  '])).toEqual([]);
  });

  it('returns [] when nothing matches', () => {
    expect(matchRules('Berlin', ['Paris', 'City of Light'])).toEqual([]);
  });

  it('gives at most one match per rule, with the best-scoring name', () => {
    const matches = matchRules('Paris', ['Paris, Texas', 'Paris', 'Paris Hilton Hotel']);
    expect(matches.map((match) => match.rule).sort()).toEqual(['CONTAINMENT', 'SHARED_WORDS']);
    for (const match of matches) {
      expect(match.matchedName).toBe('Paris');
      expect(match.score).toBe(1);
    }
  });

  it('sorts by score, highest first', () => {
    const matches = matchRules('NASA', [
      'NASA headquarters',
      'National Aeronautics and Space Administration',
    ]);
    expect(matches.map((match) => [match.rule, match.score])).toEqual([
      ['ACRONYM', 1],
      ['CONTAINMENT', 0.725],
      ['SHARED_WORDS', 0.5],
    ]);
  });

  it('breaks score ties by rule order, deterministically', () => {
    expect(rulesFired('Zürich', ['Zurich'])).toEqual(['SHARED_WORDS', 'CONTAINMENT']);
  });

  it('keeps the earlier name when two names score the same', () => {
    expect(ruleOf('Paris', ['Paris Texas', 'Paris Hilton'], 'CONTAINMENT')?.matchedName).toBe(
      'Paris Texas',
    );
  });

  it('reports the matched name in its original form', () => {
    expect(ruleOf('sao paulo', ['São Paulo'], 'CONTAINMENT')?.matchedName).toBe('São Paulo');
  });

  it('always scores in (0, 1]', () => {
    const cases: [string, string[]][] = [
      ['the Bank', ['Bank of America', 'BoA', 'America']],
      ['New York City', ['New York', 'NYC', 'York']],
      ['IBM', ['International Business Machines', 'IBM Research']],
    ];
    for (const [mention, names] of cases) {
      for (const match of matchRules(mention, names)) {
        expect(match.score).toBeGreaterThan(0);
        expect(match.score).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('matchRules: SHARED_WORDS', () => {
  it('scores |shared| / |union| of content words', () => {
    expect(ruleOf('Bank of America', ['America First Bank'], 'SHARED_WORDS')?.score).toBeCloseTo(
      2 / 3,
    );
    expect(
      ruleOf('University of Oxford', ['Oxford Brookes University'], 'SHARED_WORDS')?.score,
    ).toBeCloseTo(2 / 3);
    expect(ruleOf('Oxford', ['University of Oxford'], 'SHARED_WORDS')?.score).toBeCloseTo(1 / 2);
  });

  it('ignores stop words when counting', () => {
    expect(ruleOf('The University', ['University of the Arts'], 'SHARED_WORDS')?.score).toBeCloseTo(
      1 / 2,
    );
  });

  it('does not fire on shared stop words alone', () => {
    expect(ruleOf('The Bank', ['The River'], 'SHARED_WORDS')).toBeUndefined();
    expect(ruleOf('Bank of Spain', ['Museum of Art'], 'SHARED_WORDS')).toBeUndefined();
  });

  it('does not fire for a stop-word-only mention', () => {
    expect(ruleOf('The', ['The Beatles', 'The'], 'SHARED_WORDS')).toBeUndefined();
    expect(ruleOf('of the', ['Lord of the Rings'], 'SHARED_WORDS')).toBeUndefined();
  });

  it('counts repeated words once', () => {
    expect(ruleOf('New New York', ['New York'], 'SHARED_WORDS')?.score).toBe(1);
  });

  it('matches across case, punctuation and diacritics', () => {
    expect(ruleOf('ZÜRICH airport', ['Zurich'], 'SHARED_WORDS')?.score).toBeCloseTo(1 / 2);
    expect(ruleOf('St. Petersburg', ['St Petersburg'], 'SHARED_WORDS')?.score).toBe(1);
  });

  it('matches whole words only', () => {
    expect(ruleOf('Ran', ['France'], 'SHARED_WORDS')).toBeUndefined();
  });

  it('treats possessives as the word itself', () => {
    expect(ruleOf("McDonald's", ['McDonald Farm'], 'SHARED_WORDS')?.score).toBeCloseTo(1 / 2);
  });

  it('works for non-Latin scripts', () => {
    expect(ruleOf('Москва река', ['Москва'], 'SHARED_WORDS')?.score).toBeCloseTo(1 / 2);
  });
});

describe('matchRules: CONTAINMENT', () => {
  it('scores 1 for equality after folding', () => {
    expect(ruleOf('Zurich', ['Zürich'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('Sao Paulo', ['São Paulo'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('St. Petersburg', ['St Petersburg'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('NEW YORK', ['new york'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('U.S.A.', ['USA'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('Hewlett-Packard', ['Hewlett Packard'], 'CONTAINMENT')?.score).toBe(1);
  });

  it('counts exact equality even when every word is a stop word', () => {
    expect(ruleOf('The Who', ['The Who'], 'CONTAINMENT')?.score).toBe(1);
  });

  it('fires when the mention is longer than the name', () => {
    const match = ruleOf('Paris, Texas', ['Paris'], 'CONTAINMENT');
    expect(match?.score).toBeCloseTo(0.5 + 0.45 * (1 / 2));
  });

  it('fires when the name is longer than the mention', () => {
    const match = ruleOf('Oxford', ['University of Oxford'], 'CONTAINMENT');
    expect(match?.score).toBeCloseTo(0.5 + 0.45 * (1 / 3));
  });

  it('scores strict containment in (0.5, 0.95], closer coverage scoring higher', () => {
    const half = ruleOf('New York', ['New York City Hall'], 'CONTAINMENT')?.score ?? 0;
    const most = ruleOf('New York City', ['New York City Hall'], 'CONTAINMENT')?.score ?? 0;
    const little = ruleOf('Hall', ['New York City Hall'], 'CONTAINMENT')?.score ?? 0;
    for (const score of [half, most, little]) {
      expect(score).toBeGreaterThan(0.5);
      expect(score).toBeLessThanOrEqual(0.95);
    }
    expect(most).toBeGreaterThan(half);
    expect(half).toBeGreaterThan(little);
  });

  it('requires a contiguous run of tokens', () => {
    expect(ruleOf('New City', ['New York City'], 'CONTAINMENT')).toBeUndefined();
    expect(ruleOf('York New', ['New York City'], 'CONTAINMENT')).toBeUndefined();
  });

  it('does not match part of a word', () => {
    expect(matchRules('Ran', ['France'])).toEqual([]);
    expect(matchRules('York', ['Yorkshire'])).toEqual([]);
    expect(matchRules('Paris', ['Parisian Hotel'])).toEqual([]);
  });

  it('does not count containment of stop words only', () => {
    expect(matchRules('The', ['The Beatles'])).toEqual([]);
    expect(ruleOf('of the', ['Lord of the Rings'], 'CONTAINMENT')).toBeUndefined();
    expect(ruleOf('The Beatles', ['The'], 'CONTAINMENT')).toBeUndefined();
  });

  it('does not fire between different names of equal length', () => {
    expect(ruleOf('New York', ['New Jersey'], 'CONTAINMENT')).toBeUndefined();
  });

  it('works for one-word names and non-Latin scripts', () => {
    expect(ruleOf('Москва', ['Москва'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('東京', ['東京'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('Αθήνα', ['ΑΘΗΝΑ'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('東京', ['東京タワー'], 'CONTAINMENT')).toBeUndefined();
  });

  it('handles possessives and dotted acronyms inside longer text', () => {
    expect(ruleOf("McDonald's", ['McDonald'], 'CONTAINMENT')?.score).toBe(1);
    expect(ruleOf('U.S. Army', ['US Army Corps of Engineers'], 'CONTAINMENT')?.score).toBeCloseTo(
      0.5 + 0.45 * (2 / 5),
    );
  });
});

describe('matchRules: ACRONYM', () => {
  const nasa = 'National Aeronautics and Space Administration';

  it('matches an acronym mention against a multi-word name', () => {
    expect(ruleOf('NASA', [nasa], 'ACRONYM')).toEqual({
      rule: 'ACRONYM',
      score: 1,
      matchedName: nasa,
    });
  });

  it('matches a multi-word mention against an acronym name', () => {
    expect(ruleOf(nasa, ['NASA'], 'ACRONYM')).toEqual({
      rule: 'ACRONYM',
      score: 1,
      matchedName: 'NASA',
    });
    expect(
      ruleOf('International Business Machines', ['Big Blue', 'IBM'], 'ACRONYM')?.matchedName,
    ).toBe('IBM');
  });

  it('accepts the all-words initialism too', () => {
    expect(ruleOf('BOA', ['Bank of America'], 'ACRONYM')?.score).toBe(1);
    expect(ruleOf('BA', ['Bank of America'], 'ACRONYM')?.score).toBe(1);
  });

  it('accepts dotted acronyms', () => {
    expect(ruleOf('U.S.A.', ['United States of America'], 'ACRONYM')?.score).toBe(1);
    expect(ruleOf('United States', ['U.S.'], 'ACRONYM')?.score).toBe(1);
  });

  it('scores 0.8 when the single word is not written as an acronym', () => {
    expect(ruleOf('Nasa', [nasa], 'ACRONYM')?.score).toBe(0.8);
    expect(ruleOf('nasa', [nasa], 'ACRONYM')?.score).toBe(0.8);
    expect(ruleOf(nasa, ['Nasa'], 'ACRONYM')?.score).toBe(0.8);
  });

  it('prefers the name written as an acronym', () => {
    expect(ruleOf('International Business Machines', ['Ibm', 'IBM'], 'ACRONYM')).toEqual({
      rule: 'ACRONYM',
      score: 1,
      matchedName: 'IBM',
    });
  });

  it('counts hyphenated parts as words', () => {
    expect(ruleOf('HP', ['Hewlett-Packard'], 'ACRONYM')?.score).toBe(1);
  });

  it('handles possessive acronyms', () => {
    expect(ruleOf("NASA's", [nasa], 'ACRONYM')?.score).toBe(1);
  });

  it('accepts an acronym that is also a stop word', () => {
    expect(ruleOf('WHO', ['World Health Organization'], 'ACRONYM')?.score).toBe(1);
  });

  it('does not fire when both sides are single words', () => {
    expect(ruleOf('NASA', ['Nasa'], 'ACRONYM')).toBeUndefined();
    expect(ruleOf('NASA', ['NASA'], 'ACRONYM')).toBeUndefined();
  });

  it('does not fire when both sides have several words', () => {
    expect(ruleOf('NASA Ames', [nasa], 'ACRONYM')).toBeUndefined();
  });

  it('does not fire on a wrong initialism', () => {
    expect(ruleOf('NSA', [nasa], 'ACRONYM')).toBeUndefined();
    expect(ruleOf('ASAN', [nasa], 'ACRONYM')).toBeUndefined();
  });

  it('works for non-Latin scripts and digits', () => {
    expect(ruleOf('СССР', ['Союз Советских Социалистических Республик'], 'ACRONYM')?.score).toBe(1);
    expect(ruleOf('F1', ['Formula 1'], 'ACRONYM')?.score).toBe(1);
  });

  it('uses folded initials', () => {
    expect(ruleOf('EZ', ['Émile Zola'], 'ACRONYM')?.score).toBe(1);
  });
});

describe('matchRules: combined', () => {
  it('fires several rules for one entity', () => {
    const names = ['National Aeronautics and Space Administration', 'NASA'];
    expect(rulesFired('NASA', names)).toEqual(['SHARED_WORDS', 'CONTAINMENT', 'ACRONYM']);
  });

  it('matches any of the names (name or alias)', () => {
    expect(
      ruleOf('Big Blue', ['International Business Machines', 'Big Blue'], 'CONTAINMENT')
        ?.matchedName,
    ).toBe('Big Blue');
  });
});
