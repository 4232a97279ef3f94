/**
 * The three name rules of candidate generation (Zheng et al. 2022, §4.3) that
 * are merged with the BM25 pool: shared words, containment and acronym.
 * Pure functions; the service decides which entities to feed in.
 */
import { initialism, isStopWord, looksLikeAcronym, tokenize } from './text-normalize.js';

export type RuleName = 'SHARED_WORDS' | 'CONTAINMENT' | 'ACRONYM';

export interface RuleMatch {
  rule: RuleName;
  /** In (0, 1]; 1 is the strongest evidence the rule can give. */
  score: number;
  /** Which of the entity's names matched, in its original form. */
  matchedName: string;
}

/** Rule order, used to break ties between equal scores deterministically. */
const RULE_ORDER: readonly RuleName[] = ['SHARED_WORDS', 'CONTAINMENT', 'ACRONYM'];

/** Strict containment scores land in (MIN, MAX) so exact equality (1.0) always ranks first. */
const CONTAINMENT_MIN = 0.5;
const CONTAINMENT_MAX = 0.95;

/** A single word that matches initials without being written as an acronym ("Nasa") is weaker evidence. */
const ACRONYM_SCORE = 1;
const ACRONYM_SCORE_UNMARKED = 0.8;

/** One side of a comparison, analysed once. */
interface Analysed {
  readonly original: string;
  readonly tokens: readonly string[];
  readonly content: ReadonlySet<string>;
  readonly initialisms: readonly string[];
  readonly writtenAsAcronym: boolean;
}

function analyse(text: string): Analysed {
  const tokens = tokenize(text);
  return {
    original: text,
    tokens,
    content: new Set(tokens.filter((token) => !isStopWord(token))),
    initialisms: initialism(text),
    writtenAsAcronym: looksLikeAcronym(text),
  };
}

/**
 * Which rules fire between a mention and an entity's names: at most one match
 * per rule (its best-scoring name; the earlier name on ties), sorted by score,
 * highest first. Text that is empty after folding matches nothing.
 */
export function matchRules(mention: string, names: readonly string[]): RuleMatch[] {
  const m = analyse(mention);
  if (m.tokens.length === 0) return [];
  const best = new Map<RuleName, RuleMatch>();
  for (const name of names) {
    const n = analyse(name);
    if (n.tokens.length === 0) continue;
    keepBetter(best, 'SHARED_WORDS', sharedWordsScore(m, n), name);
    keepBetter(best, 'CONTAINMENT', containmentScore(m, n), name);
    keepBetter(best, 'ACRONYM', acronymScore(m, n), name);
  }
  return [...best.values()].sort(byScoreThenRule);
}

function keepBetter(
  best: Map<RuleName, RuleMatch>,
  rule: RuleName,
  score: number | null,
  matchedName: string,
): void {
  if (score === null) return;
  const current = best.get(rule);
  if (current === undefined || score > current.score) best.set(rule, { rule, score, matchedName });
}

function byScoreThenRule(a: RuleMatch, b: RuleMatch): number {
  return b.score - a.score || RULE_ORDER.indexOf(a.rule) - RULE_ORDER.indexOf(b.rule);
}

/** Rule 1: |shared| / |union| of content words, when at least one is shared. */
function sharedWordsScore(a: Analysed, b: Analysed): number | null {
  const shared = [...a.content].filter((token) => b.content.has(token)).length;
  if (shared === 0) return null;
  const union = a.content.size + b.content.size - shared;
  return shared / union;
}

/**
 * Rule 2: one token sequence occurs contiguously in the other, either way.
 * Whole tokens only, so "Ran" is not in "France". Exact equality counts even
 * for stop words ("The Who"); a strict containment must include a content word.
 */
function containmentScore(a: Analysed, b: Analysed): number | null {
  const [shorter, longer] = a.tokens.length <= b.tokens.length ? [a, b] : [b, a];
  if (sameTokens(shorter.tokens, longer.tokens)) return 1;
  if (shorter.tokens.length === longer.tokens.length) return null;
  if (shorter.content.size === 0) return null;
  if (!containsRun(longer.tokens, shorter.tokens)) return null;
  const ratio = shorter.tokens.length / longer.tokens.length;
  return CONTAINMENT_MIN + (CONTAINMENT_MAX - CONTAINMENT_MIN) * ratio;
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((token, i) => token === b[i]);
}

function containsRun(haystack: readonly string[], needle: readonly string[]): boolean {
  for (let start = 0; start + needle.length <= haystack.length; start++) {
    if (needle.every((token, i) => token === haystack[start + i])) return true;
  }
  return false;
}

/**
 * Rule 3: a single word equals an initialism of the other side, which has
 * several words; either side may be the single word. Compared folded, so "Nasa"
 * matches too, but scores lower than "NASA" or "N.A.S.A.".
 */
function acronymScore(a: Analysed, b: Analysed): number | null {
  return bestOf(singleWordAgainstInitials(a, b), singleWordAgainstInitials(b, a));
}

function singleWordAgainstInitials(word: Analysed, phrase: Analysed): number | null {
  const [token] = word.tokens;
  if (word.tokens.length !== 1 || token === undefined) return null;
  if (!phrase.initialisms.includes(token)) return null;
  return word.writtenAsAcronym ? ACRONYM_SCORE : ACRONYM_SCORE_UNMARKED;
}

function bestOf(x: number | null, y: number | null): number | null {
  if (x === null) return y;
  if (y === null) return x;
  return Math.max(x, y);
}
