import {
  combineGeneratorScores,
  type GeneratorHit,
  type GeneratorName,
} from '../../src/candidates/merge.js';
import type {
  GoldQuery,
  PredictedCandidate,
  PredictedLink,
  PredictionLine,
  Task,
} from '../harness/format.js';
import { scorePredictions } from '../harness/scoring.js';

/**
 * The four untrained baselines, as pure functions over the candidates that the project's own
 * CandidateService returned (one call per mention, one per region). Each baseline keeps the
 * generators it is about (by the `generators` provenance) and scores with them alone.
 */

export const BASELINES = ['bm25-rules', 'dense-text', 'dense-image', 'fusion'] as const;
export type Baseline = (typeof BASELINES)[number];

export const BASELINE_TITLES: Record<Baseline, string> = {
  'bm25-rules': '(a) BM25 + rules (mention text)',
  'dense-text': '(b) dense text (bge-small, mention text)',
  'dense-image': '(c) dense image (EfficientNet-Lite0, region crop)',
  fusion: '(d) text + image late fusion',
};

export const LEXICAL: readonly GeneratorName[] = ['BM25', 'SHARED_WORDS', 'CONTAINMENT', 'ACRONYM'];
export const TEXTUAL: readonly GeneratorName[] = [...LEXICAL, 'DENSE_TEXT'];

/** What the baselines need of a CandidateService result. */
export interface RawCandidate {
  readonly entity: { readonly id: string };
  readonly generators: readonly GeneratorHit[];
}

const byScore = (a: PredictedCandidate, b: PredictedCandidate) =>
  b.score - a.score || (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0);

/**
 * The candidates found by at least one of `generators`, scored by those generators alone: a
 * single generator by its own score (the cosine for dense ones), several by the project's
 * noisy-OR (combineGeneratorScores). Best first.
 */
export function restrict(
  raw: readonly RawCandidate[],
  generators: readonly GeneratorName[],
): PredictedCandidate[] {
  return raw
    .flatMap((candidate) => {
      const hits = candidate.generators.filter((hit) => generators.includes(hit.generator));
      if (hits.length === 0) return [];
      const score =
        generators.length === 1
          ? Math.max(...hits.map((h) => h.score))
          : combineGeneratorScores(hits);
      return [{ entity: candidate.entity.id, score }];
    })
    .sort(byScore);
}

/** Min-max normalisation of a list's scores to [0, 1] (a list of equal scores is all 1). */
export function normalise(list: readonly PredictedCandidate[]): Map<string, number> {
  const scores = list.map((c) => c.score);
  const max = Math.max(...scores);
  const min = Math.min(...scores);
  return new Map(list.map((c) => [c.entity, max > min ? (c.score - min) / (max - min) : 1]));
}

/** Late fusion: the sum of each list's normalised score (0 where a list lacks the entity). */
export function fuse(
  text: readonly PredictedCandidate[],
  image: readonly PredictedCandidate[],
  limit = 100,
): PredictedCandidate[] {
  const a = normalise(text);
  const b = normalise(image);
  const ids = new Set([...a.keys(), ...b.keys()]);
  return [...ids]
    .map((entity) => ({ entity, score: (a.get(entity) ?? 0) + (b.get(entity) ?? 0) }))
    .sort(byScore)
    .slice(0, limit);
}

/**
 * V-T-KG without gold pairs: pairs mentions with regions by their best shared candidate (the
 * highest fused score among entities both lists hold), greedily and one-to-one; a mention and a
 * region sharing no candidate stay unpaired. Returns [mentionIndex, regionIndex] pairs.
 */
export function alignByBestSharedCandidate(
  mentions: readonly (readonly PredictedCandidate[])[],
  regions: readonly (readonly PredictedCandidate[])[],
): [number, number][] {
  const options: { m: number; r: number; score: number }[] = [];
  const mNorm = mentions.map(normalise);
  const rNorm = regions.map(normalise);
  mNorm.forEach((mn, m) =>
    rNorm.forEach((rn, r) => {
      let best = -Infinity;
      for (const [entity, score] of mn) {
        const other = rn.get(entity);
        if (other !== undefined) best = Math.max(best, score + other);
      }
      if (best > -Infinity) options.push({ m, r, score: best });
    }),
  );
  options.sort((a, b) => b.score - a.score || a.m - b.m || a.r - b.r);
  const usedM = new Set<number>();
  const usedR = new Set<number>();
  const pairs: [number, number][] = [];
  for (const { m, r } of options) {
    if (usedM.has(m) || usedR.has(r)) continue;
    usedM.add(m);
    usedR.add(r);
    pairs.push([m, r]);
  }
  return pairs.sort((a, b) => a[0] - b[0]);
}

/** The candidate lists of one query, per gold mention and per gold region (by index). */
export interface QueryCandidates {
  /** Raw CandidateService results for each mention's text. */
  readonly mentions: readonly (readonly RawCandidate[])[];
  /** Raw CandidateService results for each region (image + box). */
  readonly regions: readonly (readonly RawCandidate[])[];
}

function textList(baseline: Baseline, raw: readonly RawCandidate[]): PredictedCandidate[] | null {
  if (baseline === 'bm25-rules') return restrict(raw, LEXICAL);
  if (baseline === 'dense-text') return restrict(raw, ['DENSE_TEXT']);
  if (baseline === 'fusion') return restrict(raw, TEXTUAL);
  return null;
}

function imageList(baseline: Baseline, raw: readonly RawCandidate[]): PredictedCandidate[] | null {
  return baseline === 'dense-image' || baseline === 'fusion'
    ? restrict(raw, ['DENSE_IMAGE'])
    : null;
}

function makeLink(
  candidates: readonly PredictedCandidate[],
  where: Pick<PredictedLink, 'mention' | 'mentionSpan' | 'region' | 'box'>,
): PredictedLink {
  return { ...where, candidates, prediction: candidates[0]?.entity ?? null };
}

const NO_PLACE = { mention: null, mentionSpan: null, region: null, box: null } as const;

/**
 * One baseline's prediction line for a query and task, with `prediction` the top candidate
 * (NIL only when there is none; apply a threshold afterwards). A unit the baseline has no
 * evidence for (a region for a text-only baseline) gets no link at all.
 */
export function predictQuery(
  baseline: Baseline,
  task: Task,
  query: GoldQuery,
  found: QueryCandidates,
): PredictionLine {
  const texts = found.mentions.map((raw) => textList(baseline, raw));
  const images = found.regions.map((raw) => imageList(baseline, raw));
  const links: PredictedLink[] = [];
  const mentionIndex = new Map(query.mentions.map((m, i) => [m.id, i]));
  const regionIndex = new Map(query.regions.map((r, i) => [r.id, i]));
  const pairedM = new Set<number>();
  const pairedR = new Set<number>();
  const combine = (t: PredictedCandidate[] | null, v: PredictedCandidate[] | null) =>
    t && v ? fuse(t, v) : (t ?? v);
  let pairs: [number, number][];
  if (task === 'V&T-KG') {
    pairs = query.pairs.flatMap((p) => {
      const m = mentionIndex.get(p.mention);
      const r = regionIndex.get(p.region);
      return m !== undefined && r !== undefined ? [[m, r] as [number, number]] : [];
    });
  } else {
    // Only the fusion baseline sees both sides, so only it can pair mentions with regions.
    pairs =
      baseline === 'fusion'
        ? alignByBestSharedCandidate(
            texts.map((t) => t ?? []),
            images.map((v) => v ?? []),
          )
        : [];
  }
  const place = (m: number | null, r: number | null) => {
    const mention = m === null ? undefined : query.mentions[m];
    const region = r === null ? undefined : query.regions[r];
    return task === 'V&T-KG'
      ? { ...NO_PLACE, mention: mention?.id ?? null, region: region?.id ?? null }
      : {
          ...NO_PLACE,
          mentionSpan: mention ? ([mention.start, mention.end] as const) : null,
          box: region?.box ?? null,
        };
  };
  for (const [m, r] of pairs) {
    pairedM.add(m);
    pairedR.add(r);
    const list = combine(texts[m] ?? null, images[r] ?? null);
    if (list) links.push(makeLink(list, place(m, r)));
  }
  texts.forEach((list, m) => {
    if (list && !pairedM.has(m)) links.push(makeLink(list, place(m, null)));
  });
  images.forEach((list, r) => {
    if (list && !pairedR.has(r)) links.push(makeLink(list, place(null, r)));
  });
  return { query: query.id, task, links };
}

/** Sets `prediction` to NIL wherever the best score is below the threshold. */
export function applyThreshold(
  lines: readonly PredictionLine[],
  threshold: number,
): PredictionLine[] {
  return lines.map((line) => ({
    ...line,
    links: line.links.map((link) => ({
      ...link,
      prediction:
        link.candidates[0] !== undefined && link.candidates[0].score >= threshold
          ? link.candidates[0].entity
          : null,
    })),
  }));
}

/**
 * The NIL threshold with the best micro-F1 at N = 100 on the given (dev) queries; tried at
 * every distinct best score (at most `maxTries`, evenly spaced quantiles) and at "never NIL".
 * Ties go to the lower threshold.
 */
export function chooseThreshold(
  gold: readonly GoldQuery[],
  lines: readonly PredictionLine[],
  split: string,
  maxTries = 200,
): { threshold: number; f1: number | null } {
  const tops = [
    ...new Set(lines.flatMap((l) => l.links.flatMap((link) => link.candidates[0]?.score ?? []))),
  ].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(tops.length / maxTries));
  const tries = [-Infinity, ...tops.filter((_, i) => i % step === 0)];
  let best = { threshold: -Infinity, f1: null as number | null };
  for (const threshold of tries) {
    const report = scorePredictions(gold, lines, split, { ns: [100], resamples: 0, threshold });
    const f1s = report.tasks.map((t) => t.atN['100']?.f1.value ?? null);
    const f1 =
      f1s.length > 0 && f1s.every((v) => v !== null)
        ? f1s.reduce((a, b) => a + b, 0) / f1s.length
        : null;
    if (f1 !== null && (best.f1 === null || f1 > best.f1)) best = { threshold, f1 };
  }
  return best;
}
