/**
 * The pure half of the cross-depiction (xdep) evaluation builder: its records, the joins and
 * checks that keep every query picture apart from the KB pictures of its entity, and the query
 * lines in the benchmark's format (eval/FORMAT.md). No I/O.
 */
import { buildCaption, capitaliseFirst, type Piece } from '../build/text.js';
import { hammingDistance, NEAR_DUPLICATE_MAX_DISTANCE } from '../build/phash.js';
import type { Box } from '../build/geometry.js';

/** The held-out sources; one is dev, the other test (`--dev`). */
export const XDEP_SOURCES = ['wesnoth', 'cards'] as const;
export type XdepSource = (typeof XDEP_SOURCES)[number];
export type XdepRole = 'dev' | 'test';

export function rolesFor(dev: XdepSource): Record<XdepSource, XdepRole> {
  return {
    wesnoth: dev === 'wesnoth' ? 'dev' : 'test',
    cards: dev === 'cards' ? 'dev' : 'test',
  };
}

export function parseXdepSource(value: string): XdepSource {
  if ((XDEP_SOURCES as readonly string[]).includes(value)) return value as XdepSource;
  throw new Error(`unknown source ${value}; sources: ${XDEP_SOURCES.join(', ')}`);
}

/** One picture with where it came from: package file, licence, and who drew it in what style. */
export interface XImage {
  /** Repo-relative path of the picture the service reads. */
  readonly path: string;
  readonly package: string;
  readonly version: string;
  readonly licence: string;
  /** The file inside the package it was taken or cut from. */
  readonly file: string;
  /** The depiction: "wesnoth-portrait", "wesnoth-sprite", "deck:<deck>". */
  readonly style: string;
  /** The artist or deck designer as the package names them; "unknown" when it does not. */
  readonly artist: string;
}

export interface XEntity {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly domain: string;
  readonly tags: readonly string[];
  /** How a caption names it. */
  readonly mention: string;
  readonly kbImages: readonly XImage[];
  /** Pictures of it by other artists or in other styles: the query side. */
  readonly queryImages: readonly XImage[];
  readonly source: {
    readonly package: string;
    readonly version: string;
    readonly file: string;
    readonly licence: string;
  };
}

// ---------------------------------------------------------------------------------------------
// Joins

/**
 * One entity per KB picture: entities whose KB picture (or query picture) is shared with another
 * are grouped, and the group keeps the member `prefer` ranks first (ties: the smaller id). Returns
 * the kept entities and, for each dropped one, the id of the entity that kept the picture.
 */
export function onePerPicture<T extends { id: string; kbKey: string; queryKey: string }>(
  items: readonly T[],
  prefer: (item: T) => number,
): { kept: T[]; dropped: { id: string; keptBy: string }[] } {
  const order = [...items].sort((a, b) => prefer(b) - prefer(a) || (a.id < b.id ? -1 : 1));
  const usedKb = new Map<string, string>();
  const usedQuery = new Map<string, string>();
  const kept: T[] = [];
  const dropped: { id: string; keptBy: string }[] = [];
  for (const item of order) {
    const by = usedKb.get(item.kbKey) ?? usedQuery.get(item.queryKey);
    if (by !== undefined) {
      dropped.push({ id: item.id, keptBy: by });
      continue;
    }
    usedKb.set(item.kbKey, item.id);
    usedQuery.set(item.queryKey, item.id);
    kept.push(item);
  }
  return { kept: kept.sort((a, b) => (a.id < b.id ? -1 : 1)), dropped };
}

/** How many words of `stem` (a file name) occur in `name`: "warden" ↔ "Drake Warden" is 1. */
export function stemOverlap(name: string, file: string): number {
  const words = new Set(name.toLowerCase().split(/[^a-z0-9]+/));
  const stem = (file.split('/').pop() ?? '').replace(/\.[a-z]+$/i, '');
  return stem
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '' && words.has(w)).length;
}

// ---------------------------------------------------------------------------------------------
// Checks: a query picture is never its entity's KB picture

export interface HashedImage {
  readonly style: string;
  readonly artist: string;
  readonly sha256: string;
  readonly dHash: string;
}

/**
 * Why a query picture may not stand for its entity, or null when it may: it must come from
 * another style and artist than every KB picture of the entity, and be neither the same bytes
 * nor a perceptual near-copy (dHash within NEAR_DUPLICATE_MAX_DISTANCE) of any of them.
 */
export function queryImageProblem(
  query: HashedImage,
  kb: readonly HashedImage[],
): { problem: string | null; minDistance: number } {
  let minDistance = 64;
  let problem: string | null = null;
  for (const k of kb) {
    const d = hammingDistance(query.dHash, k.dHash);
    minDistance = Math.min(minDistance, d);
    if (problem) continue;
    if (query.style === k.style) problem = `same style as the KB picture (${k.style})`;
    else if (query.artist !== 'unknown' && query.artist === k.artist)
      problem = `same artist as the KB picture (${k.artist})`;
    else if (query.sha256 === k.sha256) problem = 'the same bytes as the KB picture';
    else if (d <= NEAR_DUPLICATE_MAX_DISTANCE)
      problem = `a near-copy of the KB picture (dHash distance ${d})`;
  }
  return { problem, minDistance };
}

/**
 * Entities held out of the KB as NIL: every `step`-th of the sorted ids after a seeded offset
 * (deterministic, spread over the id order).
 */
export function holdOut<T extends { id: string }>(
  items: readonly T[],
  fraction: number,
  random: () => number,
): { kb: T[]; nil: T[] } {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : 1));
  const n = Math.round(sorted.length * fraction);
  const picked = new Set<string>();
  const pool = [...sorted];
  for (let k = 0; k < n && pool.length > 0; k++) {
    const j = Math.floor(random() * pool.length);
    const [item] = pool.splice(j, 1);
    if (item) picked.add(item.id);
  }
  return {
    kb: sorted.filter((e) => !picked.has(e.id)),
    nil: sorted.filter((e) => picked.has(e.id)),
  };
}

// ---------------------------------------------------------------------------------------------
// Query lines (eval/FORMAT.md, with the xdep kinds)

export type XdepKind = 'image-only' | 'named' | 'scene';

export interface XQueryLine {
  id: string;
  split: XdepRole;
  kind: XdepKind;
  domain: string;
  image: string;
  width: number;
  height: number;
  caption: string;
  mentions: { id: string; start: number; end: number; text: string; gold: string | null }[];
  regions: { id: string; box: Box; gold: string | null }[];
  pairs: { mention: string; region: string }[];
  provenance: (XImage & { role: 'background' | 'object' | 'distractor' })[];
}

/** The caption of an image-only query: neutral, names nothing (linkImage links the region). */
export const NEUTRAL_CAPTION = 'A picture.';

/** An image-only query: one region, the whole image, no mention. */
export function imageOnlyQuery(args: {
  id: string;
  split: XdepRole;
  entity: XEntity;
  image: { path: string; width: number; height: number };
  provenance: XImage;
}): XQueryLine {
  const { image } = args;
  return {
    id: args.id,
    split: args.split,
    kind: 'image-only',
    domain: args.entity.domain,
    image: image.path,
    width: image.width,
    height: image.height,
    caption: NEUTRAL_CAPTION,
    mentions: [],
    regions: [{ id: 'r1', box: [0, 0, image.width, image.height], gold: args.entity.id }],
    pairs: [],
    provenance: [{ ...args.provenance, role: 'object' }],
  };
}

const NAMED_TEMPLATES: ((m: Piece) => Piece[])[] = [
  (m) => ['A picture of the ', m, '.'],
  (m) => ['Here you can see the ', m, '.'],
  (m) => ['The ', m, ', as drawn here.'],
];

/** A named query: the caption names the entity; the mention, the whole-image region, their pair. */
export function namedQuery(args: {
  id: string;
  split: XdepRole;
  entity: XEntity;
  image: { path: string; width: number; height: number };
  provenance: XImage;
  template: number;
}): XQueryLine {
  const base = imageOnlyQuery(args);
  const make = NAMED_TEMPLATES[args.template % NAMED_TEMPLATES.length] ?? NAMED_TEMPLATES[0]!;
  const built = buildCaption(capitaliseFirst(make({ mention: args.entity.mention, key: 'm1' })));
  const [start, end] = built.spans.get('m1') ?? [0, 0];
  return {
    ...base,
    kind: 'named',
    caption: built.text,
    mentions: [{ id: 'm1', start, end, text: built.text.slice(start, end), gold: args.entity.id }],
    pairs: [{ mention: 'm1', region: 'r1' }],
  };
}

export const NAMED_TEMPLATE_COUNT = NAMED_TEMPLATES.length;
