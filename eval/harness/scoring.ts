import { fromTuple, iou as boxIou } from '../../src/geometry/box.js';
import type {
  Box,
  GoldQuery,
  PredictedCandidate,
  PredictedLink,
  PredictionLine,
  Task,
} from './format.js';
import { TASKS } from './format.js';

/**
 * Scoring of Polylink-MEL predictions after Zheng et al. 2022 ("Faster Zero-shot Multi-modal
 * Entity Linking via Visual-Linguistic Representation"). Pure functions: no I/O, no clock, no
 * Math.random (the bootstrap has its own seeded generator).
 */

export const IOU_THRESHOLD = 0.5;
export const DEFAULT_NS: readonly number[] = [5, 100];
export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_SEED = 1;

// ---------------------------------------------------------------------------------------------
// Geometry and matching

/** IoU of two `[x, y, w, h]` boxes: the service's (src/geometry/box.ts), same convention. */
export function iou(a: Box, b: Box): number {
  return boxIou(fromTuple(a), fromTuple(b));
}

/**
 * One-to-one matching of predicted boxes to gold boxes: every pair at IoU >= threshold, taken
 * greedily from the highest IoU (ties: lower gold index, then lower predicted index).
 * Returns predicted index per gold index (or -1).
 */
export function matchBoxes(
  gold: readonly Box[],
  predicted: readonly Box[],
  threshold = IOU_THRESHOLD,
): number[] {
  const pairs: { g: number; p: number; iou: number }[] = [];
  gold.forEach((g, gi) =>
    predicted.forEach((p, pi) => {
      const value = iou(g, p);
      if (value >= threshold) pairs.push({ g: gi, p: pi, iou: value });
    }),
  );
  pairs.sort((a, b) => b.iou - a.iou || a.g - b.g || a.p - b.p);
  const result = gold.map(() => -1);
  const usedPredicted = new Set<number>();
  for (const { g, p } of pairs) {
    if (result[g] !== -1 || usedPredicted.has(p)) continue;
    result[g] = p;
    usedPredicted.add(p);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Linking units: what a gold entity is attached to, and the link (if any) that answers it

export type UnitType = 'pair' | 'mention' | 'region';

export interface Outcome {
  /** The gold unit, or null for a predicted link (side) that matches nothing in the gold. */
  readonly unit: {
    readonly type: UnitType;
    readonly id: string;
    readonly gold: string | null;
  } | null;
  /** The system's link for the unit, or null when the system gave none. */
  readonly link: PredictedLink | null;
  /** For a spurious outcome, which kind of unit it claimed to be (for the per-unit tables). */
  readonly side?: UnitType;
}

export interface Detection {
  readonly gold: number;
  readonly predicted: number;
  readonly matched: number;
}

export interface Alignment {
  readonly outcomes: Outcome[];
  /** V-T-KG only: how well the system found the mentions and the regions. */
  readonly mentionDetection?: Detection;
  readonly regionDetection?: Detection;
}

/**
 * V-T-KG: the system found its own mentions and regions. Each gold mention is answered by the
 * first link with exactly its span, each gold region by the link whose box matched it (IoU >= 0.5,
 * one-to-one, greedy by IoU). A link carrying both a span and a box answers a mention and a
 * region. Each side of a link that matches nothing is a spurious outcome.
 */
export function alignVT(query: GoldQuery, links: readonly PredictedLink[]): Alignment {
  const outcomes: Outcome[] = [];
  const spanUsed = new Set<number>();
  for (const mention of query.mentions) {
    const index = links.findIndex(
      (link, i) =>
        !spanUsed.has(i) &&
        link.mentionSpan !== null &&
        link.mentionSpan[0] === mention.start &&
        link.mentionSpan[1] === mention.end,
    );
    if (index >= 0) spanUsed.add(index);
    outcomes.push({
      unit: { type: 'mention', id: mention.id, gold: mention.gold },
      link: links[index] ?? null,
    });
  }
  const boxed = links.flatMap((link, index) => (link.box ? [{ link, index, box: link.box }] : []));
  const matches = matchBoxes(
    query.regions.map((region) => region.box),
    boxed.map((item) => item.box),
  );
  const boxUsed = new Set<number>();
  query.regions.forEach((region, gi) => {
    const pi = matches[gi] ?? -1;
    const item = pi >= 0 ? boxed[pi] : undefined;
    if (item) boxUsed.add(item.index);
    outcomes.push({
      unit: { type: 'region', id: region.id, gold: region.gold },
      link: item?.link ?? null,
    });
  });
  links.forEach((link, index) => {
    if (link.mentionSpan !== null && !spanUsed.has(index))
      outcomes.push({ unit: null, link, side: 'mention' });
    if (link.box !== null && !boxUsed.has(index))
      outcomes.push({ unit: null, link, side: 'region' });
    if (link.mentionSpan === null && link.box === null) outcomes.push({ unit: null, link });
  });
  return {
    outcomes,
    mentionDetection: {
      gold: query.mentions.length,
      predicted: links.filter((link) => link.mentionSpan !== null).length,
      matched: spanUsed.size,
    },
    regionDetection: {
      gold: query.regions.length,
      predicted: boxed.length,
      matched: boxUsed.size,
    },
  };
}

/**
 * V&T-KG: the gold mentions, regions and their pairs are given. The units are the pairs, the
 * mentions in no pair and the regions in no pair; links name them by id. A pair is answered by
 * the link naming both its ids, failing that by a link naming either.
 */
export function alignVandT(query: GoldQuery, links: readonly PredictedLink[]): Alignment {
  const used = new Set<number>();
  const take = (test: (link: PredictedLink) => boolean): PredictedLink | null => {
    const index = links.findIndex((link, i) => !used.has(i) && test(link));
    if (index < 0) return null;
    used.add(index);
    return links[index] ?? null;
  };
  const mentions = new Map(query.mentions.map((m) => [m.id, m]));
  const regions = new Map(query.regions.map((r) => [r.id, r]));
  const paired = new Set<string>();
  const units: {
    type: UnitType;
    id: string;
    gold: string | null;
    m: string | null;
    r: string | null;
  }[] = [];
  for (const pair of query.pairs) {
    paired.add(`m:${pair.mention}`).add(`r:${pair.region}`);
    const mentionGold = mentions.get(pair.mention)?.gold ?? null;
    const regionGold = regions.get(pair.region)?.gold ?? null;
    units.push({
      type: 'pair',
      id: `${pair.mention}+${pair.region}`,
      gold: mentionGold ?? regionGold,
      m: pair.mention,
      r: pair.region,
    });
  }
  for (const m of query.mentions) {
    if (!paired.has(`m:${m.id}`))
      units.push({ type: 'mention', id: m.id, gold: m.gold, m: m.id, r: null });
  }
  for (const r of query.regions) {
    if (!paired.has(`r:${r.id}`))
      units.push({ type: 'region', id: r.id, gold: r.gold, m: null, r: r.id });
  }
  // Exact answers first, so that a fallback never steals the link meant for another unit.
  const answers = units.map((u) => take((l) => l.mention === u.m && l.region === u.r));
  const outcomes: Outcome[] = units.map((u, i) => ({
    unit: { type: u.type, id: u.id, gold: u.gold },
    link:
      answers[i] ??
      (u.m !== null ? take((l) => l.mention === u.m) : null) ??
      (u.r !== null ? take((l) => l.region === u.r) : null),
  }));
  links.forEach((link, index) => {
    if (used.has(index)) return;
    const side: UnitType | undefined =
      link.mention !== null && link.region !== null
        ? 'pair'
        : link.mention !== null
          ? 'mention'
          : link.region !== null
            ? 'region'
            : undefined;
    outcomes.push({ unit: null, link, ...(side ? { side } : {}) });
  });
  return { outcomes };
}

export function align(task: Task, query: GoldQuery, links: readonly PredictedLink[]): Alignment {
  return task === 'VT-KG' ? alignVT(query, links) : alignVandT(query, links);
}

// ---------------------------------------------------------------------------------------------
// Candidate list at N and the link decision

/** The system's candidates, best first (stable for equal scores), each entity once. */
export function rankCandidates(candidates: readonly PredictedCandidate[]): PredictedCandidate[] {
  const seen = new Set<string>();
  return candidates
    .map((candidate, index) => ({ candidate, index }))
    .sort((a, b) => b.candidate.score - a.candidate.score || a.index - b.index)
    .map(({ candidate }) => candidate)
    .filter((candidate) =>
      seen.has(candidate.entity) ? false : (seen.add(candidate.entity), true),
    );
}

/**
 * The candidate list of Zheng et al. 2022 at size N: the gold entity plus the system's
 * candidates up to N. When the gold is among the system's top N, that is the list; otherwise
 * the gold replaces the N-th candidate, keeping the system's score for it when the system
 * scored it further down, else ranking last (a score the system never gave cannot lift it).
 * For a NIL gold it is the system's top N.
 */
export function candidateList(
  ranked: readonly PredictedCandidate[],
  gold: string | null,
  n: number,
): PredictedCandidate[] {
  const top = ranked.slice(0, n);
  if (gold === null || top.some((c) => c.entity === gold)) return top;
  const own = ranked.find((c) => c.entity === gold);
  return [...ranked.slice(0, n - 1), { entity: gold, score: own?.score ?? -Infinity }];
}

export type Decision =
  | { readonly kind: 'none' }
  | { readonly kind: 'nil' }
  | { readonly kind: 'entity'; readonly entity: string };

/**
 * What the system answered for a unit at list size N. NIL when its `prediction` is null or its
 * best score is below `threshold`; otherwise the top of the list built by candidateList. A link
 * with no candidates at all keeps its own `prediction` (the inserted gold is not a free answer).
 */
export function decide(
  link: PredictedLink | null,
  gold: string | null,
  n: number,
  threshold?: number,
): Decision {
  if (link === null) return { kind: 'none' };
  const ranked = rankCandidates(link.candidates);
  const best = ranked[0]?.score ?? -Infinity;
  if (link.prediction === null || (threshold !== undefined && best < threshold)) {
    return { kind: 'nil' };
  }
  const top = ranked.length > 0 ? candidateList(ranked, gold, n)[0]?.entity : undefined;
  return { kind: 'entity', entity: top ?? link.prediction };
}

// ---------------------------------------------------------------------------------------------
// Counts, per query, so that the bootstrap can resample queries by summing

export const COUNT_KEYS = [
  'goldNonNil',
  'goldNil',
  'predNonNil',
  'predNil',
  'correct',
  'nilCorrect',
  'goldInTopN',
] as const;
export type CountKey = (typeof COUNT_KEYS)[number];
export type Counts = Record<CountKey, number>;

export function emptyCounts(): Counts {
  return {
    goldNonNil: 0,
    goldNil: 0,
    predNonNil: 0,
    predNil: 0,
    correct: 0,
    nilCorrect: 0,
    goldInTopN: 0,
  };
}

export function addCounts(into: Counts, from: Counts, weight = 1): void {
  for (const key of COUNT_KEYS) into[key] += weight * from[key];
}

export function countOutcome(outcome: Outcome, n: number, threshold?: number): Counts {
  const counts = emptyCounts();
  const gold = outcome.unit?.gold ?? null;
  const decision = decide(outcome.link, gold, n, threshold);
  if (outcome.unit) {
    if (gold === null) counts.goldNil += 1;
    else counts.goldNonNil += 1;
  }
  if (decision.kind === 'entity') {
    counts.predNonNil += 1;
    if (gold !== null && decision.entity === gold) counts.correct += 1;
  }
  if (decision.kind === 'nil' && outcome.unit) {
    // A NIL answer for something that is not in the gold at all is neither right nor wrong.
    counts.predNil += 1;
    if (gold === null) counts.nilCorrect += 1;
  }
  if (gold !== null && outcome.link) {
    const top = rankCandidates(outcome.link.candidates).slice(0, n);
    if (top.some((c) => c.entity === gold)) counts.goldInTopN += 1;
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Metrics from counts

export const METRIC_NAMES = [
  'precision',
  'recallAt1',
  'f1',
  'nilPrecision',
  'nilRecall',
  'candidateRecall',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type Metrics = Record<MetricName, number | null>;

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function metricsOf(c: Counts): Metrics {
  const precision = ratio(c.correct, c.predNonNil);
  const recallAt1 = ratio(c.correct, c.goldNonNil);
  const f1 =
    precision === null || recallAt1 === null
      ? null
      : precision + recallAt1 > 0
        ? (2 * precision * recallAt1) / (precision + recallAt1)
        : 0;
  return {
    precision,
    recallAt1,
    f1,
    nilPrecision: ratio(c.nilCorrect, c.predNil),
    nilRecall: ratio(c.nilCorrect, c.goldNil),
    candidateRecall: ratio(c.goldInTopN, c.goldNonNil),
  };
}

// ---------------------------------------------------------------------------------------------
// Bootstrap

/** mulberry32: a small, fast, seeded generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Multiplicities of a resample of n items with replacement, one array per resample. */
export function resampleWeights(n: number, resamples: number, seed: number): Uint32Array[] {
  const random = seededRandom(seed);
  const out: Uint32Array[] = [];
  for (let r = 0; r < resamples; r += 1) {
    const weights = new Uint32Array(n);
    for (let i = 0; i < n; i += 1) {
      const index = Math.min(n - 1, Math.floor(random() * n));
      weights[index] = (weights[index] ?? 0) + 1;
    }
    out.push(weights);
  }
  return out;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] ?? Number.NaN;
  const b = sorted[high] ?? Number.NaN;
  return a + (b - a) * (position - low);
}

export interface Estimate {
  readonly value: number | null;
  /** Percentile bootstrap 95% interval over queries; null when the metric is undefined. */
  readonly ci95: readonly [number, number] | null;
}
export type MetricsWithCI = Record<MetricName, Estimate>;

/** Point estimates from the summed counts and percentile 95% intervals from the resamples. */
export function bootstrapMetrics(
  perQuery: readonly Counts[],
  weights: readonly Uint32Array[],
): MetricsWithCI {
  const total = emptyCounts();
  for (const counts of perQuery) addCounts(total, counts);
  const point = metricsOf(total);
  const samples = Object.fromEntries(METRIC_NAMES.map((name) => [name, [] as number[]])) as Record<
    MetricName,
    number[]
  >;
  for (const w of weights) {
    const sum = emptyCounts();
    perQuery.forEach((counts, i) => {
      const k = w[i] ?? 0;
      if (k > 0) addCounts(sum, counts, k);
    });
    const m = metricsOf(sum);
    for (const name of METRIC_NAMES) {
      const value = m[name];
      if (value !== null) samples[name].push(value);
    }
  }
  return Object.fromEntries(
    METRIC_NAMES.map((name) => {
      const values = samples[name].sort((a, b) => a - b);
      const value = point[name];
      const ci95 =
        value === null || values.length === 0
          ? null
          : ([percentile(values, 0.025), percentile(values, 0.975)] as const);
      return [name, { value, ci95 }];
    }),
  ) as MetricsWithCI;
}

// ---------------------------------------------------------------------------------------------
// The whole report

export interface ScoreOptions {
  readonly ns?: readonly number[];
  readonly resamples?: number;
  readonly seed?: number;
  /** A link whose best candidate score is below this is a NIL prediction. */
  readonly threshold?: number;
}

export interface GroupReport {
  readonly queries: number;
  readonly units: {
    readonly goldNonNil: number;
    readonly goldNil: number;
    readonly spurious: number;
  };
  /** Keyed by N as a string ("5", "100"). */
  readonly atN: Record<string, MetricsWithCI>;
}

export interface TaskReport extends GroupReport {
  readonly task: Task;
  readonly predictedQueries: number;
  readonly byUnitType: Partial<Record<UnitType, GroupReport>>;
  readonly byDomain: Record<string, GroupReport>;
  readonly byKind: Record<string, GroupReport>;
  readonly mentionDetection?: Detection & { precision: number | null; recall: number | null };
  readonly regionDetection?: Detection & { precision: number | null; recall: number | null };
}

export interface ScoreReport {
  readonly split: string | null;
  readonly ns: readonly number[];
  readonly resamples: number;
  readonly seed: number;
  readonly threshold: number | null;
  readonly iouThreshold: number;
  readonly tasks: TaskReport[];
  /** Prediction lines whose query is not in the scored gold (ignored). */
  readonly unknownQueries: number;
}

interface QueryOutcomes {
  readonly query: GoldQuery;
  readonly alignment: Alignment;
}

function groupReport(
  items: readonly QueryOutcomes[],
  ns: readonly number[],
  options: { resamples: number; seed: number; threshold?: number; unitFilter?: UnitType },
): GroupReport {
  const { unitFilter, threshold } = options;
  const keep = (o: Outcome) => unitFilter === undefined || (o.unit?.type ?? o.side) === unitFilter;
  const weights = resampleWeights(items.length, options.resamples, options.seed);
  const atN: Record<string, MetricsWithCI> = {};
  for (const n of ns) {
    const perQuery = items.map(({ alignment }) => {
      const counts = emptyCounts();
      for (const outcome of alignment.outcomes) {
        if (keep(outcome)) addCounts(counts, countOutcome(outcome, n, threshold));
      }
      return counts;
    });
    atN[String(n)] = bootstrapMetrics(perQuery, weights);
  }
  const units = { goldNonNil: 0, goldNil: 0, spurious: 0 };
  for (const { alignment } of items) {
    for (const o of alignment.outcomes) {
      if (!keep(o)) continue;
      if (o.unit === null) {
        units.spurious += 1;
      } else {
        if (o.unit.gold === null) units.goldNil += 1;
        else units.goldNonNil += 1;
      }
    }
  }
  return { queries: items.length, units, atN };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sumDetection(
  items: readonly QueryOutcomes[],
  key: 'mentionDetection' | 'regionDetection',
) {
  const total = { gold: 0, predicted: 0, matched: 0 };
  for (const { alignment } of items) {
    const d = alignment[key];
    if (!d) continue;
    total.gold += d.gold;
    total.predicted += d.predicted;
    total.matched += d.matched;
  }
  return {
    ...total,
    precision: ratio(total.matched, total.predicted),
    recall: ratio(total.matched, total.gold),
  };
}

/**
 * Scores predictions against the gold queries of one split (all queries when split is null),
 * for every task that has at least one prediction line. A gold query without a prediction line
 * for the task counts with every unit unanswered.
 */
export function scorePredictions(
  gold: readonly GoldQuery[],
  predictions: readonly PredictionLine[],
  split: string | null,
  options: ScoreOptions = {},
): ScoreReport {
  const ns = options.ns ?? DEFAULT_NS;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const seed = options.seed ?? DEFAULT_SEED;
  const queries = gold.filter((q) => split === null || q.split === split);
  const known = new Set(queries.map((q) => q.id));
  const common = {
    resamples,
    seed,
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
  };
  const tasks: TaskReport[] = [];
  for (const task of TASKS) {
    const lines = predictions.filter((p) => p.task === task);
    if (lines.length === 0) continue;
    const byQuery = new Map<string, PredictedLink[]>();
    for (const line of lines) {
      if (!known.has(line.query)) continue;
      byQuery.set(line.query, [...(byQuery.get(line.query) ?? []), ...line.links]);
    }
    const items: QueryOutcomes[] = queries.map((query) => ({
      query,
      alignment: align(task, query, byQuery.get(query.id) ?? []),
    }));
    const unitTypes: UnitType[] =
      task === 'VT-KG' ? ['mention', 'region'] : ['pair', 'mention', 'region'];
    const byUnitType: Partial<Record<UnitType, GroupReport>> = {};
    for (const type of unitTypes)
      byUnitType[type] = groupReport(items, ns, { ...common, unitFilter: type });
    const byDomain: Record<string, GroupReport> = {};
    for (const [domain, group] of groupBy(items, (i) => i.query.domain))
      byDomain[domain] = groupReport(group, ns, common);
    const byKind: Record<string, GroupReport> = {};
    for (const [kind, group] of groupBy(items, (i) => i.query.kind))
      byKind[kind] = groupReport(group, ns, common);
    tasks.push({
      task,
      predictedQueries: byQuery.size,
      ...groupReport(items, ns, common),
      byUnitType,
      byDomain,
      byKind,
      ...(task === 'VT-KG'
        ? {
            mentionDetection: sumDetection(items, 'mentionDetection'),
            regionDetection: sumDetection(items, 'regionDetection'),
          }
        : {}),
    });
  }
  return {
    split,
    ns,
    resamples,
    seed,
    threshold: options.threshold ?? null,
    iouThreshold: IOU_THRESHOLD,
    tasks,
    unknownQueries: new Set(predictions.filter((p) => !known.has(p.query)).map((p) => p.query))
      .size,
  };
}
