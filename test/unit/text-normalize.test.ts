import { describe, it, expect } from 'vitest';
import {
  STOP_WORDS,
  contentTokens,
  foldText,
  initialism,
  isStopWord,
  looksLikeAcronym,
  nameKeys,
  tokenize,
} from '../../src/candidates/text-normalize.js';

describe('foldText', () => {
  it.each([
    ['Zürich', 'zurich'],
    ['São Paulo', 'sao paulo'],
    ['Nguyễn Văn Linh', 'nguyen van linh'],
    ['Crème Brûlée', 'creme brulee'],
    ['İstanbul', 'istanbul'],
  ])('strips diacritics: %s -> %s', (input, expected) => {
    expect(foldText(input)).toBe(expected);
  });

  it.each([
    ['Straße', 'strasse'],
    ['STRAẞE', 'strasse'],
    ['Ærø', 'aero'],
    ['Øresund', 'oresund'],
    ['Œuvre', 'oeuvre'],
    ['Łódź', 'lodz'],
    ['Đà Nẵng', 'da nang'],
    ['Þingvellir', 'thingvellir'],
    ['Guðrún', 'gudrun'],
  ])('maps letters NFKD leaves whole: %s -> %s', (input, expected) => {
    expect(foldText(input)).toBe(expected);
  });

  it('applies compatibility decomposition (ligatures, full-width, superscripts)', () => {
    expect(foldText('ﬁnance')).toBe('finance');
    expect(foldText('ＡＢＣ')).toBe('abc');
    expect(foldText('E=mc²')).toBe('e mc2');
  });

  it('lower-cases', () => {
    expect(foldText('NEW York')).toBe('new york');
  });

  it('turns punctuation and symbols into single spaces and trims', () => {
    expect(foldText('  St. Petersburg!! ')).toBe('st petersburg');
    expect(foldText('Hewlett-Packard')).toBe('hewlett packard');
    expect(foldText('AT&T / Verizon')).toBe('at t verizon');
    expect(foldText('a\t\n b')).toBe('a b');
  });

  it('keeps other scripts, lower-cased', () => {
    expect(foldText('Москва')).toBe('москва');
    expect(foldText('ΑΘΗΝΑ')).toBe('αθηνα');
    expect(foldText('東京タワー')).toBe('東京タワー');
    expect(foldText('서울')).toBe('서울');
  });

  it('keeps marks that are part of letters outside Latin and Greek', () => {
    expect(foldText('हिन्दी')).toBe('हिन्दी');
    expect(foldText('ガンダム')).toBe('ガンダム');
    expect(foldText('Йошкар-Ола')).toBe('йошкар ола');
  });

  it('strips Greek accents', () => {
    expect(foldText('Αθήνα')).toBe('αθηνα');
  });

  it('joins dotted acronyms and drops possessives', () => {
    expect(foldText('U.S.A.')).toBe('usa');
    expect(foldText("McDonald's")).toBe('mcdonald');
  });

  it('returns an empty string for empty or punctuation-only input', () => {
    expect(foldText('')).toBe('');
    expect(foldText('   ')).toBe('');
    expect(foldText('!?…—')).toBe('');
  });
});

describe('tokenize', () => {
  it('splits folded text into words', () => {
    expect(tokenize('The University of Zürich')).toEqual(['the', 'university', 'of', 'zurich']);
  });

  it('returns [] for empty input', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' - ')).toEqual([]);
  });

  it('drops the possessive s, with straight or curly apostrophes', () => {
    expect(tokenize("McDonald's")).toEqual(['mcdonald']);
    expect(tokenize('NASA’s budget')).toEqual(['nasa', 'budget']);
    expect(tokenize("NASA'S")).toEqual(['nasa']);
  });

  it('splits on other apostrophes and plural possessives', () => {
    expect(tokenize("O'Brien")).toEqual(['o', 'brien']);
    expect(tokenize("the Smiths' house")).toEqual(['the', 'smiths', 'house']);
  });

  it('keeps an s that starts a word after an apostrophe', () => {
    expect(tokenize("rock 'n' roll")).toEqual(['rock', 'n', 'roll']);
    expect(tokenize("'sup")).toEqual(['sup']);
  });

  it('joins dotted acronyms into one token', () => {
    expect(tokenize('U.S.A.')).toEqual(['usa']);
    expect(tokenize('U.S.A')).toEqual(['usa']);
    expect(tokenize('U.S. Army')).toEqual(['us', 'army']);
    expect(tokenize('Washington, D.C.')).toEqual(['washington', 'dc']);
    expect(tokenize("U.S.'s allies")).toEqual(['us', 'allies']);
  });

  it('does not join abbreviations that are not single dotted letters', () => {
    expect(tokenize('St. Petersburg')).toEqual(['st', 'petersburg']);
    expect(tokenize('J. Smith')).toEqual(['j', 'smith']);
    expect(tokenize('J.Smith')).toEqual(['j', 'smith']);
    expect(tokenize('example.com')).toEqual(['example', 'com']);
  });

  it('splits hyphenated words', () => {
    expect(tokenize('Hewlett-Packard')).toEqual(['hewlett', 'packard']);
  });

  it('keeps digits', () => {
    expect(tokenize('Apollo 11')).toEqual(['apollo', '11']);
    expect(tokenize('3M')).toEqual(['3m']);
  });

  it('always joins back to foldText', () => {
    for (const s of ['U.S. Army', "McDonald's", 'São Paulo', '  x  y ', '']) {
      expect(tokenize(s).join(' ')).toBe(foldText(s));
    }
  });
});

describe('STOP_WORDS', () => {
  it('contains common English function words', () => {
    for (const word of [
      'the',
      'a',
      'an',
      'of',
      'and',
      'or',
      'in',
      'he',
      'they',
      'is',
      'was',
      'have',
    ]) {
      expect(STOP_WORDS.has(word), word).toBe(true);
    }
  });

  it('does not contain content words', () => {
    for (const word of ['paris', 'bank', 'national', 'space', 'university', 'new', 'river']) {
      expect(STOP_WORDS.has(word), word).toBe(false);
    }
  });

  it('leaves out function words that double as names', () => {
    for (const word of ['us', 'may', 'will', 'can']) {
      expect(STOP_WORDS.has(word), word).toBe(false);
    }
  });

  it('is of the intended size and holds only folded single words', () => {
    expect(STOP_WORDS.size).toBeGreaterThanOrEqual(100);
    expect(STOP_WORDS.size).toBeLessThanOrEqual(160);
    for (const word of STOP_WORDS) expect(tokenize(word)).toEqual([word]);
  });

  it('isStopWord matches the set', () => {
    expect(isStopWord('the')).toBe(true);
    expect(isStopWord('paris')).toBe(false);
  });
});

describe('contentTokens', () => {
  it('removes stop words', () => {
    expect(contentTokens('The University of Oxford')).toEqual(['university', 'oxford']);
  });

  it('folds before checking stop words', () => {
    expect(contentTokens('THE Bank OF America')).toEqual(['bank', 'america']);
  });

  it('returns [] for stop-word-only and empty input', () => {
    expect(contentTokens('The')).toEqual([]);
    expect(contentTokens('of the and')).toEqual([]);
    expect(contentTokens('')).toEqual([]);
  });
});

describe('initialism', () => {
  it('gives the all-words and content-words variants', () => {
    expect(initialism('National Aeronautics and Space Administration')).toEqual(['naasa', 'nasa']);
    expect(initialism('Bank of America')).toEqual(['boa', 'ba']);
  });

  it('deduplicates when there are no stop words', () => {
    expect(initialism('International Business Machines')).toEqual(['ibm']);
  });

  it('counts hyphenated parts as words', () => {
    expect(initialism('Hewlett-Packard')).toEqual(['hp']);
  });

  it('returns [] for a single word or empty input', () => {
    expect(initialism('NASA')).toEqual([]);
    expect(initialism('Zürich')).toEqual([]);
    expect(initialism('U.S.A.')).toEqual([]);
    expect(initialism('')).toEqual([]);
  });

  it('drops a variant shorter than two letters', () => {
    expect(initialism('The Beatles')).toEqual(['tb']);
    expect(initialism('of the')).toEqual(['ot']);
  });

  it('uses folded initials', () => {
    expect(initialism('Émile Zola')).toEqual(['ez']);
    expect(initialism('Organisation du Traité de l’Atlantique Nord')).toEqual(['odtdlan']);
  });

  it('works for other scripts and digits', () => {
    expect(initialism('Союз Советских Социалистических Республик')).toEqual(['ссср']);
    expect(initialism('Formula 1')).toEqual(['f1']);
  });

  it('can return one variant only', () => {
    const name = 'National Aeronautics and Space Administration';
    expect(initialism(name, { words: 'all' })).toEqual(['naasa']);
    expect(initialism(name, { words: 'content' })).toEqual(['nasa']);
    expect(initialism(name, { words: 'both' })).toEqual(['naasa', 'nasa']);
  });
});

describe('looksLikeAcronym', () => {
  it.each([
    'NASA',
    'IBM',
    'NATO',
    'U.S.A.',
    'U.S.A',
    'U.S',
    '3M',
    'G20',
    'СССР',
    ' NASA ',
    "NASA's",
  ])('accepts %j', (s) => {
    expect(looksLikeAcronym(s)).toBe(true);
  });

  it.each([
    'Nasa',
    'nasa',
    'n.a.s.a.',
    'A',
    'A.',
    '2020',
    'ABCDEFGHIJK',
    'U.S. Army',
    'NASA HQ',
    'AT&T',
    '',
    'Ünited',
  ])('rejects %j', (s) => {
    expect(looksLikeAcronym(s)).toBe(false);
  });

  it('accepts up to ten characters', () => {
    expect(looksLikeAcronym('ABCDEFGHIJ')).toBe(true);
    expect(looksLikeAcronym('A.B.C.D.E.F.G.H.I.J.')).toBe(true);
    expect(looksLikeAcronym('A.B.C.D.E.F.G.H.I.J.K.')).toBe(false);
  });
});

describe('nameKeys', () => {
  it('stores folded names and initialisms of multi-word names', () => {
    expect(nameKeys(['NASA', 'National Aeronautics and Space Administration'])).toEqual({
      folded: ['nasa', 'national aeronautics and space administration'],
      initialisms: ['naasa', 'nasa'],
    });
  });

  it('deduplicates folded names and drops empty ones', () => {
    expect(nameKeys(['Zürich', 'Zurich', 'ZÜRICH', '', '...']).folded).toEqual(['zurich']);
  });

  it('deduplicates initialisms across names', () => {
    expect(nameKeys(['Hewlett-Packard', 'Hewlett Packard', 'HP Inc.']).initialisms).toEqual([
      'hp',
      'hi',
    ]);
  });

  it('has no initialisms for single-word names', () => {
    expect(nameKeys(['Paris', 'U.S.A.']).initialisms).toEqual([]);
    expect(nameKeys(['U.S.A.']).folded).toEqual(['usa']);
  });

  it('returns empty keys for no names', () => {
    expect(nameKeys([])).toEqual({ folded: [], initialisms: [] });
  });
});
