import { describe, it, expect } from 'vitest';
import { anyTermQuery, escapeLuceneTerm } from '../../src/candidates/lucene.js';

const SPECIAL = [
  '+',
  '-',
  '!',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '^',
  '"',
  '~',
  '*',
  '?',
  ':',
  '\\',
  '/',
  '&',
  '|',
];

describe('escapeLuceneTerm', () => {
  it.each(SPECIAL)('escapes %s', (character) => {
    expect(escapeLuceneTerm(`a${character}b`)).toBe(`a\\${character}b`);
  });

  it('escapes every special character in one term', () => {
    expect(escapeLuceneTerm(SPECIAL.join(''))).toBe(
      SPECIAL.map((character) => `\\${character}`).join(''),
    );
  });

  it('escapes the two-character operators && and || character by character', () => {
    expect(escapeLuceneTerm('a&&b||c')).toBe('a\\&\\&b\\|\\|c');
  });

  it('leaves ordinary text, digits and non-ASCII letters alone', () => {
    expect(escapeLuceneTerm('Zürich2024')).toBe('Zürich2024');
    expect(escapeLuceneTerm("o'brien.co_uk")).toBe("o'brien.co_uk");
  });

  it('turns upper-case operator words into ordinary lower-case terms', () => {
    for (const word of ['AND', 'OR', 'NOT', 'TO'])
      expect(escapeLuceneTerm(word)).toBe(word.toLowerCase());
  });

  it('keeps operator words that are not entirely upper-case, or longer words containing them', () => {
    expect(escapeLuceneTerm('and')).toBe('and');
    expect(escapeLuceneTerm('Not')).toBe('Not');
    expect(escapeLuceneTerm('ORACLE')).toBe('ORACLE');
    expect(escapeLuceneTerm('TOKYO')).toBe('TOKYO');
  });
});

describe('anyTermQuery', () => {
  it('joins escaped terms with spaces (Lucene default OR)', () => {
    expect(anyTermQuery(['c++', 'AND', 'rock&roll'])).toBe('c\\+\\+ and rock\\&roll');
  });

  it('removes duplicate terms, keeping first-seen order', () => {
    expect(anyTermQuery(['paris', 'texas', 'paris', 'texas'])).toBe('paris texas');
  });

  it('drops blank terms', () => {
    expect(anyTermQuery(['', '  ', 'x'])).toBe('x');
  });

  it('returns null when nothing is left to search', () => {
    expect(anyTermQuery([])).toBeNull();
    expect(anyTermQuery(['', ' \t '])).toBeNull();
  });
});
