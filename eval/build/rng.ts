/** Deterministic pseudo-random streams for the benchmark builder (no Math.random anywhere). */
import { fnv1a } from '../../db/seed/freeciv-nations.js';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
  shuffle<T>(xs: readonly T[]): T[];
}

/**
 * A mulberry32 stream keyed by the seed and a purpose string: each part of the build draws from
 * its own stream, so changing one part does not reshuffle the others.
 */
export function rngFor(seed: number, key: string): Rng {
  let s = fnv1a(`${seed}\u0000${key}`) || 1;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    range: (lo, hi) => lo + next() * (hi - lo),
    chance: (p) => next() < p,
    pick: <T>(xs: readonly T[]): T => {
      if (xs.length === 0) throw new Error('pick from an empty list');
      return xs[Math.floor(next() * xs.length)] as T;
    },
    shuffle: <T>(xs: readonly T[]): T[] => {
      const a = [...xs];
      for (let k = a.length - 1; k > 0; k--) {
        const j = Math.floor(next() * (k + 1));
        const t = a[k] as T;
        a[k] = a[j] as T;
        a[j] = t;
      }
      return a;
    },
  };
  return rng;
}
