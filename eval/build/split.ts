/** Pure zero-shot split: domains → train/dev/test, then concepts made disjoint across splits. */
import { rngFor } from './rng.js';

export const SPLITS = ['train', 'dev', 'test'] as const;
export type Split = (typeof SPLITS)[number];
export const SPLIT_FRACTIONS: Readonly<Record<Split, number>> = { train: 0.6, dev: 0.2, test: 0.2 };

export interface SplitInput {
  id: string;
  /** Source family, e.g. "tuxpaint-stamps": domains are balanced within each source. */
  source: string;
  domain: string;
  concept: string;
}

export interface SplitCounts {
  domains: number;
  entities: number;
  concepts: number;
  nil: number;
  bySource: Record<string, number>;
}

export interface SplitManifest {
  version: 1;
  seed: number;
  fractions: Record<Split, number>;
  /** Fraction of concept-unique entities held out of the KB as NIL distractors. */
  nilFraction: number;
  domains: Record<string, Split>;
  /** KB entities only. */
  entities: Record<string, Split>;
  /** The concept of each KB entity (so disjointness can be checked from this file alone). */
  concepts: Record<string, string>;
  /** Entities deliberately left out of the KB (their pictures are NIL distractors), by split. */
  nil: Record<string, Split>;
  /** Entities dropped because their concept is kept in another split. */
  dropped: Record<string, string>;
  counts: Record<Split, SplitCounts>;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Assign each source's domains to splits: shuffle the domains with the seed, then give each the
 * split furthest below its target share of the source's entities (so every source is in every
 * split when it has three or more domains).
 */
export function assignDomains(
  entities: readonly SplitInput[],
  seed: number,
): Record<string, Split> {
  const bySource = new Map<string, Map<string, number>>();
  for (const e of entities) {
    const m = bySource.get(e.source) ?? new Map<string, number>();
    m.set(e.domain, (m.get(e.domain) ?? 0) + 1);
    bySource.set(e.source, m);
  }
  const out: Record<string, Split> = {};
  for (const source of [...bySource.keys()].sort(cmp)) {
    const sizes = bySource.get(source) ?? new Map<string, number>();
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    const domains = rngFor(seed, `split-domains:${source}`).shuffle([...sizes.keys()].sort(cmp));
    const have: Record<Split, number> = { train: 0, dev: 0, test: 0 };
    const used: Record<Split, number> = { train: 0, dev: 0, test: 0 };
    for (const d of domains) {
      // A split with no domain yet goes first (dev and test before train), then the largest deficit.
      const empty = (['test', 'dev', 'train'] as const).find((s) => used[s] === 0);
      const split =
        empty && domains.length >= 3
          ? empty
          : ([...SPLITS].sort(
              (a, b) =>
                SPLIT_FRACTIONS[b] * total - have[b] - (SPLIT_FRACTIONS[a] * total - have[a]),
            )[0] ?? 'train');
      out[d] = split;
      have[split] += sizes.get(d) ?? 0;
      used[split]++;
    }
  }
  return out;
}

export function buildSplit(
  entities: readonly SplitInput[],
  seed: number,
  nilFraction = 0.04,
): SplitManifest {
  const sorted = [...entities].sort((a, b) => cmp(a.id, b.id));
  const domains = assignDomains(sorted, seed);
  const splitOf = (e: SplitInput): Split => domains[e.domain] ?? 'train';

  const byConcept = new Map<string, SplitInput[]>();
  for (const e of sorted) byConcept.set(e.concept, [...(byConcept.get(e.concept) ?? []), e]);

  // NIL hold-out: concept-unique entities, so no KB entity shows the same thing.
  const nilRng = rngFor(seed, 'nil-holdout');
  const nil: Record<string, Split> = {};
  for (const e of sorted) {
    const unique = (byConcept.get(e.concept) ?? []).length === 1;
    if (nilRng.chance(nilFraction) && unique) nil[e.id] = splitOf(e);
  }

  // Disjoint concepts: keep a concept in the split holding most of its entities (ties: the
  // evaluation splits first, test then dev), drop its entities from the other splits.
  const dropped: Record<string, string> = {};
  for (const [concept, group] of [...byConcept].sort((a, b) => cmp(a[0], b[0]))) {
    const splits = new Set(group.map(splitOf));
    if (splits.size < 2) continue;
    const countIn = (s: Split): number => group.filter((e) => splitOf(e) === s).length;
    const keep = (['test', 'dev', 'train'] as const)
      .filter((s) => splits.has(s))
      .sort((a, b) => countIn(b) - countIn(a))[0];
    for (const e of group) {
      if (splitOf(e) !== keep) dropped[e.id] = `concept "${concept}" is kept in ${keep}`;
    }
  }

  const kb: Record<string, Split> = {};
  for (const e of sorted) if (!(e.id in nil) && !(e.id in dropped)) kb[e.id] = splitOf(e);

  const counts = {} as Record<Split, SplitCounts>;
  for (const s of SPLITS) {
    const members = sorted.filter((e) => kb[e.id] === s);
    const bySource: Record<string, number> = {};
    for (const e of members) bySource[e.source] = (bySource[e.source] ?? 0) + 1;
    counts[s] = {
      domains: Object.values(domains).filter((x) => x === s).length,
      entities: members.length,
      concepts: new Set(members.map((e) => e.concept)).size,
      nil: Object.values(nil).filter((x) => x === s).length,
      bySource,
    };
  }
  const sortedRecord = <T>(r: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(r).sort((a, b) => cmp(a[0], b[0])));
  return {
    version: 1,
    seed,
    fractions: { ...SPLIT_FRACTIONS },
    nilFraction,
    domains: sortedRecord(domains),
    entities: kb,
    concepts: Object.fromEntries(sorted.filter((e) => e.id in kb).map((e) => [e.id, e.concept])),
    nil,
    dropped: sortedRecord(dropped),
    counts,
  };
}
