/**
 * The pure half of `linkImage` (issue 6), as `models/zemel/predict.py` and `units.py` do it for
 * the trained linker: what one score list answers (a unit: a mention and a region paired, a lone
 * mention or a lone region), its candidates and their generator features, the V-T-KG pairing of
 * mentions with regions, ranking and the NIL decision. Nothing here touches a model or the graph.
 */
import type { ContextFeatures } from '../inference/linker/linker-model.js';
import { InferenceError } from '../inference/runtime/onnx-runtime.js';

/** The candidate generators, in the order of the linker's generator features (units.py). */
export const GENERATORS = [
  'BM25',
  'SHARED_WORDS',
  'CONTAINMENT',
  'ACRONYM',
  'DENSE_TEXT',
  'DENSE_IMAGE',
] as const;
export type Generator = (typeof GENERATORS)[number];

/** Read from the region's list; every other generator from the mention's (units.py). */
const IMAGE_GENERATOR: Generator = 'DENSE_IMAGE';

/** What each generator said about one entity in one list: generator -> its score. */
export type GeneratorScores = Readonly<Partial<Record<string, number>>>;

/** One CandidateService list: entity ids best first, and each entity's generator scores. */
export interface CandidateList {
  readonly order: readonly string[];
  readonly hits: ReadonlyMap<string, GeneratorScores>;
}

export const EMPTY_LIST: CandidateList = { order: [], hits: new Map() };

/**
 * A CandidateService result as a list. When a generator hit an entity twice, the later hit
 * counts, as the training data's `{generator: score}` dictionaries kept it.
 */
export function toCandidateList(
  candidates: readonly {
    readonly entity: { readonly id: string };
    readonly generators: readonly { readonly generator: string; readonly score: number }[];
  }[],
): CandidateList {
  const order: string[] = [];
  const hits = new Map<string, Partial<Record<string, number>>>();
  for (const candidate of candidates) {
    const id = candidate.entity.id;
    let scores = hits.get(id);
    if (scores === undefined) {
      order.push(id);
      scores = {};
      hits.set(id, scores);
    }
    for (const hit of candidate.generators) scores[hit.generator] = hit.score;
  }
  return { order, hits };
}

/** One generator feature: a generator's score, or whether it found the candidate at all. */
export interface FeatureSlot {
  readonly generator: Generator;
  readonly kind: 'score' | 'found';
}

/**
 * Parses the linker's `generatorFeatures` (`"BM25.score"`, …, `"DENSE_IMAGE.found"`); a name the
 * service cannot compute is an error, not a silent zero.
 */
export function featureLayout(names: readonly string[]): FeatureSlot[] {
  return names.map((name) => {
    const [generator, kind, ...rest] = name.split('.');
    const known = (GENERATORS as readonly string[]).includes(generator ?? '');
    if (!known || (kind !== 'score' && kind !== 'found') || rest.length > 0) {
      throw new InferenceError(`The linker asks for generator feature "${name}", unknown here`);
    }
    return { generator: generator as Generator, kind };
  });
}

/**
 * One candidate's generator features in `layout` order: text generators from the mention's list,
 * DENSE_IMAGE from the region's; zeros where a list did not have the candidate (units.py
 * `generator_features`).
 */
export function generatorFeatures(
  layout: readonly FeatureSlot[],
  evidence: { readonly text?: GeneratorScores; readonly image?: GeneratorScores },
): number[] {
  return featureRow(layout, evidence.text, evidence.image);
}

/** `generatorFeatures` without the evidence object: it runs once per candidate of every unit. */
function featureRow(
  layout: readonly FeatureSlot[],
  text: GeneratorScores | undefined,
  image: GeneratorScores | undefined,
): number[] {
  const row = new Array<number>(layout.length);
  for (let i = 0; i < layout.length; i += 1) {
    const { generator, kind } = layout[i]!;
    const score = (generator === IMAGE_GENERATOR ? image : text)?.[generator];
    row[i] = score === undefined ? 0 : kind === 'score' ? score : 1;
  }
  return row;
}

/** What one score list answers: a mention and a region paired, a lone mention, a lone region. */
export interface LinkUnit {
  /** Index into the request's mentions; null for a lone region. */
  readonly mention: number | null;
  /** Index into the request's regions; null for a lone mention. */
  readonly region: number | null;
  /** The mention's list, then the region's entities not already in it (units.py `make_unit`). */
  readonly candidates: readonly string[];
  /** Row i: the generator features of `candidates[i]`. */
  readonly features: readonly (readonly number[])[];
}

export interface UnitSources {
  readonly mentionLists: readonly CandidateList[];
  readonly regionLists: readonly CandidateList[];
  /**
   * Per region, its DENSE_IMAGE_ROBUST list (style-robust image vectors); absent or empty lists
   * without the bundle's robust head. Read by region-only units alone: units with a mention keep
   * the lists the linker was trained on.
   */
  readonly regionRobustLists?: readonly CandidateList[];
  readonly layout: readonly FeatureSlot[];
}

/** The unit of a mention and/or a region, with the union of their lists (mention's first). */
export function makeUnit(
  sources: UnitSources,
  unit: { readonly mention: number | null; readonly region: number | null },
): LinkUnit {
  const { mention, region } = unit;
  if (mention === null && region === null) throw new RangeError('a unit needs a mention or region');
  const textList = mention === null ? null : listAt(sources.mentionLists, mention, 'mention');
  const imageList = region === null ? null : listAt(sources.regionLists, region, 'region');
  const robustList =
    mention === null && region !== null ? sources.regionRobustLists?.[region] : null;
  // The union in list order (mention's, then region's, then a lone region's style-robust list):
  // what `[...new Set([...a, ...b, ...c])]` gives, without the copies (1,000s per unit).
  const seen = new Set<string>();
  const candidates: string[] = [];
  for (const list of [textList, imageList, robustList]) {
    if (!list) continue;
    for (const id of list.order) {
      if (seen.has(id)) continue;
      seen.add(id);
      candidates.push(id);
    }
  }
  const features = candidates.map((id) =>
    featureRow(sources.layout, textList?.hits.get(id), imageList?.hits.get(id)),
  );
  return { mention, region, candidates, features };
}

function listAt(lists: readonly CandidateList[], index: number, what: string): CandidateList {
  const list = lists[index];
  if (!list) throw new RangeError(`no candidate list for ${what} ${index}`);
  return list;
}

/** A pair of a mention and a region, by their indices in the request. */
export interface Pair {
  readonly mention: number;
  readonly region: number;
}

/**
 * The V&T-KG units of given pairs (units.py `build_units`): each pair, then every mention in no
 * pair, then every region in no pair, each in request order.
 */
export function knownPairUnits(
  sources: UnitSources,
  pairs: readonly Pair[],
  counts: { readonly mentions: number; readonly regions: number },
): LinkUnit[] {
  const pairedMentions = new Set(pairs.map((pair) => pair.mention));
  const pairedRegions = new Set(pairs.map((pair) => pair.region));
  return [
    ...pairs.map((pair) => makeUnit(sources, pair)),
    ...loneUnits(sources, { ...counts, pairedMentions, pairedRegions }),
  ];
}

/** Units of the mentions and regions outside `paired*`: mentions first, each in request order. */
export function loneUnits(
  sources: UnitSources,
  options: {
    readonly mentions: number;
    readonly regions: number;
    readonly pairedMentions?: ReadonlySet<number>;
    readonly pairedRegions?: ReadonlySet<number>;
  },
): LinkUnit[] {
  const units: LinkUnit[] = [];
  for (let mention = 0; mention < options.mentions; mention += 1) {
    if (!options.pairedMentions?.has(mention))
      units.push(makeUnit(sources, { mention, region: null }));
  }
  for (let region = 0; region < options.regions; region += 1) {
    if (!options.pairedRegions?.has(region))
      units.push(makeUnit(sources, { mention: null, region }));
  }
  return units;
}

/** A candidate with the linker's score. */
export interface RankedCandidate {
  readonly entityId: string;
  readonly score: number;
}

/** Candidates by score, best first; ties by entity id (evaluate.py `_ranked`). */
export function rankCandidates(
  candidates: readonly string[],
  scores: ArrayLike<number>,
): RankedCandidate[] {
  if (scores.length !== candidates.length) {
    throw new RangeError(`${candidates.length} candidates but ${scores.length} scores`);
  }
  const ranked = new Array<RankedCandidate>(candidates.length);
  for (let i = 0; i < candidates.length; i += 1) {
    ranked[i] = { entityId: candidates[i]!, score: scores[i]! };
  }
  return ranked.sort(byScoreThenId);
}

function byScoreThenId(a: RankedCandidate, b: RankedCandidate): number {
  return b.score - a.score || (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0);
}

/**
 * V-T-KG pairing (predict.py `vt_kg_aligned`): the affinity of mention m and region r is the
 * image cosine between r and m's best entity (the DENSE_IMAGE score of that entity in r's list,
 * 0 when r's list lacks it). Pairs are taken greedily by affinity (ties: lower mention index, then
 * lower region index), one-to-one, as many as the smaller side allows, whatever the affinity;
 * mentions whose list is empty are never paired. Returned in the order they were taken.
 */
export function greedyPairs(options: {
  /** Per mention, its best entity when scored alone; null when its list was empty. */
  readonly mentionTops: readonly (string | null)[];
  readonly regionLists: readonly CandidateList[];
}): Pair[] {
  const { mentionTops, regionLists } = options;
  const trials: { affinity: number; mention: number; region: number }[] = [];
  mentionTops.forEach((best, mention) => {
    if (best === null) return;
    regionLists.forEach((list, region) => {
      const affinity = list.hits.get(best)?.[IMAGE_GENERATOR] ?? 0;
      trials.push({ affinity, mention, region });
    });
  });
  trials.sort((a, b) => b.affinity - a.affinity || a.mention - b.mention || a.region - b.region);
  const usedMentions = new Set<number>();
  const usedRegions = new Set<number>();
  const pairs: Pair[] = [];
  for (const { mention, region } of trials) {
    if (usedMentions.has(mention) || usedRegions.has(region)) continue;
    pairs.push({ mention, region });
    usedMentions.add(mention);
    usedRegions.add(region);
  }
  return pairs;
}

/** How many alternatives a triple reports. */
export const ALTERNATIVES = 5;

/** What a unit links: a mention and a region together, a mention alone, or a region alone. */
export type UnitKind = 'pair' | 'mention' | 'region';

export function unitKind(unit: Pick<LinkUnit, 'mention' | 'region'>): UnitKind {
  if (unit.mention !== null && unit.region !== null) return 'pair';
  return unit.mention !== null ? 'mention' : 'region';
}

/** The generator whose cosine orders a region-only unit: the style-robust one when it ran. */
export const ROBUST_IMAGE_GENERATOR = 'DENSE_IMAGE_ROBUST';

/**
 * A region-only unit's image evidence: its DENSE_IMAGE_ROBUST list when the bundle has the robust
 * head (and the list found anything), else its DENSE_IMAGE list.
 */
export function regionEvidence(
  sources: Pick<UnitSources, 'regionLists' | 'regionRobustLists'>,
  region: number,
): { readonly list: CandidateList; readonly generator: string } {
  const robust = sources.regionRobustLists?.[region];
  if (robust && robust.order.length > 0) return { list: robust, generator: ROBUST_IMAGE_GENERATOR };
  return { list: listAt(sources.regionLists, region, 'region'), generator: IMAGE_GENERATOR };
}

/**
 * A region-only unit's candidates in the order of its own image evidence: each candidate's linker
 * score plus `weight` times its cosine in the region's evidence list (`regionEvidence`; 0 where the
 * list lacks it). The trained linker learned to lean on text evidence, which a lone region has
 * none of; on sources drawn in styles it never saw it ranks them near chance while the cosine
 * still carries signal (issue 12). `weight` is chosen on a held-out dev source. The candidates
 * keep their linker scores: only the order changes, and NIL stays the linker's decision (see
 * `decide`).
 */
export function addImageEvidence(
  ranked: readonly RankedCandidate[],
  evidence: { readonly list: CandidateList; readonly generator: string },
  weight: number,
): RankedCandidate[] {
  const { list, generator } = evidence;
  // Ranked by linker score plus weighted cosine, each candidate keeping its linker score: the
  // same order rankCandidates gives on the summed scores.
  const reordered = ranked.map((candidate) => ({
    candidate,
    score: candidate.score + weight * (list.hits.get(candidate.entityId)?.[generator] ?? 0),
    entityId: candidate.entityId,
  }));
  reordered.sort(byScoreThenId);
  return reordered.map(({ candidate }) => candidate);
}

export interface LinkDecision {
  /** The linked entity; null for NIL. */
  readonly entityId: string | null;
  readonly nil: boolean;
  /** The best candidate's score; null when there was no candidate at all. */
  readonly score: number | null;
  /** The best candidates other than `entityId`, best first, at most ALTERNATIVES. */
  readonly alternatives: readonly RankedCandidate[];
}

/**
 * NIL is a threshold on the top score (EVAL.md): a unit whose best candidate scores below
 * `threshold`, or that has no candidate, links to nothing but keeps its alternatives. A null
 * threshold (an untrained release has none) never makes NIL.
 */
export function decide(ranked: readonly RankedCandidate[], threshold: number | null): LinkDecision {
  const best = ranked[0];
  if (!best) return { entityId: null, nil: true, score: null, alternatives: [] };
  // NIL when no candidate's linker score reaches the threshold: the first is the best unless the
  // order came from image evidence (`addImageEvidence`), which leaves the NIL decision unchanged.
  let confidence = -Infinity;
  for (const candidate of ranked) confidence = Math.max(confidence, candidate.score);
  const nil = threshold !== null && confidence < threshold;
  return {
    entityId: nil ? null : best.entityId,
    nil,
    score: best.score,
    alternatives: ranked.slice(nil ? 0 : 1, (nil ? 0 : 1) + ALTERNATIVES),
  };
}

/** What every context of a request shares: the caption's token states and all its regions. */
export interface SharedContext {
  /** Caption token states, row-major [tokens, text dimension]. */
  readonly tokenStates: Float32Array;
  /** Per mention, its token positions (`mentionTokenPositions`). */
  readonly mentionPositions: readonly (readonly number[])[];
  /** Per region, its RoI feature and `boxGeometry`. */
  readonly regions: readonly { readonly features: Float32Array; readonly geometry: number[] }[];
}

/**
 * A unit's context as the context encoder takes it (units.py `collate_units`): the whole caption
 * and every region of the request, the unit's mention marked at its tokens and its region marked
 * as the focus.
 */
export function unitContext(shared: SharedContext, unit: LinkUnit): ContextFeatures {
  return {
    tokenStates: shared.tokenStates,
    mentionPositions: unit.mention === null ? [] : (shared.mentionPositions[unit.mention] ?? []),
    regions: shared.regions.map((region, index) => ({ ...region, focus: index === unit.region })),
  };
}

/** A unit's candidates that have a cached vector, with their vectors and generator features. */
export interface ScorableUnit {
  readonly candidates: readonly string[];
  readonly vectors: readonly ArrayLike<number>[];
  readonly features: readonly (readonly number[])[];
}

/** Drops the candidates without a cached candidate vector (they cannot be scored). */
export function scorable(
  unit: LinkUnit,
  vectors: ReadonlyMap<string, ArrayLike<number>>,
): ScorableUnit {
  const candidates: string[] = [];
  const kept: ArrayLike<number>[] = [];
  const features: (readonly number[])[] = [];
  unit.candidates.forEach((id, index) => {
    const vector = vectors.get(id);
    if (!vector) return;
    candidates.push(id);
    kept.push(vector);
    features.push(unit.features[index]!);
  });
  return { candidates, vectors: kept, features };
}
