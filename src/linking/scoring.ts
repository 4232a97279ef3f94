import type { LinkMention, LinkRegion } from './link-input.js';
import type { ScoredUnit } from './link-result.js';
import {
  addImageEvidence,
  greedyPairs,
  knownPairUnits,
  loneUnits,
  makeUnit,
  rankCandidates,
  regionEvidence,
  scorable,
  unitContext,
  unitKind,
  type LinkUnit,
  type Pair,
  type RankedCandidate,
  type SharedContext,
  type UnitSources,
} from './link-units.js';
import type { ReadyModels } from './linking-models.js';
import type { StageClock } from './stage-clock.js';

/** Everything the scoring phases of one request share. */
export interface Prepared {
  readonly models: ReadyModels;
  readonly mentions: readonly LinkMention[];
  readonly regions: readonly LinkRegion[];
  readonly shared: SharedContext;
  readonly sources: UnitSources;
  readonly vectors: ReadonlyMap<string, ArrayLike<number>>;
  readonly clock: StageClock;
  /** Weight of the DENSE_IMAGE cosine added to region-only units' scores (0: the linker alone). */
  readonly imageEvidenceWeight: number;
}

/** Contexts of all units in one encoder call, then their candidates scored in few runs. */
async function rank(prepared: Prepared, units: readonly LinkUnit[]): Promise<RankedCandidate[][]> {
  const { linker } = prepared.models;
  const items = units.map((unit) => scorable(unit, prepared.vectors));
  // A unit with nothing to score needs no context.
  const live = items.flatMap((item, index) => (item.candidates.length > 0 ? [index] : []));
  const codes = await prepared.clock.time('context', () =>
    linker.contextCodes(live.map((index) => unitContext(prepared.shared, units[index]!))),
  );
  const scores = await prepared.clock.time('score', () =>
    linker.scoreMany(
      live.map((index, row) => ({
        codes: codes[row]!,
        vectors: items[index]!.vectors,
        features: items[index]!.features,
      })),
    ),
  );
  const ranked: RankedCandidate[][] = units.map(() => []);
  live.forEach((index, row) => {
    const unit = units[index]!;
    const byLinker = rankCandidates(items[index]!.candidates, scores[row]!);
    ranked[index] =
      unit.region !== null && unitKind(unit) === 'region' && prepared.imageEvidenceWeight > 0
        ? addImageEvidence(
            byLinker,
            regionEvidence(prepared.sources, unit.region),
            prepared.imageEvidenceWeight,
          )
        : byLinker;
  });
  return ranked;
}

/** V&T-KG: the given pairs, then the mentions and regions in no pair, each in its context. */
export async function linkPairs(prepared: Prepared, pairs: readonly Pair[]): Promise<ScoredUnit[]> {
  const units = knownPairUnits(prepared.sources, pairs, {
    mentions: prepared.mentions.length,
    regions: prepared.regions.length,
  });
  const ranked = await rank(prepared, units);
  return units.map((unit, index) => ({ unit, ranked: ranked[index]! }));
}

/**
 * V-T-KG (predict.py `vt_kg_aligned`): every mention and region scored alone; pairs taken
 * greedily by the image cosine between a region and its mention's best entity; each pair
 * re-scored with both marked; what stays unpaired keeps its lone ranking.
 */
export async function alignAndLink(prepared: Prepared): Promise<ScoredUnit[]> {
  const { sources, mentions, regions, clock } = prepared;
  const lone = loneUnits(sources, { mentions: mentions.length, regions: regions.length });
  const loneRanked = await rank(prepared, lone);
  const mentionRanked = loneRanked.slice(0, mentions.length);
  const pairs = await clock.time('align', () =>
    Promise.resolve(
      greedyPairs({
        mentionTops: mentionRanked.map((ranked) => ranked[0]?.entityId ?? null),
        regionLists: sources.regionLists,
      }),
    ),
  );
  const pairUnits = pairs.map((pair) => makeUnit(sources, pair));
  const pairRanked = await rank(prepared, pairUnits);
  const pairedMentions = new Set(pairs.map((pair) => pair.mention));
  const pairedRegions = new Set(pairs.map((pair) => pair.region));
  return [
    ...pairUnits.map((unit, index) => ({ unit, ranked: pairRanked[index]! })),
    ...lone.flatMap((unit, index) => {
      const paired =
        unit.mention !== null ? pairedMentions.has(unit.mention) : pairedRegions.has(unit.region!);
      return paired ? [] : [{ unit, ranked: loneRanked[index]! }];
    }),
  ];
}
