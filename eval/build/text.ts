/** Pure text helpers of the benchmark builder: concept keys, captions with mention offsets, riddles. */

/**
 * The concept key of a name: case- and diacritic-folded English, punctuation to spaces, leading
 * article dropped ("The Giraffe" → "giraffe", "flag: Côte d'Ivoire" → "flag cote d ivoire").
 */
export function conceptKey(name: string): string {
  const folded = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .replace(/^(the|a|an) /, '');
  return folded === '' ? name.toLowerCase() : folded;
}

/** "a" or "an" before a word (by its first letter; good enough for template captions). */
export function article(word: string): 'a' | 'an' {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

/** A piece of a caption: plain text, or a mention whose offsets are recorded. */
export type Piece = string | { mention: string; key: string };

export interface BuiltCaption {
  text: string;
  /** key → [start, end) in UTF-16 code units. */
  spans: Map<string, [number, number]>;
}

/** Join pieces into a caption, recording each mention's offsets. */
export function buildCaption(pieces: readonly Piece[]): BuiltCaption {
  let text = '';
  const spans = new Map<string, [number, number]>();
  for (const p of pieces) {
    if (typeof p === 'string') {
      text += p;
    } else {
      const start = text.length;
      text += p.mention;
      spans.set(p.key, [start, text.length]);
    }
  }
  return { text, spans };
}

/** Capitalise the first letter of a caption (mentions keep their own case). */
export function capitaliseFirst(pieces: Piece[]): Piece[] {
  const first = pieces[0];
  if (typeof first === 'string' && first.length > 0) {
    return [first.charAt(0).toUpperCase() + first.slice(1), ...pieces.slice(1)];
  }
  return pieces;
}

/** "x", "x and y", "x, y and z" as pieces, each item already a list of pieces. */
export function joinList(items: readonly Piece[][]): Piece[] {
  const out: Piece[] = [];
  items.forEach((item, k) => {
    if (k > 0) out.push(k === items.length - 1 ? ' and ' : ', ');
    out.push(...item);
  });
  return out;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Mask every whole-word occurrence of the names (case-insensitive, longest first) in a text with
 * "this". Returns the masked text and how many occurrences were masked.
 */
export function maskNames(
  text: string,
  names: readonly string[],
): { text: string; masked: number } {
  const uniq = [...new Set(names.map((n) => n.trim()).filter((n) => n.length >= 2))].sort(
    (a, b) => b.length - a.length,
  );
  if (uniq.length === 0) return { text, masked: 0 };
  const re = new RegExp(
    `(?<![\\p{L}\\p{N}])(?:${uniq.map(escapeRe).join('|')})(?![\\p{L}\\p{N}])`,
    'giu',
  );
  let masked = 0;
  const out = text.replace(re, () => {
    masked++;
    return 'this';
  });
  return { text: out, masked };
}

/** Words with a letter in them, for judging whether a riddle still says anything. */
export function contentWords(text: string): string[] {
  const stop = new Set(['a', 'an', 'the', 'this', 'of', 'and', 'or', 'in', 'on', 'with', 'is']);
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => /\p{L}/u.test(w) && !stop.has(w));
}

/**
 * A riddle from a description: the entity's names masked. Undefined when too little is left
 * (fewer than `minWords` content words besides "this"), e.g. Tux Paint's "A giraffe.".
 */
export function makeRiddle(
  description: string,
  names: readonly string[],
  minWords = 4,
): string | undefined {
  const { text } = maskNames(description, names);
  // "The Sioux were …" → "This were …": an article before the mask goes with the name.
  const t = text
    .replace(/\b(?:the|a|an) this\b/gi, (m) => (/^[A-Z]/.test(m) ? 'This' : 'this'))
    .replace(/\s+/g, ' ')
    .trim();
  if (contentWords(t).length < minWords) return undefined;
  // A riddle still naming the entity would be a named caption: refuse it.
  const folded = ` ${conceptKey(t)} `;
  if (names.some((n) => conceptKey(n).length >= 2 && folded.includes(` ${conceptKey(n)} `))) {
    return undefined;
  }
  return t;
}
