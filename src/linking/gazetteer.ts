/**
 * The graph as a gazetteer for mention detection: which registered names and aliases occur in a
 * caption as whole words, compared folded (case, diacritics and punctuation, as candidate
 * generation compares them), with their exact offsets in the caption.
 *
 * The `entity_names` full-text index gives the entities sharing a content word with the caption;
 * each of their names is then looked for in the caption's folded words here, so a name only
 * counts when all its words occur in order, whole ("Ran" is not in "France").
 */
import { anyTermQuery } from '../candidates/lucene.js';
import { contentTokens, isStopWord, tokenize } from '../candidates/text-normalize.js';
import type { Graph } from '../neo4j/driver.js';
import { findEntityNamesByWords, type EntityNames } from '../neo4j/entity-repository.js';
import type { Gazetteer, MentionSpan } from './mentions.js';

/** A name written in the caption exactly as registered, and one found only after folding. */
export const EXACT_NAME_SCORE = 1;
export const FOLDED_NAME_SCORE = 0.9;

/** How many entities of the names index are checked per caption. */
export const DEFAULT_POOL_SIZE = 500;
/** Lucene's default limit on the clauses of one query is 1,024. */
const MAX_QUERY_TERMS = 512;

/** One folded word of a caption and where its original word lies. */
export interface CaptionToken {
  readonly folded: string;
  /** UTF-16 offsets of the original word this token comes from. */
  readonly start: number;
  readonly end: number;
  /** Whether the token begins / ends its original word (NFKD can make several tokens of one word). */
  readonly opensWord: boolean;
  readonly closesWord: boolean;
}

// The same patterns foldText applies, so the tokens here are exactly tokenize(caption).
const DOTTED_ACRONYM = /(?<![\p{L}\p{N}.])\p{L}(?:\.\p{L})+\.?(?![\p{L}\p{N}])/uy;
const POSSESSIVE_S = /(?<=[\p{L}\p{N}])['’ʼ]s(?![\p{L}\p{N}])/iuy;
const POSSESSIVE_AFTER_ACRONYM = /['’ʼ]s(?![\p{L}\p{N}])/iuy;
const WORD = /[\p{L}\p{M}\p{N}]+/uy;

function stickyMatch(pattern: RegExp, text: string, at: number): string | null {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0] ?? null;
}

/**
 * The caption's tokens as `tokenize` folds them (`captionTokens(s).map(t => t.folded)` equals
 * `tokenize(s)`), each with the offsets of the original word: a dotted acronym ("U.S.A.") is one
 * word, a possessive "'s" is no word, every other run of letters, marks and digits is one.
 */
export function captionTokens(caption: string): CaptionToken[] {
  const tokens: CaptionToken[] = [];
  let at = 0;
  while (at < caption.length) {
    const acronym = stickyMatch(DOTTED_ACRONYM, caption, at);
    if (acronym !== null) {
      pushWord(tokens, caption, at, at + acronym.length);
      at += acronym.length;
      at += stickyMatch(POSSESSIVE_AFTER_ACRONYM, caption, at)?.length ?? 0;
      continue;
    }
    const possessive = stickyMatch(POSSESSIVE_S, caption, at);
    if (possessive !== null) {
      at += possessive.length;
      continue;
    }
    const word = stickyMatch(WORD, caption, at);
    if (word !== null) {
      pushWord(tokens, caption, at, at + word.length);
      at += word.length;
      continue;
    }
    // One code point of anything else; never half of a surrogate pair.
    at += (caption.codePointAt(at) ?? 0) > 0xffff ? 2 : 1;
  }
  return tokens;
}

function pushWord(tokens: CaptionToken[], caption: string, start: number, end: number): void {
  const folded = tokenize(caption.slice(start, end));
  folded.forEach((token, index) =>
    tokens.push({
      folded: token,
      start,
      end,
      opensWord: index === 0,
      closesWord: index === folded.length - 1,
    }),
  );
}

/** Where a token sequence occurs in the caption as whole words: [first, last] token indexes. */
function occurrences(
  haystack: readonly CaptionToken[],
  needle: readonly string[],
): [number, number][] {
  const found: [number, number][] = [];
  for (let first = 0; first + needle.length <= haystack.length; first++) {
    const last = first + needle.length - 1;
    if (!haystack[first]?.opensWord || !haystack[last]?.closesWord) continue;
    if (needle.every((token, i) => haystack[first + i]?.folded === token))
      found.push([first, last]);
  }
  return found;
}

/**
 * The names and aliases of the given entities that occur in the caption as whole words, compared
 * folded; one span per distinct range, its `entityHints` in the order the entities were given
 * (entities whose name is written exactly as in the caption first). Names made only of stop words
 * ("The Who") are not looked for: they would match nearly every caption.
 */
export function findNamesInCaption(
  caption: string,
  entities: readonly EntityNames[],
): MentionSpan[] {
  const tokens = captionTokens(caption);
  const byRange = new Map<
    string,
    { start: number; end: number; exact: string[]; folded: string[] }
  >();
  for (const entity of entities) {
    for (const name of [entity.name, ...entity.aliases]) {
      const needle = tokenize(name);
      if (needle.length === 0 || needle.every(isStopWord)) continue;
      for (const [first, last] of occurrences(tokens, needle)) {
        const start = (tokens[first] as CaptionToken).start;
        const end = (tokens[last] as CaptionToken).end;
        const key = `${start}:${end}`;
        const entry = byRange.get(key) ?? { start, end, exact: [], folded: [] };
        byRange.set(key, entry);
        (caption.slice(start, end) === name.trim() ? entry.exact : entry.folded).push(entity.id);
      }
    }
  }
  return [...byRange.values()]
    .map(({ start, end, exact, folded }) => ({
      start,
      end,
      text: caption.slice(start, end),
      source: 'GAZETTEER' as const,
      score: exact.length > 0 ? EXACT_NAME_SCORE : FOLDED_NAME_SCORE,
      entityHints: [...new Set([...exact, ...folded])],
    }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
}

export interface GraphGazetteerOptions {
  /** Entities of the names index checked per caption; default {@link DEFAULT_POOL_SIZE}. */
  readonly poolSize?: number;
}

/**
 * Looks up a caption's words in the graph's `entity_names` index, then finds the pool's names in
 * the caption. An entity whose name occurs shares all of that name's content words with the
 * caption, so it ranks high in the pool; a name beyond the pool size is missed.
 */
export class GraphGazetteer {
  private readonly poolSize: number;

  constructor(
    private readonly graph: Graph,
    options: GraphGazetteerOptions = {},
  ) {
    this.poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(this.poolSize) || this.poolSize < 1) {
      throw new RangeError(`poolSize must be a positive integer, got ${this.poolSize}`);
    }
  }

  /** Names and aliases of the graph (or of one domain) found in the caption. */
  async find(caption: string, domain: string | null = null): Promise<MentionSpan[]> {
    // Content words only: a stop word alone cannot make a name match (see findNamesInCaption).
    const terms = [...new Set(contentTokens(caption))].slice(0, MAX_QUERY_TERMS);
    const query = anyTermQuery(terms);
    if (query === null) return [];
    const entities = await this.graph.read('mentions.gazetteer', (tx) =>
      findEntityNamesByWords(tx, query, { limit: this.poolSize, domain }),
    );
    return findNamesInCaption(caption, entities);
  }

  /** The gazetteer function `detectMentions` takes. */
  forDomain(domain: string | null = null): Gazetteer {
    return (caption) => this.find(caption, domain);
  }
}
