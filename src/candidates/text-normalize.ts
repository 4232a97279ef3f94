/**
 * Text normalisation shared by candidate generation: folding, tokens, stop
 * words and initialisms. Everything here is pure and locale-independent, so the
 * keys stored on entities and the keys computed for a mention always agree.
 *
 * Invariant: `tokenize(s).join(' ') === foldText(s)`.
 */

/** "U.S.A.", "U.S", "D.C." — single letters joined by dots, not inside a word or a dotted name. */
const DOTTED_ACRONYM = /(?<![\p{L}\p{N}.])\p{L}(?:\.\p{L})+\.?(?![\p{L}\p{N}])/gu;

/** "McDonald's", "NASA’s": the possessive ending, which carries no meaning for matching. */
const POSSESSIVE_S = /(?<=[\p{L}\p{N}])['’ʼ]s(?![\p{L}\p{N}])/giu;

/**
 * Combining marks after a Latin or Greek letter are diacritics ("ü", "ή") and go.
 * Marks after other scripts are often part of the letter (Devanagari vowel signs,
 * kana voicing, Cyrillic "й"), so those stay and are recomposed by NFC.
 */
const LATIN_OR_GREEK_DIACRITICS = /(?<=[\p{Script=Latin}\p{Script=Greek}])\p{M}+/gu;

const NOT_WORD_CHARACTERS = /[^\p{L}\p{M}\p{N}]+/gu;

/** Letters NFKD leaves whole although readers treat them as plain Latin. */
const SPECIAL_LETTERS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  ø: 'o',
  œ: 'oe',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};
const SPECIAL_LETTER = new RegExp(`[${Object.keys(SPECIAL_LETTERS).join('')}]`, 'gu');

function joinDottedAcronyms(s: string): string {
  return s.replace(DOTTED_ACRONYM, (dotted) => dotted.replaceAll('.', ''));
}

function dropPossessives(s: string): string {
  return s.replace(POSSESSIVE_S, '');
}

function stripDiacritics(s: string): string {
  return s.normalize('NFKD').toLowerCase().replace(LATIN_OR_GREEK_DIACRITICS, '');
}

function mapSpecialLetters(s: string): string {
  return s.replace(SPECIAL_LETTER, (letter) => SPECIAL_LETTERS[letter] ?? letter);
}

/**
 * Lower-case, diacritic-free, punctuation-free form: words separated by single
 * spaces. Dotted acronyms are joined ("U.S.A." -> "usa") and possessive "'s"
 * dropped first, so that the folded form equals the joined tokens.
 */
export function foldText(s: string): string {
  const prepared = dropPossessives(joinDottedAcronyms(s));
  return mapSpecialLetters(stripDiacritics(prepared))
    .normalize('NFC')
    .replace(NOT_WORD_CHARACTERS, ' ')
    .trim();
}

/** Words of the folded text; hyphens and apostrophes separate words. */
export function tokenize(s: string): string[] {
  return foldText(s)
    .split(' ')
    .filter((token) => token.length > 0);
}

/**
 * English function words. Left out on purpose although they are function
 * words: "us", "may", "will", "can" — after folding they are just as often
 * names ("U.S.", Theresa May, Will Smith, the band Can).
 */
// prettier-ignore
export const STOP_WORDS: ReadonlySet<string> = new Set([
  // articles and determiners
  'a', 'an', 'the', 'this', 'that', 'these', 'those', 'some', 'any', 'each',
  'every', 'either', 'neither', 'all', 'both', 'few', 'more', 'most', 'other',
  'such', 'own', 'same', 'no', 'not', 'nor', 'only', 'very', 'too', 'just',
  'also', 'than', 'then', 'there', 'here',
  // prepositions
  'of', 'in', 'on', 'at', 'to', 'from', 'by', 'for', 'with', 'without',
  'about', 'against', 'between', 'into', 'onto', 'through', 'during', 'before',
  'after', 'above', 'below', 'up', 'down', 'out', 'off', 'over', 'under',
  'upon', 'within', 'among', 'across', 'along', 'around', 'behind', 'beyond',
  'toward', 'towards', 'via', 'per',
  // conjunctions
  'and', 'or', 'but', 'so', 'yet', 'if', 'because', 'as', 'while', 'although',
  'though', 'whether', 'until', 'unless', 'once',
  // pronouns
  'i', 'me', 'my', 'mine', 'myself', 'we', 'our', 'ours', 'ourselves', 'you',
  'your', 'yours', 'yourself', 'yourselves', 'he', 'him', 'his', 'himself',
  'she', 'her', 'hers', 'herself', 'it', 'its', 'itself', 'they', 'them',
  'their', 'theirs', 'themselves', 'who', 'whom', 'whose', 'which', 'what',
  'when', 'where', 'why', 'how',
  // auxiliaries
  'am', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'have', 'has',
  'had', 'having', 'do', 'does', 'did', 'doing', 'would', 'shall', 'should',
  'could', 'might', 'must',
]);

export function isStopWord(token: string): boolean {
  return STOP_WORDS.has(token);
}

/** Tokens that carry meaning: all tokens except stop words. */
export function contentTokens(s: string): string[] {
  return tokenize(s).filter((token) => !isStopWord(token));
}

export interface InitialismOptions {
  /**
   * Which words contribute initials: 'all' tokens, 'content' tokens only, or
   * 'both' variants (default) — "Bank of America" is written "BoA" and "BA".
   */
  readonly words?: 'all' | 'content' | 'both';
}

/** An initialism shorter than this says nothing ("The Beatles" -> "b"). */
const MIN_INITIALISM_LENGTH = 2;

function initialsOf(tokens: readonly string[]): string {
  // Array.from keeps letters outside the BMP whole.
  return tokens.map((token) => Array.from(token)[0] ?? '').join('');
}

/**
 * Initials of the words of `s`, deduplicated, all-tokens variant first:
 * "National Aeronautics and Space Administration" -> ["naasa", "nasa"].
 * A single word has no initialism, so it gives [].
 */
export function initialism(s: string, options: InitialismOptions = {}): string[] {
  const tokens = tokenize(s);
  if (tokens.length < 2) return [];
  const words = options.words ?? 'both';
  const variants: string[] = [];
  if (words !== 'content') variants.push(initialsOf(tokens));
  if (words !== 'all') variants.push(initialsOf(tokens.filter((token) => !isStopWord(token))));
  return unique(variants.filter((variant) => variant.length >= MIN_INITIALISM_LENGTH));
}

const ALL_CAPS = /^(?=.*\p{Lu})[\p{Lu}\p{N}]{2,10}$/u;
const DOTTED_CAPS = /^\p{Lu}(?:\.\p{Lu}){1,9}\.?$/u;

/**
 * Whether `s` is written as an acronym: one token of 2–10 capitals/digits
 * ("NASA", "3M") or dotted capitals ("U.S.A."). Mixed case ("Nasa") is not
 * accepted: a capitalised word is usually an ordinary name ("Paris"), and only
 * the writer's all-caps or dots say it stands for a longer name.
 */
export function looksLikeAcronym(s: string): boolean {
  const written = dropPossessives(s.trim());
  return ALL_CAPS.test(written) || DOTTED_CAPS.test(written);
}

export interface NameKeys {
  /** foldText of each name, empties dropped, deduplicated. */
  readonly folded: string[];
  /** initialism() of each multi-word name, deduplicated. */
  readonly initialisms: string[];
}

/** Lookup keys stored on an entity so a pool query can find exact and acronym matches. */
export function nameKeys(names: readonly string[]): NameKeys {
  return {
    folded: unique(names.map(foldText).filter((folded) => folded.length > 0)),
    initialisms: unique(names.flatMap((name) => initialism(name))),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
