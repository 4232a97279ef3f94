/**
 * Mention detection for `linkImage` when the caller gives no mentions (issue 6): exact names and
 * aliases from the graph (an injected gazetteer), named entities and noun phrases from the
 * `compromise` NLP library, then one non-overlapping set of spans.
 *
 * Offsets are UTF-16 code units into the caption, `end` exclusive, exactly as JavaScript strings
 * index (`caption.slice(start, end) === text`); the benchmark's gold spans use the same convention.
 * compromise's own offsets are JavaScript string lengths too, but its tokenizer can cut a
 * grapheme (a combining accent left in the punctuation after a word, the parts of a ZWJ emoji), so
 * every term is checked against the caption, and every span is widened to whole graphemes.
 *
 * Span edges: a mention is what names the thing, so determiners, quantifiers and possessive
 * pronouns are stripped from the start of a noun phrase ("the red fox" -> "red fox", "no hospital"
 * -> "hospital"), a possessive marker from the end ("the fox's den" -> "fox" and "den"), and a
 * phrase is cut at prepositions, conjunctions, verbs, pronouns and punctuation ("the flag of the
 * Vikings" -> "flag" and "Vikings"). Adjectives stay ("red highheel", "clothespin new").
 */
import nlp from 'compromise';
import { foldText, isStopWord } from '../candidates/text-normalize.js';

export type MentionSource = 'GAZETTEER' | 'NAMED_ENTITY' | 'NOUN_PHRASE' | 'GIVEN';

export interface MentionSpan {
  /** UTF-16 code unit offset of the first character. */
  readonly start: number;
  /** UTF-16 code unit offset after the last character (exclusive). */
  readonly end: number;
  /** `caption.slice(start, end)`. */
  readonly text: string;
  readonly source: MentionSource;
  /** In [0, 1]: how sure the source is that this is a mention. */
  readonly score: number;
  /** Ids of entities the source already knows by this text (the gazetteer's matches). */
  readonly entityHints?: readonly string[];
}

/** Finds the graph's names and aliases in a caption; injected so this module needs no database. */
export type Gazetteer = (caption: string) => Promise<MentionSpan[]>;

export interface DetectMentionsOptions {
  /** Exact graph names and aliases; null or absent: compromise only. */
  readonly gazetteer?: Gazetteer | null;
  /** At most this many mentions (the most trusted ones); default {@link DEFAULT_MENTION_LIMIT}. */
  readonly limit?: number;
  /** How overlapping spans are settled; default SOURCE_FIRST. */
  readonly overlapPolicy?: OverlapPolicy;
}

export const DEFAULT_MENTION_LIMIT = 32;

/** Scores of the library sources: a name the graph knows (the gazetteer's own scores) beats both. */
export const NAMED_ENTITY_SCORE = 0.8;
export const NOUN_PHRASE_SCORE = 0.5;
/** A noun phrase with a proper noun in it is more likely a name worth linking. */
export const PROPER_NOUN_PHRASE_SCORE = 0.6;

const SOURCE_PRIORITY: Readonly<Record<MentionSource, number>> = {
  GIVEN: 0,
  GAZETTEER: 1,
  NAMED_ENTITY: 2,
  NOUN_PHRASE: 3,
};

// ---------------------------------------------------------------------------------------------
// compromise, behind a narrow typed view of its JSON output

/** The part of compromise's `json({ offset: true, terms: true })` term objects used here. */
interface CompromiseTerm {
  readonly id: string;
  readonly text: string;
  readonly pre: string;
  readonly post: string;
  readonly tags: readonly string[];
  readonly offset?: { readonly start: number; readonly length: number };
}

interface CompromiseMatch {
  readonly terms: readonly CompromiseTerm[];
}

/** A term with its verified position in the caption. */
interface Term {
  readonly id: string;
  readonly text: string;
  readonly pre: string;
  readonly post: string;
  readonly tags: ReadonlySet<string>;
  readonly start: number;
  readonly end: number;
  /** foldText of the term, for stop-word checks. */
  readonly folded: string;
}

function isCompromiseTerm(value: unknown): value is CompromiseTerm {
  if (typeof value !== 'object' || value === null) return false;
  const term = value as Record<string, unknown>;
  return (
    typeof term.id === 'string' &&
    typeof term.text === 'string' &&
    typeof term.pre === 'string' &&
    typeof term.post === 'string' &&
    Array.isArray(term.tags)
  );
}

/** compromise's json output, checked: another shape (a changed library) is an error, not noise. */
function readMatches(json: unknown): CompromiseMatch[] {
  const matches: unknown[] = Array.isArray(json) ? json : [];
  return matches.map((match) => {
    const terms = (match as { terms?: unknown } | null)?.terms;
    if (!Array.isArray(terms) || !terms.every(isCompromiseTerm)) {
      throw new Error('compromise returned terms without id, text, pre, post and tags');
    }
    return { terms };
  });
}

/**
 * Positions of compromise's terms in the caption, in document order. compromise's offset is used
 * when the caption really has the term's text there, otherwise the text is searched for after the
 * previous term. A term whose text is not in the caption at all (or is empty: the implicit halves
 * of contractions) gets no position and ends any phrase it is in.
 */
function alignTerms(caption: string, terms: readonly CompromiseTerm[]): Map<string, Term> {
  const aligned = new Map<string, Term>();
  let cursor = 0;
  for (const term of terms) {
    if (term.text === '') continue;
    const claimed = term.offset?.start ?? -1;
    const start =
      claimed >= cursor && caption.startsWith(term.text, claimed)
        ? claimed
        : caption.indexOf(term.text, cursor);
    if (start < 0) continue;
    const end = start + term.text.length;
    cursor = end;
    aligned.set(term.id, {
      id: term.id,
      text: term.text,
      pre: term.pre,
      post: term.post,
      tags: new Set(term.tags),
      start,
      end,
      folded: foldText(term.text),
    });
  }
  return aligned;
}

/** One parse of the caption: its sentences as aligned terms, and compromise's named entities. */
interface Parsed {
  readonly sentences: readonly (readonly (Term | null)[])[];
  readonly entities: readonly (readonly (Term | null)[])[];
}

/**
 * compromise's json option for terms with their text, whitespace (pre/post), tags, id and offset;
 * at run time any truthy `terms` option copies the whole term.
 */
const JSON_OPTIONS = {
  offset: true,
  terms: { text: true, whitespace: true, tags: true, id: true, offset: true },
} as const;

function parseCaption(caption: string): Parsed {
  const doc = nlp(caption);
  const sentences = readMatches(doc.json(JSON_OPTIONS));
  const aligned = alignTerms(
    caption,
    sentences.flatMap((sentence) => sentence.terms),
  );
  const lookup = (match: CompromiseMatch) =>
    match.terms.map((term) => aligned.get(term.id) ?? null);
  return {
    sentences: sentences.map(lookup),
    // people + places + organizations, as compromise documents topics().
    entities: readMatches(doc.topics().json(JSON_OPTIONS)).map(lookup),
  };
}

// ---------------------------------------------------------------------------------------------
// Span edges

/** Words that look like nouns to a tagger but name nothing. */
const NON_REFERRING = new Set([
  'somebody',
  'someone',
  'something',
  'anybody',
  'anyone',
  'anything',
  'everybody',
  'everyone',
  'everything',
  'nobody',
  'nothing',
  'one',
  'ones',
  'thing',
  'things',
  'lot',
  'kind',
  'sort',
  'type',
]);

/**
 * Prepositions the tagger can read as adjectives ("the pants near a lava flow"): never part of a
 * noun phrase.
 */
const PREPOSITION_LIKE = new Set([
  'near',
  'next',
  'like',
  'unlike',
  'opposite',
  'beside',
  'besides',
  'inside',
  'outside',
  'past',
  'than',
]);

/** Determiner-like words compromise does not tag as determiners. */
const LEADING_FILLERS = new Set(['many', 'several', 'various', 'lots', 'plenty', 'certain']);

const POSSESSIVE_MARK = /['’ʼ]s?$/iu;
const APOSTROPHE_S_ENDING = /(?<=[\p{L}\p{N}])['’ʼ]s$/iu;
const HAS_WORD_CHARACTER = /[\p{L}\p{N}]/u;
/** Punctuation between two terms that ends a phrase; a bare hyphen ("yo-yo") or space does not. */
const BREAKING_PUNCTUATION = /[^\s\-‐‑]|\s[-‐‑–—]|[-‐‑–—]\s/u;

function hasTag(term: Term, ...tags: readonly string[]): boolean {
  return tags.some((tag) => term.tags.has(tag));
}

/**
 * "Paris's", "Achilles'" and also "fox's", which compromise reads as "fox is": either way the
 * "'s" is no part of the name, and the phrase ends there.
 */
function isPossessive(term: Term): boolean {
  return (
    !term.tags.has('Pronoun') &&
    (term.tags.has('Possessive') || APOSTROPHE_S_ENDING.test(term.text))
  );
}

/** Whether punctuation written between two terms separates them ("a, b", "(b)"). */
function breaksBetween(left: Term, right: Term): boolean {
  const between = left.post + right.pre;
  if (between.trim() === '') return false;
  // An abbreviation's own period does not end a phrase ("Dr. Who").
  if (left.tags.has('Abbreviation') && /^\.\s*$/u.test(left.post)) return false;
  return BREAKING_PUNCTUATION.test(between);
}

/** Can this term be part of a noun phrase at all? */
function isNominal(term: Term): boolean {
  if (!HAS_WORD_CHARACTER.test(term.text) || PREPOSITION_LIKE.has(term.folded)) return false;
  if (hasTag(term, 'Pronoun', 'Emoji', 'Expression', 'QuestionWord')) return false;
  if (hasTag(term, 'Preposition', 'Conjunction', 'Verb', 'Adverb')) {
    // A gerund or participle tagged as a noun or adjective stays ("magnifying glass").
    return hasTag(term, 'Noun', 'Adjective') && !hasTag(term, 'Preposition', 'Conjunction');
  }
  return hasTag(term, 'Noun', 'Adjective', 'Value', 'Determiner', 'Acronym');
}

/** A term that may open a phrase but names nothing: "the", "a", "my", "no", "some", "many". */
function isLeadingFiller(term: Term): boolean {
  return (
    hasTag(term, 'Determiner') ||
    (hasTag(term, 'Possessive') && hasTag(term, 'Pronoun')) ||
    isStopWord(term.folded) ||
    LEADING_FILLERS.has(term.folded)
  );
}

/** Splits a run of terms at possessives: "John Smith's dog" -> ["John Smith's"], ["dog"]. */
function splitAfterPossessives(run: readonly Term[]): Term[][] {
  const parts: Term[][] = [[]];
  for (const term of run) {
    parts[parts.length - 1]?.push(term);
    if (isPossessive(term)) parts.push([]);
  }
  return parts.filter((part) => part.length > 0);
}

function isReferringNoun(term: Term): boolean {
  return (
    hasTag(term, 'Noun', 'Acronym') &&
    !hasTag(term, 'Pronoun') &&
    !isStopWord(term.folded) &&
    !NON_REFERRING.has(term.folded)
  );
}

/**
 * Trims fillers from both ends; null when nothing that names a thing is left. A phrase needs a
 * noun, except that a number after an article is one too ("the nine-thirty", a clock face).
 */
function trimPhrase(terms: readonly Term[]): Term[] | null {
  let first = 0;
  let last = terms.length - 1;
  while (first <= last && isLeadingFiller(terms[first] as Term)) first++;
  while (last >= first && isStopWord((terms[last] as Term).folded)) last--;
  const kept = terms.slice(first, last + 1);
  const afterArticle = terms.slice(0, first).some((term) => hasTag(term, 'Determiner'));
  const referring =
    kept.some(isReferringNoun) ||
    (afterArticle && kept.length > 0 && kept.every((term) => hasTag(term, 'Value')));
  return referring ? kept : null;
}

/** Grapheme boundaries of the caption, so that no span cuts an accent or an emoji in two. */
function graphemeBoundaries(caption: string): readonly number[] {
  const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
  const boundaries = [...segmenter.segment(caption)].map((segment) => segment.index);
  boundaries.push(caption.length);
  return boundaries;
}

function snapDown(boundaries: readonly number[], offset: number): number {
  let best = 0;
  for (const boundary of boundaries) {
    if (boundary > offset) break;
    best = boundary;
  }
  return best;
}

function snapUp(boundaries: readonly number[], offset: number): number {
  for (const boundary of boundaries) if (boundary >= offset) return boundary;
  return boundaries[boundaries.length - 1] ?? offset;
}

interface SpanBuilder {
  (terms: readonly Term[], source: MentionSource, score: number): MentionSpan | null;
}

function spanBuilder(caption: string): SpanBuilder {
  let boundaries: readonly number[] | null = null;
  return (terms, source, score) => {
    const first = terms[0];
    const last = terms[terms.length - 1];
    if (!first || !last) return null;
    boundaries ??= graphemeBoundaries(caption);
    let end = last.end;
    if (isPossessive(last)) {
      const mark = POSSESSIVE_MARK.exec(last.text);
      if (mark) end -= mark[0].length;
    }
    const start = snapDown(boundaries, first.start);
    end = snapUp(boundaries, end);
    if (end <= start) return null;
    return { start, end, text: caption.slice(start, end), source, score };
  };
}

// ---------------------------------------------------------------------------------------------
// The two library sources

/** Opens a noun phrase before a modifier: "a", "the", "no", "my", "two", "red". */
function opensPhrase(term: Term): boolean {
  return (
    (hasTag(term, 'Determiner', 'Adjective', 'Value') && !hasTag(term, 'Verb')) ||
    (hasTag(term, 'Possessive') && hasTag(term, 'Pronoun')) ||
    term.folded === 'no' ||
    LEADING_FILLERS.has(term.folded)
  );
}

/**
 * A participle or gerund used as an adjective: tagged as a verb, but between an opener and a noun
 * ("a wrapped gift", "a waxing gibbous moon", "no racing car"). After a noun or pronoun it is the
 * verb of the clause ("he painted walls") and stays out.
 */
function isAttributiveVerb(
  term: Term,
  previous: Term | null | undefined,
  next: Term | null | undefined,
): boolean {
  return (
    hasTag(term, 'PastTense', 'Participle', 'Gerund') &&
    !hasTag(term, 'Copula', 'Auxiliary', 'Modal') &&
    HAS_WORD_CHARACTER.test(term.text) &&
    !!previous &&
    opensPhrase(previous) &&
    !!next &&
    hasTag(next, 'Noun', 'Adjective') &&
    !hasTag(next, 'Pronoun', 'Verb')
  );
}

/** Maximal runs of nominal terms within a sentence, cut at punctuation and unaligned terms. */
function nominalRuns(sentence: readonly (Term | null)[]): Term[][] {
  const runs: Term[][] = [];
  let current: Term[] = [];
  const flush = () => {
    if (current.length > 0) runs.push(current);
    current = [];
  };
  for (const [index, term] of sentence.entries()) {
    const attributive =
      term !== null && isAttributiveVerb(term, sentence[index - 1], sentence[index + 1]);
    if (term === null || !(attributive || isNominal(term))) {
      flush();
      continue;
    }
    const previous = current[current.length - 1];
    // A determiner inside a run starts a new phrase: "the noise the slide makes".
    if (previous && (breaksBetween(previous, term) || hasTag(term, 'Determiner'))) flush();
    current.push(term);
  }
  flush();
  return runs;
}

function nounPhrasesOf(parsed: Parsed, build: SpanBuilder): MentionSpan[] {
  return parsed.sentences
    .flatMap(nominalRuns)
    .flatMap(splitAfterPossessives)
    .map(trimPhrase)
    .filter((phrase): phrase is Term[] => phrase !== null)
    .map((phrase) =>
      build(
        phrase,
        'NOUN_PHRASE',
        phrase.some((term) => hasTag(term, 'ProperNoun'))
          ? PROPER_NOUN_PHRASE_SCORE
          : NOUN_PHRASE_SCORE,
      ),
    )
    .filter((span): span is MentionSpan => span !== null);
}

const STARTS_UPPER_CASE = /^\p{Lu}/u;

/**
 * compromise's people, places and organizations, cut and trimmed like noun phrases. Only those
 * written with a capital count: the tagger's lexicon also knows lower-case words as names
 * ("o’clock" as a last name), and a name in running English text is capitalised.
 */
function namedEntitiesOf(parsed: Parsed, build: SpanBuilder): MentionSpan[] {
  return parsed.entities
    .flatMap((terms) => {
      const runs: Term[][] = [[]];
      for (const term of terms) {
        const run = runs[runs.length - 1] as Term[];
        const previous = run[run.length - 1];
        if (term === null || (previous && breaksBetween(previous, term))) runs.push([]);
        if (term !== null) runs[runs.length - 1]?.push(term);
      }
      return runs;
    })
    .flatMap(splitAfterPossessives)
    .map(trimPhrase)
    .filter((phrase): phrase is Term[] => phrase !== null)
    .map((phrase) => build(phrase, 'NAMED_ENTITY', NAMED_ENTITY_SCORE))
    .filter((span): span is MentionSpan => span !== null && STARTS_UPPER_CASE.test(span.text));
}

export interface LibraryMentions {
  readonly namedEntities: MentionSpan[];
  readonly nounPhrases: MentionSpan[];
}

/** Named entities and noun phrases found by compromise in one parse, overlapping each other. */
export function findLibraryMentions(caption: string): LibraryMentions {
  if (caption.trim() === '') return { namedEntities: [], nounPhrases: [] };
  const parsed = parseCaption(caption);
  const build = spanBuilder(caption);
  return {
    namedEntities: dedupe(namedEntitiesOf(parsed, build)),
    nounPhrases: dedupe(nounPhrasesOf(parsed, build)),
  };
}

function dedupe(spans: readonly MentionSpan[]): MentionSpan[] {
  const seen = new Set<string>();
  return spans.filter((span) => {
    const key = `${span.start}:${span.end}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Overlaps and orchestration

/**
 * How overlaps are settled. SOURCE_FIRST (the default): a graph name beats a named entity, which
 * beats a noun phrase, whatever their lengths; then the longer span wins. LONGEST_FIRST: the
 * longer span wins, then the source decides, so a noun phrase naming something the graph lacks
 * ("alarm clock") is kept whole instead of giving way to a graph name inside it ("clock").
 */
export type OverlapPolicy = 'SOURCE_FIRST' | 'LONGEST_FIRST';

function bySource(a: MentionSpan, b: MentionSpan): number {
  return SOURCE_PRIORITY[a.source] - SOURCE_PRIORITY[b.source];
}

function byLength(a: MentionSpan, b: MentionSpan): number {
  return b.end - b.start - (a.end - a.start);
}

/**
 * Priority order under a policy (source then length, or length then source), then higher score,
 * then earlier; ties broken on the end and the hints so the order is total.
 */
function priority(policy: OverlapPolicy): (a: MentionSpan, b: MentionSpan) => number {
  const [first, second] = policy === 'SOURCE_FIRST' ? [bySource, byLength] : [byLength, bySource];
  return (a, b) =>
    first(a, b) ||
    second(a, b) ||
    b.score - a.score ||
    a.start - b.start ||
    a.end - b.end ||
    compareStrings((a.entityHints ?? []).join('\n'), (b.entityHints ?? []).join('\n'));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byPosition(a: MentionSpan, b: MentionSpan): number {
  return a.start - b.start || a.end - b.end;
}

function overlaps(a: MentionSpan, b: MentionSpan): boolean {
  return a.start < b.end && b.start < a.end;
}

function mergeHints(
  kept: readonly string[] | undefined,
  extra: readonly string[] | undefined,
): readonly string[] | undefined {
  if (!extra || extra.length === 0) return kept;
  return [...new Set([...(kept ?? []), ...extra])];
}

/**
 * A non-overlapping subset, chosen greedily in priority order (see {@link OverlapPolicy}),
 * returned by start. A span with exactly the range of a chosen one is dropped, but its entity
 * hints are added to the chosen span's. Empty or inverted spans are dropped.
 */
export function resolveOverlaps(
  spans: readonly MentionSpan[],
  policy: OverlapPolicy = 'SOURCE_FIRST',
): MentionSpan[] {
  const chosen: MentionSpan[] = [];
  for (const span of [...spans].filter((s) => s.end > s.start).sort(priority(policy))) {
    const index = chosen.findIndex((kept) => overlaps(kept, span));
    if (index < 0) {
      chosen.push(span);
      continue;
    }
    const kept = chosen[index] as MentionSpan;
    if (kept.start === span.start && kept.end === span.end) {
      const entityHints = mergeHints(kept.entityHints, span.entityHints);
      if (entityHints !== kept.entityHints) chosen[index] = { ...kept, entityHints };
    }
  }
  return chosen.sort(byPosition);
}

/**
 * The mentions of a caption: the gazetteer's names, compromise's named entities and noun phrases,
 * resolved into a non-overlapping set under the overlap policy; at most `limit` of them (the
 * highest in priority), by start.
 */
export async function detectMentions(
  caption: string,
  options: DetectMentionsOptions = {},
): Promise<MentionSpan[]> {
  const limit = options.limit ?? DEFAULT_MENTION_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  }
  if (limit === 0 || caption.trim() === '') return [];
  const gazetteer = options.gazetteer ? await options.gazetteer(caption) : [];
  for (const span of gazetteer) assertSpanOf(caption, span);
  const { namedEntities, nounPhrases } = findLibraryMentions(caption);
  const policy = options.overlapPolicy ?? 'SOURCE_FIRST';
  const resolved = resolveOverlaps([...gazetteer, ...namedEntities, ...nounPhrases], policy);
  if (resolved.length <= limit) return resolved;
  return resolved.sort(priority(policy)).slice(0, limit).sort(byPosition);
}

/** A span from outside this module must address the caption it claims to. */
function assertSpanOf(caption: string, span: MentionSpan): void {
  const valid =
    Number.isInteger(span.start) &&
    Number.isInteger(span.end) &&
    span.start >= 0 &&
    span.end <= caption.length &&
    span.start < span.end &&
    caption.slice(span.start, span.end) === span.text;
  if (!valid) {
    throw new RangeError(
      `span [${span.start}, ${span.end}) "${span.text}" is not a span of the caption`,
    );
  }
}
