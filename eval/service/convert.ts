import type {
  Box,
  GoldMention,
  GoldQuery,
  GoldRegion,
  PredictedCandidate,
  PredictedLink,
  PredictionLine,
  Task,
} from '../harness/format.js';
import { clipBox, fromTuple, toTuple } from '../../src/geometry/box.js';
import { percentile } from '../harness/scoring.js';

/**
 * The pure half of run-service-eval.ts: the `linkImage` input of a benchmark query in each
 * evaluation mode, and the conversion of the service's answer into a harness prediction line
 * (eval/FORMAT.md). No I/O.
 */

/** The three ways the service is asked, as in issue 6. */
export const MODES = ['vandt-kg', 'vt-kg-given', 'vt-kg-auto'] as const;
export type Mode = (typeof MODES)[number];

export interface ModeInfo {
  readonly task: Task;
  /** Row title in the tables. */
  readonly title: string;
  /** What the service is given. */
  readonly given: string;
}

export const MODE_INFO: Record<Mode, ModeInfo> = {
  'vandt-kg': {
    task: 'V&T-KG',
    title: '(a) service, V&T-KG: gold spans, boxes and pairs given',
    given: 'gold mention spans, gold region boxes and the gold pairs',
  },
  'vt-kg-given': {
    task: 'VT-KG',
    title: '(b) service, V-T-KG: gold spans and boxes given, no pairs',
    given: 'gold mention spans and gold region boxes, no pairs (the baselines’ simplification)',
  },
  'vt-kg-auto': {
    task: 'VT-KG',
    title: '(c) service, V-T-KG automatic: detected mentions, proposed regions',
    given: 'only the image and the caption (mention detection and region proposals)',
  },
};

export function parseModes(text: string): Mode[] {
  const modes = text
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  for (const mode of modes) {
    if (!(MODES as readonly string[]).includes(mode))
      throw new Error(`unknown mode ${mode}; modes: ${MODES.join(', ')}`);
  }
  if (modes.length === 0) throw new Error(`no mode given; modes: ${MODES.join(', ')}`);
  return [...new Set(modes)] as Mode[];
}

// ---------------------------------------------------------------------------------------------
// Request

/** `LinkImageInput` as JSON variables (the schema's field names). */
export interface LinkImageVariables {
  readonly image: { readonly dataUrl: string };
  readonly caption: string;
  readonly mentions?: readonly { readonly start: number; readonly end: number }[];
  readonly regions?: readonly {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
  }[];
  readonly pairs?: readonly { readonly mention: number; readonly region: number }[];
  readonly candidates: number;
}

export const LINK_IMAGE_MUTATION = `mutation ($input: LinkImageInput!) {
  linkImage(input: $input) {
    task model modelName nilThreshold
    nilThresholds { pair mention region }
    triples {
      nil score
      mention { start end text source }
      region { x y width height label score source }
      entity { id }
      alternatives { score entity { id } }
    }
    timing { stage ms }
  }
}`;

export const MIME_BY_EXTENSION: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
};

export function dataUrlOf(bytes: Uint8Array, file: string): string {
  const extension = file.slice(file.lastIndexOf('.')).toLowerCase();
  const mime = MIME_BY_EXTENSION[extension];
  if (mime === undefined) throw new Error(`${file}: no image type known for ${extension}`);
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}

/**
 * The `linkImage` input of a query in a mode: (a) gold spans, boxes and pairs (pairs as indices
 * into the given lists); (b) gold spans and boxes only; (c) the image and the caption only.
 */
export function linkInputOf(
  query: GoldQuery,
  mode: Mode,
  options: { dataUrl: string; candidates: number },
): LinkImageVariables {
  const base = {
    image: { dataUrl: options.dataUrl },
    caption: query.caption,
    candidates: options.candidates,
  };
  if (mode === 'vt-kg-auto') return base;
  const given = {
    ...base,
    mentions: query.mentions.map(({ start, end }) => ({ start, end })),
    regions: query.regions.map(({ box: [x, y, width, height] }) => ({ x, y, width, height })),
  };
  if (mode === 'vt-kg-given') return given;
  const mentionIndex = new Map(query.mentions.map((m, index) => [m.id, index]));
  const regionIndex = new Map(query.regions.map((r, index) => [r.id, index]));
  return {
    ...given,
    pairs: query.pairs.map((pair) => {
      const mention = mentionIndex.get(pair.mention);
      const region = regionIndex.get(pair.region);
      if (mention === undefined || region === undefined)
        throw new Error(`${query.id}: pair ${pair.mention}/${pair.region} names an unknown id`);
      return { mention, region };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Response

export interface ServiceTriple {
  readonly nil: boolean;
  readonly score: number | null;
  readonly mention: { readonly start: number; readonly end: number } | null;
  readonly region: {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
  } | null;
  readonly entity: { readonly id: string } | null;
  readonly alternatives: readonly {
    readonly score: number;
    readonly entity: { readonly id: string };
  }[];
}

export interface ServiceResult {
  readonly task: string;
  readonly model: string;
  readonly modelName: string;
  readonly nilThreshold: number | null;
  /** Per unit kind (absent in answers recorded before issue 12). */
  readonly nilThresholds?: {
    readonly pair: number | null;
    readonly mention: number | null;
    readonly region: number | null;
  };
  readonly triples: readonly ServiceTriple[];
  readonly timing: readonly { readonly stage: string; readonly ms: number }[];
}

/**
 * A triple's candidate list for the harness: its entity with the triple's score, then its
 * alternatives, best first (stable for equal scores), each entity once. A NIL triple has no
 * entity: its alternatives are its best candidates.
 */
export function candidatesOf(triple: ServiceTriple, where = 'triple'): PredictedCandidate[] {
  if (triple.nil !== (triple.entity === null))
    throw new Error(
      `${where}: nil is ${triple.nil} but the entity is ${triple.entity?.id ?? null}`,
    );
  const list: PredictedCandidate[] = [];
  if (triple.entity !== null) {
    if (typeof triple.score !== 'number' || !Number.isFinite(triple.score))
      throw new Error(`${where}: entity ${triple.entity.id} without a score`);
    list.push({ entity: triple.entity.id, score: triple.score });
  }
  for (const alternative of triple.alternatives) {
    if (!Number.isFinite(alternative.score))
      throw new Error(`${where}: alternative ${alternative.entity.id} has no finite score`);
    list.push({ entity: alternative.entity.id, score: alternative.score });
  }
  const seen = new Set<string>();
  return list
    .map((candidate, index) => ({ candidate, index }))
    .sort((a, b) => b.candidate.score - a.candidate.score || a.index - b.index)
    .map(({ candidate }) => candidate)
    .filter((c) => (seen.has(c.entity) ? false : (seen.add(c.entity), true)));
}

const boxOf = (region: NonNullable<ServiceTriple['region']>): Box => toTuple(region);

/**
 * The given box as the service reports it: rounded to whole pixels and clipped to the image
 * (`clipBox`, as `givenRegions` does), so that a triple can be checked against its gold region.
 */
export function givenBox(box: Box, image: { width: number; height: number }): Box | null {
  const clipped = clipBox(fromTuple(box), image);
  return clipped ? toTuple(clipped) : null;
}

interface VandTUnit {
  readonly mention: GoldMention | null;
  readonly region: GoldRegion | null;
}

/**
 * The V&T-KG triples `linkImage` answers, in its order (schema.graphql `LinkImageResult.triples`):
 * the given pairs in the given order, then the mentions in no pair, then the regions in no pair,
 * each in the order given (the gold order, as linkInputOf sends them).
 */
export function vandtUnits(query: GoldQuery): VandTUnit[] {
  const mentions = new Map(query.mentions.map((m) => [m.id, m]));
  const regions = new Map(query.regions.map((r) => [r.id, r]));
  const pairedMentions = new Set(query.pairs.map((p) => p.mention));
  const pairedRegions = new Set(query.pairs.map((p) => p.region));
  return [
    ...query.pairs.map((p) => ({
      mention: mentions.get(p.mention) ?? null,
      region: regions.get(p.region) ?? null,
    })),
    ...query.mentions
      .filter((m) => !pairedMentions.has(m.id))
      .map((m) => ({ mention: m, region: null })),
    ...query.regions
      .filter((r) => !pairedRegions.has(r.id))
      .map((r) => ({ mention: null, region: r })),
  ];
}

/**
 * V&T-KG: each triple names the gold mention and region ids of the unit at its index (the given
 * spans and boxes map back to ids by index). Every triple is checked against its unit: the same
 * span, the same (rounded, clipped) box, no side the unit lacks; a mismatch is an error, never a
 * silently misattributed link.
 */
function vandtLinks(query: GoldQuery, result: ServiceResult): PredictedLink[] {
  const units = vandtUnits(query);
  if (result.triples.length !== units.length)
    throw new Error(
      `${query.id}: ${result.triples.length} triples for ${units.length} V&T-KG units`,
    );
  return result.triples.map((triple, index) => {
    const unit = units[index]!;
    const where = `${query.id}: triple ${index}`;
    if ((triple.mention === null) !== (unit.mention === null))
      throw new Error(`${where}: mention ${triple.mention ? 'given back' : 'missing'}`);
    if ((triple.region === null) !== (unit.region === null))
      throw new Error(`${where}: region ${triple.region ? 'given back' : 'missing'}`);
    if (triple.mention && unit.mention) {
      const { start, end } = triple.mention;
      if (start !== unit.mention.start || end !== unit.mention.end)
        throw new Error(`${where}: span [${start}, ${end}) is not ${unit.mention.id}'s`);
    }
    if (triple.region && unit.region) {
      const expected = givenBox(unit.region.box, query);
      const got = boxOf(triple.region);
      if (expected === null || got.some((v, i) => v !== expected[i]))
        throw new Error(`${where}: box [${got.join(', ')}] is not ${unit.region.id}'s`);
    }
    return {
      mention: unit.mention?.id ?? null,
      mentionSpan: null,
      region: unit.region?.id ?? null,
      box: null,
      candidates: candidatesOf(triple, where),
      prediction: triple.entity?.id ?? null,
    };
  });
}

/** V-T-KG: each triple with its span and box; the harness matches them to the gold. */
function vtLinks(query: GoldQuery, result: ServiceResult): PredictedLink[] {
  return result.triples.map((triple, index) => ({
    mention: null,
    mentionSpan: triple.mention ? [triple.mention.start, triple.mention.end] : null,
    region: null,
    box: triple.region ? boxOf(triple.region) : null,
    candidates: candidatesOf(triple, `${query.id}: triple ${index}`),
    prediction: triple.entity?.id ?? null,
  }));
}

/**
 * The harness prediction line of one `linkImage` answer. `prediction` is the service's own
 * decision (null: NIL by the linker's dev-calibrated threshold), so the harness needs no
 * threshold of its own.
 */
export function predictionLine(
  query: GoldQuery,
  mode: Mode,
  result: ServiceResult,
): PredictionLine {
  const { task } = MODE_INFO[mode];
  if (result.task !== task)
    throw new Error(`${query.id}: the service answered ${result.task} in mode ${mode} (${task})`);
  return {
    query: query.id,
    task,
    links: task === 'V&T-KG' ? vandtLinks(query, result) : vtLinks(query, result),
  };
}

/** The line of a query whose request failed: no links, so every unit counts as unanswered. */
export function emptyLine(query: GoldQuery, mode: Mode): PredictionLine {
  return { query: query.id, task: MODE_INFO[mode].task, links: [] };
}

// ---------------------------------------------------------------------------------------------
// Timings

export interface LatencySummary {
  readonly requests: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly meanMs: number | null;
}

export function latency(ms: readonly number[]): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  if (sorted.length === 0) return { requests: 0, p50Ms: null, p95Ms: null, meanMs: null };
  return {
    requests: sorted.length,
    p50Ms: round(percentile(sorted, 0.5)),
    p95Ms: round(percentile(sorted, 0.95)),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}
