/** What `linkImage` answers, and how its triples and NIL thresholds are assembled. */
import type { ImageSource } from '../images/image-source.js';
import type { LinkerModel } from '../inference/linker/linker-model.js';
import type { ImageRecord } from '../neo4j/entity-repository.js';
import type { LinkMention, LinkRegion, LinkRequest, LinkTask } from './link-input.js';
import {
  decide,
  type LinkDecision,
  type LinkUnit,
  type RankedCandidate,
  type UnitKind,
} from './link-units.js';
import type { StageTiming } from './stage-clock.js';

export interface LinkImageInput extends LinkRequest {
  readonly image: ImageSource;
}

/** Overrides for choosing the calibration itself (eval/xdep); the API never sets them. */
export interface LinkOptions {
  readonly regionDenseImageWeight?: number;
}

/** Per unit kind, the NIL threshold applied (null: nothing of that kind is NIL). */
export type NilThresholds = Readonly<Record<UnitKind, number | null>>;

/** One answer of `linkImage`: a mention and/or a region, and the entity (null: NIL). */
export interface LinkTriple extends LinkDecision {
  readonly mention: LinkMention | null;
  readonly region: LinkRegion | null;
  /** The NIL threshold this triple's kind was held to. */
  readonly nilThreshold: number | null;
}

export interface LinkImageResult {
  /** The stored query image. */
  readonly image: ImageRecord;
  readonly task: LinkTask;
  /** The linker's fingerprint: the LinkedImage's key with the image's sha256. */
  readonly model: string;
  /** The linker's name@version. */
  readonly modelName: string;
  /** The NIL threshold of pairs (the input's, else the linker's for the task; null: none). */
  readonly nilThreshold: number | null;
  /** The NIL threshold applied to each kind of unit. */
  readonly nilThresholds: NilThresholds;
  readonly linkedAt: string;
  readonly triples: readonly LinkTriple[];
  /** Per stage, in pipeline order, then the total. */
  readonly timing: readonly StageTiming[];
}

/** A unit and its candidates, best first, as scoring leaves them. */
export interface ScoredUnit {
  readonly unit: LinkUnit;
  readonly ranked: RankedCandidate[];
}

/**
 * The NIL threshold of each unit kind: the request's for every kind when it gives one, else the
 * calibration's for the task and kind, else the linker's for the task.
 */
export function nilThresholds(
  linker: Pick<LinkerModel, 'thresholds' | 'calibration'>,
  task: LinkTask,
  requested: number | null,
): NilThresholds {
  const of = (kind: UnitKind): number | null => {
    if (requested !== null) return requested;
    const calibrated = linker.calibration?.thresholds[task]?.[kind];
    return calibrated !== undefined ? calibrated : (linker.thresholds[task] ?? null);
  };
  return { pair: of('pair'), mention: of('mention'), region: of('region') };
}

/** A scored unit as a triple: its mention and region, and the entity or NIL. */
export function tripleOf(
  linked: { readonly mentions: readonly LinkMention[]; readonly regions: readonly LinkRegion[] },
  scored: ScoredUnit & { readonly threshold: number | null },
): LinkTriple {
  const { unit, ranked, threshold } = scored;
  return {
    mention: unit.mention === null ? null : linked.mentions[unit.mention]!,
    region: unit.region === null ? null : linked.regions[unit.region]!,
    nilThreshold: threshold,
    ...decide(ranked, threshold),
  };
}
