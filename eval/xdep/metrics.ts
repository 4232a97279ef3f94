/**
 * The pure scoring of the cross-depiction evaluation: acc@k from a chosen entity and its ranked
 * alternatives, region NIL precision and recall, the naive thumbnail floor's ranking, and
 * percentile-bootstrap 95% intervals over queries (the harness's seeded resampling,
 * eval/harness/scoring.ts). No I/O.
 */
import { percentile, resampleWeights } from '../harness/scoring.js';

/** One query's contribution to a ratio metric: `num` of `den` units. */
export interface Ratio {
  readonly num: number;
  readonly den: number;
}

export interface Estimate {
  readonly value: number | null;
  readonly ci95: readonly [number, number] | null;
  /** Units in the denominator over all queries. */
  readonly n: number;
}

export const RESAMPLES = 1000;
export const BOOTSTRAP_SEED = 1;

/** Sum of num / sum of den, with a percentile-bootstrap interval resampling queries. */
export function estimate(
  perQuery: readonly Ratio[],
  options: { resamples?: number; seed?: number } = {},
): Estimate {
  const num = perQuery.reduce((s, r) => s + r.num, 0);
  const den = perQuery.reduce((s, r) => s + r.den, 0);
  if (den === 0) return { value: null, ci95: null, n: 0 };
  const weights = resampleWeights(
    perQuery.length,
    options.resamples ?? RESAMPLES,
    options.seed ?? BOOTSTRAP_SEED,
  );
  const samples: number[] = [];
  for (const w of weights) {
    let a = 0;
    let b = 0;
    perQuery.forEach((r, i) => {
      const k = w[i] ?? 0;
      a += k * r.num;
      b += k * r.den;
    });
    if (b > 0) samples.push(a / b);
  }
  samples.sort((x, y) => x - y);
  return {
    value: num / den,
    ci95: samples.length ? [percentile(samples, 0.025), percentile(samples, 0.975)] : null,
    n: den,
  };
}

/** A constant (chance) as an estimate without an interval. */
export function constant(value: number, n: number): Estimate {
  return { value, ci95: null, n };
}

/**
 * Whether the gold is among the first k of an answer. `prediction` is the chosen entity (null:
 * NIL) and `ranked` the answer's candidates best first (the chosen one included). NIL is wrong at
 * every k: a NIL answer names no entity, whatever its alternatives are.
 */
export function hitAtK(
  prediction: string | null,
  ranked: readonly string[],
  gold: string,
  k: number,
): boolean {
  if (prediction === null) return false;
  if (k <= 1) return prediction === gold;
  return ranked.slice(0, k).includes(gold);
}

/** Whether the gold is in the first k of a plain ranking (a retrieval floor; no NIL). */
export function inTopK(ranked: readonly string[], gold: string, k: number): boolean {
  return ranked.slice(0, k).includes(gold);
}

/** A region unit: its gold (null: not in the KB) and the service's answer (null: NIL). */
export interface RegionUnit {
  readonly gold: string | null;
  /** undefined: the system gave no answer for the unit (no matching region). */
  readonly prediction: string | null | undefined;
}

export interface RegionCounts {
  /** Gold in the KB, and answered with exactly it. */
  readonly goldNonNil: number;
  readonly correct: number;
  /** NIL answers given for gold units, and those whose gold is NIL. */
  readonly predNil: number;
  readonly nilCorrect: number;
  readonly goldNil: number;
}

/**
 * Region counts of one query: accuracy over the in-KB gold regions (unanswered or NIL is wrong),
 * NIL precision = NIL answers that are right / NIL answers, NIL recall = NIL gold regions answered
 * NIL / NIL gold regions (unanswered is a miss).
 */
export function regionCounts(units: readonly RegionUnit[]): RegionCounts {
  let goldNonNil = 0;
  let correct = 0;
  let predNil = 0;
  let nilCorrect = 0;
  let goldNil = 0;
  for (const u of units) {
    if (u.gold === null) goldNil++;
    else goldNonNil++;
    if (u.prediction === null) {
      predNil++;
      if (u.gold === null) nilCorrect++;
    } else if (u.prediction !== undefined && u.gold !== null && u.prediction === u.gold) {
      correct++;
    }
  }
  return { goldNonNil, correct, predNil, nilCorrect, goldNil };
}

/** Cosine similarity of two vectors of one length (0 when either is all zero). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** A thumbnail's pixels (0..255) as a zero-mean vector, so that cosine compares layouts. */
export function centred(pixels: ArrayLike<number>): Float64Array {
  let mean = 0;
  for (let i = 0; i < pixels.length; i++) mean += pixels[i] ?? 0;
  mean /= pixels.length || 1;
  const out = new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = ((pixels[i] ?? 0) - mean) / 255;
  return out;
}

/** Entity ids ranked by their best cosine to the query vector, best first (ties: id order). */
export function rankByCosine(
  query: ArrayLike<number>,
  kb: readonly { readonly entity: string; readonly vector: ArrayLike<number> }[],
): string[] {
  const best = new Map<string, number>();
  for (const { entity, vector } of kb) {
    const s = cosine(query, vector);
    best.set(entity, Math.max(best.get(entity) ?? -Infinity, s));
  }
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([entity]) => entity);
}
