import type { BoxTuple } from '../../src/geometry/box.js';
import { readFile } from 'node:fs/promises';

/**
 * The benchmark and prediction formats of eval/FORMAT.md, and strict readers for them: a file
 * the harness cannot read exactly is an error, never a silently smaller score.
 */

/** `[x, y, width, height]` in pixels of the upright image. */
/** `[x, y, w, h]` in pixels of the upright image: src/geometry/box.ts's `BoxTuple`. */
export type Box = BoxTuple;
export type Span = readonly [number, number];

export interface GoldMention {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly gold: string | null;
}

export interface GoldRegion {
  readonly id: string;
  readonly box: Box;
  readonly gold: string | null;
}

export interface GoldPair {
  readonly mention: string;
  readonly region: string;
}

export interface GoldQuery {
  readonly id: string;
  readonly split: string;
  readonly kind: string;
  readonly domain: string;
  readonly image: string;
  readonly width: number;
  readonly height: number;
  readonly caption: string;
  readonly mentions: readonly GoldMention[];
  readonly regions: readonly GoldRegion[];
  readonly pairs: readonly GoldPair[];
}

/** FORMAT.md writes the paper's V-T-KG as `VT-KG`; both spellings are read. */
export type Task = 'VT-KG' | 'V&T-KG';
export const TASKS: readonly Task[] = ['VT-KG', 'V&T-KG'];

export interface PredictedCandidate {
  readonly entity: string;
  readonly score: number;
}

export interface PredictedLink {
  readonly mention: string | null;
  readonly mentionSpan: Span | null;
  readonly region: string | null;
  readonly box: Box | null;
  readonly candidates: readonly PredictedCandidate[];
  readonly prediction: string | null;
}

export interface PredictionLine {
  readonly query: string;
  readonly task: Task;
  readonly links: readonly PredictedLink[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumberTuple(value: unknown, length: number): boolean {
  return (
    Array.isArray(value) &&
    value.length === length &&
    value.every((item) => typeof item === 'number' && Number.isFinite(item))
  );
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function goldMentionProblem(value: unknown): string | null {
  if (!isObject(value)) return 'a mention is not an object';
  if (typeof value.id !== 'string') return 'mention id must be a string';
  if (!Number.isInteger(value.start) || !Number.isInteger(value.end))
    return `mention ${value.id}: start and end must be integers`;
  if (typeof value.text !== 'string') return `mention ${value.id}: text must be a string`;
  if (!isNullableString(value.gold)) return `mention ${value.id}: gold must be a string or null`;
  return null;
}

function goldRegionProblem(value: unknown): string | null {
  if (!isObject(value)) return 'a region is not an object';
  if (typeof value.id !== 'string') return 'region id must be a string';
  if (!isNumberTuple(value.box, 4)) return `region ${value.id}: box must be [x, y, w, h]`;
  if (!isNullableString(value.gold)) return `region ${value.id}: gold must be a string or null`;
  return null;
}

/** Why a parsed line is not a gold query, or null when it is one. */
export function goldQueryProblem(value: unknown): string | null {
  if (!isObject(value)) return 'not a JSON object';
  for (const key of ['id', 'split', 'kind', 'domain'] as const) {
    if (typeof value[key] !== 'string') return `${key} must be a string`;
  }
  if (typeof value.caption !== 'string') return 'caption must be a string';
  for (const key of ['mentions', 'regions', 'pairs'] as const) {
    if (!Array.isArray(value[key])) return `${key} must be an array`;
  }
  for (const mention of value.mentions as unknown[]) {
    const problem = goldMentionProblem(mention);
    if (problem) return problem;
  }
  for (const region of value.regions as unknown[]) {
    const problem = goldRegionProblem(region);
    if (problem) return problem;
  }
  const mentionIds = new Set((value.mentions as GoldMention[]).map((m) => m.id));
  const regionIds = new Set((value.regions as GoldRegion[]).map((r) => r.id));
  for (const pair of value.pairs as unknown[]) {
    if (!isObject(pair) || typeof pair.mention !== 'string' || typeof pair.region !== 'string')
      return 'a pair must be {mention, region}';
    if (!mentionIds.has(pair.mention) || !regionIds.has(pair.region))
      return `pair ${pair.mention}/${pair.region} names an unknown mention or region`;
  }
  return null;
}

function linkProblem(value: unknown): string | null {
  if (!isObject(value)) return 'a link is not an object';
  if (!isNullableString(value.mention ?? null)) return 'link mention must be a string or null';
  if (!isNullableString(value.region ?? null)) return 'link region must be a string or null';
  const span = value.mentionSpan ?? null;
  if (span !== null && !isNumberTuple(span, 2)) return 'mentionSpan must be [start, end] or null';
  const box = value.box ?? null;
  if (box !== null && !isNumberTuple(box, 4)) return 'box must be [x, y, w, h] or null';
  if (!isNullableString(value.prediction ?? null)) return 'prediction must be a string or null';
  if (!Array.isArray(value.candidates)) return 'candidates must be an array';
  for (const candidate of value.candidates as unknown[]) {
    if (
      !isObject(candidate) ||
      typeof candidate.entity !== 'string' ||
      typeof candidate.score !== 'number' ||
      Number.isNaN(candidate.score)
    )
      return 'a candidate must be {entity: string, score: number}';
  }
  return null;
}

export function parseTask(value: unknown): Task | null {
  if (value === 'VT-KG' || value === 'V-T-KG') return 'VT-KG';
  if (value === 'V&T-KG') return 'V&T-KG';
  return null;
}

/** Parses one prediction line, filling the optional link fields with null. */
export function parsePredictionLine(value: unknown): PredictionLine | string {
  if (!isObject(value)) return 'not a JSON object';
  if (typeof value.query !== 'string') return 'query must be a string';
  const task = parseTask(value.task);
  if (task === null) return 'task must be "VT-KG" or "V&T-KG"';
  if (!Array.isArray(value.links)) return 'links must be an array';
  const links: PredictedLink[] = [];
  for (const link of value.links as unknown[]) {
    const problem = linkProblem(link);
    if (problem) return problem;
    const l = link as Json;
    links.push({
      mention: (l.mention as string | null | undefined) ?? null,
      mentionSpan: (l.mentionSpan as Span | null | undefined) ?? null,
      region: (l.region as string | null | undefined) ?? null,
      box: (l.box as Box | null | undefined) ?? null,
      candidates: l.candidates as PredictedCandidate[],
      prediction: (l.prediction as string | null | undefined) ?? null,
    });
  }
  return { query: value.query, task, links };
}

/** Every non-blank line of a JSON Lines text, parsed; errors name the line. */
export function parseJsonLines(text: string, label: string): unknown[] {
  const out: unknown[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line));
    } catch {
      throw new Error(`${label}:${index + 1}: not valid JSON`);
    }
  });
  return out;
}

export function parseGoldQueries(text: string, label = 'gold'): GoldQuery[] {
  return parseJsonLines(text, label).map((value, index) => {
    const problem = goldQueryProblem(value);
    if (problem) throw new Error(`${label}: query ${index + 1}: ${problem}`);
    return value as GoldQuery;
  });
}

export function parsePredictions(text: string, label = 'predictions'): PredictionLine[] {
  return parseJsonLines(text, label).map((value, index) => {
    const parsed = parsePredictionLine(value);
    if (typeof parsed === 'string') throw new Error(`${label}: line ${index + 1}: ${parsed}`);
    return parsed;
  });
}

export async function readGoldQueries(file: string): Promise<GoldQuery[]> {
  return parseGoldQueries(await readFile(file, 'utf8'), file);
}

export async function readPredictions(file: string): Promise<PredictionLine[]> {
  return parsePredictions(await readFile(file, 'utf8'), file);
}
