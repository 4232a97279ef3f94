/**
 * Builds Polylink-MEL (see eval/FORMAT.md) from real, offline-fetchable sources:
 *
 *   npx tsx eval/build/build-benchmark.ts [--seed 1] [--out var/benchmark] [--small]
 *                                         [--fixture test/fixtures/benchmark]
 *
 * Writes eval/split.json (checked in), <out>/kb.jsonl, <out>/queries.jsonl, <out>/images/ and
 * <out>/stats.json. `--fixture DIR` instead writes the small committed test subset into DIR.
 * Deterministic for a seed: every random choice comes from a keyed stream (rng.ts).
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  composeScene,
  dHashOf,
  fileSha256,
  imageSize,
  loadRgba,
  sha256Hex,
  type Placed,
} from './compose.js';
import { featherAlpha, alphaBBox, intersection, area, type Box } from './geometry.js';
import { hammingDistance, NEAR_DUPLICATE_MAX_DISTANCE } from './phash.js';
import { rngFor, type Rng } from './rng.js';
import {
  loadAllEntities,
  loadBackgrounds,
  repoRoot,
  type Background,
  type BenchEntity,
  type Provenance,
  type Rendition,
} from './sources.js';
import { buildSplit, SPLITS, type Split, type SplitManifest } from './split.js';
import {
  article,
  buildCaption,
  capitaliseFirst,
  conceptKey,
  joinList,
  makeRiddle,
  type Piece,
} from './text.js';

// ---------------------------------------------------------------------------------------------
// Output records (eval/FORMAT.md)
// ---------------------------------------------------------------------------------------------

export interface KbLine {
  id: string;
  name: string;
  aliases: string[];
  description: string;
  domain: string;
  tags: string[];
  images: Provenance[];
  concept: string;
  split: Split;
  source: BenchEntity['source'];
}

export interface Mention {
  id: string;
  start: number;
  end: number;
  text: string;
  gold: string | null;
}
export interface Region {
  id: string;
  box: Box;
  gold: string | null;
}
export interface QueryLine {
  id: string;
  split: Split;
  kind: 'single' | 'scene' | 'riddle';
  domain: string;
  image: string;
  width: number;
  height: number;
  caption: string;
  mentions: Mention[];
  regions: Region[];
  pairs: { mention: string; region: string }[];
  /** Every file the query image was made from (background, pasted renditions), with licences. */
  provenance: (Provenance & { role: 'background' | 'object' | 'distractor' })[];
}

// ---------------------------------------------------------------------------------------------
// Image checks
// ---------------------------------------------------------------------------------------------

class HashCache {
  private readonly sha = new Map<string, string>();
  private readonly dh = new Map<string, Promise<string>>();
  fileSha(p: string): string {
    let h = this.sha.get(p);
    if (h === undefined) {
      h = fileSha256(p);
      this.sha.set(p, h);
    }
    return h;
  }
  dHash(p: string): Promise<string> {
    let h = this.dh.get(p);
    if (h === undefined) {
      h = dHashOf(p);
      this.dh.set(p, h);
    }
    return h;
  }
}

/** Smallest dHash distance from `hash` to the KB images of the entities, and whether a sha matches. */
async function kbSimilarity(
  cache: HashCache,
  sha: string,
  hash: string,
  golds: readonly BenchEntity[],
): Promise<{ exact: boolean; minDistance: number }> {
  let exact = false;
  let minDistance = 64;
  for (const e of golds) {
    for (const img of e.images) {
      if (cache.fileSha(img.path) === sha) exact = true;
      minDistance = Math.min(minDistance, hammingDistance(hash, await cache.dHash(img.path)));
    }
  }
  return { exact, minDistance };
}

/** Query-side renditions that are not near-copies of the entity's KB images; else the KB file. */
async function usableRenditions(cache: HashCache, e: BenchEntity): Promise<Rendition[]> {
  const good: Rendition[] = [];
  for (const r of e.renditions.filter((x) => !x.isKbFile)) {
    const { exact, minDistance } = await kbSimilarity(
      cache,
      cache.fileSha(r.path),
      await cache.dHash(r.path),
      [e],
    );
    if (!exact && minDistance > NEAR_DUPLICATE_MAX_DISTANCE) good.push(r);
  }
  return good.length ? good : e.renditions.filter((x) => x.isKbFile);
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

interface SceneObject {
  entity: BenchEntity;
  gold: string | null;
  role: 'object' | 'distractor';
  rendition: Rendition;
}

interface Rendered {
  buffer: Buffer;
  width: number;
  height: number;
  boxes: (Box | undefined)[];
  background: Background;
}

async function render(
  rng: Rng,
  objects: readonly SceneObject[],
  backgrounds: readonly Background[],
  opts: { maxSide: number; single: boolean },
): Promise<Rendered> {
  const background = rng.pick(backgrounds);
  const bg = await imageSize(background.path);
  const frac = rng.range(0.7, 1);
  const cw = Math.max(16, Math.round(bg.width * frac));
  const ch = Math.max(16, Math.round(bg.height * frac));
  const crop: Box = [rng.int(0, bg.width - cw), rng.int(0, bg.height - ch), cw, ch];
  const scale = opts.maxSide / Math.max(cw, ch);
  const width = Math.max(1, Math.round(cw * scale));
  const height = Math.max(1, Math.round(ch * scale));
  const short = Math.min(width, height);
  const placed: Placed[] = [];
  const boxes: (Box | undefined)[] = [];
  for (const o of objects) {
    const side = Math.round(short * (opts.single ? rng.range(0.45, 0.85) : rng.range(0.22, 0.45)));
    const img = await loadRgba(o.rendition.path, Math.max(8, side), rng.chance(0.5));
    featherAlpha(img.data, img.width, img.height);
    const own = alphaBBox(img.data, img.width, img.height);
    let box: Box | undefined;
    if (own && img.width <= width && img.height <= height) {
      for (let attempt = 0; attempt < 40 && !box; attempt++) {
        const left = rng.int(0, width - img.width);
        const top = rng.int(0, height - img.height);
        const b: Box = [own[0] + left, own[1] + top, own[2], own[3]];
        const clash = boxes.some(
          (p) => p !== undefined && intersection(p, b) > 0.15 * Math.min(area(p), area(b)),
        );
        if (!clash) {
          box = b;
          placed.push({ image: img, left, top });
        }
      }
    }
    boxes.push(box);
  }
  const buffer = await composeScene({
    background: background.path,
    crop,
    size: { width, height },
    objects: placed,
    firstQuality: rng.int(70, 95),
  });
  return { buffer, width, height, boxes, background };
}

// ---------------------------------------------------------------------------------------------
// Captions
// ---------------------------------------------------------------------------------------------

/** The noun phrase naming an entity in a caption, with the mention itself as a piece. */
function phrase(e: BenchEntity, key: string, indefinite: boolean): Piece[] {
  const m = { mention: e.mention, key };
  if (e.sourceName === 'freeciv-nations') return ['the flag of the ', m];
  return indefinite ? [`${article(e.mention)} `, m] : ['the ', m];
}

const SINGLE_TEMPLATES: ((np: Piece[], where: string) => Piece[])[] = [
  (np) => ['A picture of ', ...np, '.'],
  (np, where) => [...np, ` ${where}.`],
  (np) => ['Here you can see ', ...np, '.'],
  (np, where) => ['Somebody left ', ...np, ` ${where}.`],
];

// ---------------------------------------------------------------------------------------------
// Query generation
// ---------------------------------------------------------------------------------------------

export interface Pools {
  kb: Map<Split, BenchEntity[]>;
  nil: Map<Split, BenchEntity[]>;
}

export interface GenerateOptions {
  seed: number;
  singles: number;
  scenes: number;
  maxSide: number;
  /** Folder (repo-relative) for query images. */
  imageDir: string;
  minDistractors: number;
}

export interface GenerateStats {
  rejectedRenders: number;
  singleFromKbFile: number;
  riddleFallbacks: number;
  droppedObjects: number;
  minKbDistance: number;
}

function splitOfEntity(manifest: SplitManifest, id: string): Split {
  const s = manifest.entities[id] ?? manifest.nil[id];
  if (!s) throw new Error(`${id} has no split`);
  return s;
}

export async function generateQueries(
  pools: Pools,
  manifest: SplitManifest,
  backgrounds: readonly Background[],
  opts: GenerateOptions,
): Promise<{ queries: QueryLine[]; stats: GenerateStats }> {
  const cache = new HashCache();
  const stats: GenerateStats = {
    rejectedRenders: 0,
    singleFromKbFile: 0,
    riddleFallbacks: 0,
    droppedObjects: 0,
    minKbDistance: 64,
  };
  const queries: QueryLine[] = [];
  const kbNames = new Set<string>();
  for (const list of pools.kb.values())
    for (const e of list)
      for (const n of [e.name, ...e.aliases, e.mention]) kbNames.add(conceptKey(n));
  const usable = new Map<string, Rendition[]>();
  const renditionsOf = async (e: BenchEntity): Promise<Rendition[]> => {
    let r = usable.get(e.id);
    if (!r) {
      r = await usableRenditions(cache, e);
      usable.set(e.id, r);
    }
    return r;
  };
  mkdirSync(path.join(repoRoot, opts.imageDir), { recursive: true });
  let counter = 0;

  /** Render until the image passes the KB checks (at most 4 tries); undefined if it never does. */
  const renderChecked = async (
    id: string,
    objects: SceneObject[],
    golds: BenchEntity[],
    single: boolean,
  ): Promise<Rendered | undefined> => {
    for (let attempt = 0; attempt < 4; attempt++) {
      const rng = rngFor(opts.seed, `render:${id}:${attempt}`);
      const r = await render(rng, objects, backgrounds, { maxSide: opts.maxSide, single });
      const { exact, minDistance } = await kbSimilarity(
        cache,
        sha256Hex(r.buffer),
        await dHashOf(r.buffer),
        golds,
      );
      if (!exact && minDistance > NEAR_DUPLICATE_MAX_DISTANCE && r.boxes.some((b) => b)) {
        stats.minKbDistance = Math.min(stats.minKbDistance, minDistance);
        return r;
      }
      stats.rejectedRenders++;
    }
    return undefined;
  };

  const write = (
    q: Omit<QueryLine, 'image' | 'width' | 'height'>,
    r: Rendered,
    objects: SceneObject[],
  ): QueryLine => {
    const image = `${opts.imageDir}/${q.id}.jpg`;
    writeFileSync(path.join(repoRoot, image), r.buffer);
    const line: QueryLine = {
      ...q,
      image,
      width: r.width,
      height: r.height,
      provenance: [
        { ...stripPhrase(r.background), role: 'background' },
        ...objects.map((o) => ({
          path: o.rendition.path,
          package: o.rendition.package,
          version: o.rendition.version,
          licence: o.rendition.licence,
          role: o.role,
        })),
      ],
    };
    return line;
  };

  // Single-entity queries: one query per sampled KB entity, named or riddle at random.
  const all = SPLITS.flatMap((s) => pools.kb.get(s) ?? []);
  const order = rngFor(opts.seed, 'singles').shuffle(all);
  let made = 0;
  for (const e of order) {
    if (made >= opts.singles) break;
    const rends = await renditionsOf(e);
    if (rends.length === 0) continue;
    const id = `q-${String(++counter).padStart(6, '0')}`;
    const rng = rngFor(opts.seed, `caption:${id}`);
    const rendition = rng.pick(rends);
    if (rendition.isKbFile) stats.singleFromKbFile++;
    const objects: SceneObject[] = [{ entity: e, gold: e.id, role: 'object', rendition }];
    const r = await renderChecked(id, objects, [e], true);
    const box = r?.boxes[0];
    if (!r || !box) continue;
    const wantRiddle = rng.chance(0.5);
    const riddle = wantRiddle
      ? makeRiddle(e.description, [e.name, ...e.aliases, e.mention])
      : undefined;
    if (wantRiddle && !riddle) stats.riddleFallbacks++;
    let caption: string;
    let span: [number, number];
    if (riddle) {
      caption = riddle;
      span = [0, riddle.length];
    } else {
      const built = buildCaption(
        capitaliseFirst(rng.pick(SINGLE_TEMPLATES)(phrase(e, 'm1', false), r.background.phrase)),
      );
      caption = built.text;
      span = built.spans.get('m1') ?? [0, 0];
    }
    queries.push(
      write(
        {
          id,
          split: splitOfEntity(manifest, e.id),
          kind: riddle ? 'riddle' : 'single',
          domain: e.domain,
          caption,
          mentions: [
            {
              id: 'm1',
              start: span[0],
              end: span[1],
              text: caption.slice(span[0], span[1]),
              gold: e.id,
            },
          ],
          regions: [{ id: 'r1', box, gold: e.id }],
          pairs: [{ mention: 'm1', region: 'r1' }],
          provenance: [],
        },
        r,
        objects,
      ),
    );
    made++;
  }

  // Multi-entity scenes.
  const sceneRng = rngFor(opts.seed, 'scenes');
  const splitWeights = SPLITS.map((s) => (pools.kb.get(s) ?? []).length);
  for (let k = 0; k < opts.scenes; k++) {
    const id = `q-${String(++counter).padStart(6, '0')}`;
    const split = weighted(sceneRng, SPLITS, splitWeights);
    const members = pools.kb.get(split) ?? [];
    const byDomain = new Map<string, BenchEntity[]>();
    for (const e of members) byDomain.set(e.domain, [...(byDomain.get(e.domain) ?? []), e]);
    const domains = [...byDomain.keys()].filter((d) => (byDomain.get(d) ?? []).length >= 2).sort();
    if (domains.length === 0) continue;
    const domain = weighted(
      sceneRng,
      domains,
      domains.map((d) => (byDomain.get(d) ?? []).length),
    );
    const inDomain = sceneRng.shuffle(byDomain.get(domain) ?? []);
    const n = Math.min(sceneRng.int(2, 5), inDomain.length);
    // The first n entities (in the shuffled order) that have a usable picture are pasted.
    const objects: SceneObject[] = [];
    let next = 0;
    for (; next < inDomain.length && objects.length < n; next++) {
      const e = inDomain[next];
      const rends = e ? await renditionsOf(e) : [];
      if (e && rends.length)
        objects.push({ entity: e, gold: e.id, role: 'object', rendition: sceneRng.pick(rends) });
    }
    if (objects.length < 2) continue;
    const namedOnly = next < inDomain.length && sceneRng.chance(0.35) ? inDomain[next] : undefined;
    const nilPool = pools.nil.get(split) ?? [];
    const nDistractors = Math.min(
      nilPool.length,
      Math.max(opts.minDistractors, sceneRng.int(0, 2)),
    );
    const distractors = sceneRng.shuffle(nilPool).slice(0, nDistractors);
    for (const e of distractors) {
      const rends = e.renditions.filter((r) => !r.isKbFile);
      const pick = rends.length ? rends : e.renditions;
      if (pick.length)
        objects.push({ entity: e, gold: null, role: 'distractor', rendition: sceneRng.pick(pick) });
    }
    const golds = objects.filter((o) => o.gold !== null).map((o) => o.entity);
    if (golds.length < 1) continue;
    const r = await renderChecked(id, objects, golds, false);
    if (!r) continue;
    const kept = objects
      .map((o, j) => ({ o, box: r.boxes[j] }))
      .filter((x): x is { o: SceneObject; box: Box } => x.box !== undefined);
    stats.droppedObjects += objects.length - kept.length;
    // Named in the caption: every pasted KB entity, a NIL distractor when its name is in no KB.
    const named = kept.filter(
      (x) =>
        x.o.gold !== null ||
        (sceneRng.chance(0.5) &&
          !kbNames.has(conceptKey(x.o.entity.mention)) &&
          !kbNames.has(conceptKey(x.o.entity.name))),
    );
    const items: Piece[][] = named.map((x, j) => phrase(x.o.entity, `m${j + 1}`, true));
    const pieces: Piece[] = [...joinList(items), ` ${r.background.phrase}`];
    if (namedOnly)
      pieces.push(
        ', but no ',
        ...phrase(namedOnly, `m${named.length + 1}`, false).slice(
          namedOnly.sourceName === 'freeciv-nations' ? 0 : 1,
        ),
      );
    pieces.push('.');
    const built = buildCaption(capitaliseFirst(pieces));
    const mentions: Mention[] = [];
    const regions: Region[] = kept.map((x, j) => ({ id: `r${j + 1}`, box: x.box, gold: x.o.gold }));
    const pairs: { mention: string; region: string }[] = [];
    named.forEach((x, j) => {
      const span = built.spans.get(`m${j + 1}`) ?? [0, 0];
      mentions.push({
        id: `m${j + 1}`,
        start: span[0],
        end: span[1],
        text: built.text.slice(span[0], span[1]),
        gold: x.o.gold,
      });
      pairs.push({ mention: `m${j + 1}`, region: `r${kept.indexOf(x) + 1}` });
    });
    if (namedOnly) {
      const key = `m${named.length + 1}`;
      const span = built.spans.get(key) ?? [0, 0];
      mentions.push({
        id: key,
        start: span[0],
        end: span[1],
        text: built.text.slice(span[0], span[1]),
        gold: namedOnly.id,
      });
    }
    queries.push(
      write(
        {
          id,
          split,
          kind: 'scene',
          domain,
          caption: built.text,
          mentions,
          regions,
          pairs,
          provenance: [],
        },
        r,
        kept.map((x) => x.o),
      ),
    );
  }
  return { queries, stats };
}

function stripPhrase(b: Background): Provenance {
  return { path: b.path, package: b.package, version: b.version, licence: b.licence };
}

function weighted<T>(rng: Rng, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = rng.next() * total;
  for (let k = 0; k < items.length; k++) {
    x -= weights[k] ?? 0;
    if (x < 0) return items[k] as T;
  }
  return items[items.length - 1] as T;
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

function toKbLine(e: BenchEntity, split: Split, images: Provenance[] = e.images): KbLine {
  return {
    id: e.id,
    name: e.name,
    aliases: e.aliases,
    description: e.description,
    domain: e.domain,
    tags: e.tags,
    images,
    concept: e.concept,
    split,
    source: e.source,
  };
}

const jsonl = (xs: readonly unknown[]): string =>
  xs.map((x) => JSON.stringify(x)).join('\n') + '\n';

function countQueries(queries: readonly QueryLine[]): Record<Split, Record<string, number>> {
  const out = { train: {}, dev: {}, test: {} } as Record<Split, Record<string, number>>;
  for (const q of queries) {
    const c = out[q.split];
    c[q.kind] = (c[q.kind] ?? 0) + 1;
    c.mentions = (c.mentions ?? 0) + q.mentions.length;
    c.regions = (c.regions ?? 0) + q.regions.length;
    c.nilMentions = (c.nilMentions ?? 0) + q.mentions.filter((m) => m.gold === null).length;
    c.nilRegions = (c.nilRegions ?? 0) + q.regions.filter((m) => m.gold === null).length;
  }
  return out;
}

/** The committed fixture: ~20 test-split entities from one domain per source, 7 singles, 3 scenes. */
async function buildFixture(
  dir: string,
  data: {
    entities: readonly BenchEntity[];
    manifest: SplitManifest;
    backgrounds: readonly Background[];
  },
  seed: number,
): Promise<void> {
  const { entities, manifest, backgrounds } = data;
  const absDir = path.join(repoRoot, dir);
  rmSync(absDir, { recursive: true, force: true });
  mkdirSync(path.join(absDir, 'kb'), { recursive: true });
  const small = (e: BenchEntity): boolean =>
    e.images.every((i) => statSync(path.join(repoRoot, i.path)).size < 40 * 1024);
  const test = entities.filter((e) => manifest.entities[e.id] === 'test' && small(e));
  const picked: BenchEntity[] = [];
  for (const [source, n] of [
    ['tuxpaint-stamps', 7],
    ['emoji', 7],
    ['freeciv-nations', 6],
  ] as const) {
    const ofSource = test.filter((e) => e.sourceName === source && e.renditions.length > 0);
    const count = (d: string): number => ofSource.filter((e) => e.domain === d).length;
    const domains = [...new Set(ofSource.map((e) => e.domain))].filter((d) => count(d) >= n).sort();
    const domain = rngFor(seed, `fixture-domain:${source}`).pick(domains);
    const inDomain = ofSource.filter((e) => e.domain === domain);
    picked.push(...rngFor(seed, `fixture:${source}`).shuffle(inDomain).slice(0, n));
  }
  const nil = rngFor(seed, 'fixture-nil')
    .shuffle(
      entities.filter(
        (e) => manifest.nil[e.id] === 'test' && e.renditions.some((r) => !r.isKbFile),
      ),
    )
    .slice(0, 2);
  const kbLines = picked
    .map((e) => {
      const images = e.images.map((img) => {
        const name = `${e.id.replace(/[^A-Za-z0-9-]+/g, '_')}${path.extname(img.path)}`;
        copyFileSync(path.join(repoRoot, img.path), path.join(absDir, 'kb', name));
        return { ...img, path: `${dir}/kb/${name}` };
      });
      return toKbLine(e, 'test', images);
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  // Queries are checked against the fixture's KB copies (same bytes as the originals).
  const fixtureEntities = picked.map((e) => ({
    ...e,
    images: kbLines.find((k) => k.id === e.id)?.images ?? e.images,
  }));
  const { queries } = await generateQueries(
    { kb: new Map([['test', fixtureEntities]]), nil: new Map([['test', nil]]) },
    manifest,
    backgrounds,
    { seed, singles: 7, scenes: 3, maxSide: 320, imageDir: `${dir}/images`, minDistractors: 1 },
  );
  writeFileSync(path.join(absDir, 'kb.jsonl'), jsonl(kbLines));
  writeFileSync(path.join(absDir, 'queries.jsonl'), jsonl(queries));
  const licences = new Map<string, Set<string>>();
  for (const p of [...kbLines.flatMap((k) => k.images), ...queries.flatMap((q) => q.provenance)]) {
    const key = `${p.package} ${p.version}`;
    licences.set(key, (licences.get(key) ?? new Set()).add(p.licence));
  }
  const readme = [
    '# Polylink-MEL test fixture',
    '',
    'Generated by `npx tsx eval/build/build-benchmark.ts --fixture test/fixtures/benchmark` (seed 1) from the',
    'same code as the full benchmark; do not edit by hand. Formats: `eval/FORMAT.md`.',
    '',
    `- \`kb.jsonl\`: ${kbLines.length} test-split entities; their KB images copied into \`kb/\`.`,
    `- \`queries.jsonl\`: ${queries.length} queries (${queries.filter((q) => q.kind === 'scene').length} scenes); images in \`images/\` (320 px, JPEG q85).`,
    `- NIL distractors: ${nil.map((e) => `\`${e.id}\` (${e.name})`).join(', ')}, held out of the KB in \`eval/split.json\`.`,
    '',
    '## Sources and licences',
    '',
    ...[...licences].sort().map(([k, v]) => `- ${k}: ${[...v].sort().join(', ')}`),
    '',
    "Per-file licences are in each KB image record and in each query's `provenance`. Freeciv flags:",
    'GPL-2+ (Freeciv authors). Tux Paint stamps: GPL-2 (Tux Paint contributors). Twemoji graphics:',
    'CC-BY-4.0 (Twitter/X and contributors, via emoji-datasource-twitter); emoji text: emojibase-data (MIT);',
    'OpenMoji graphics: CC-BY-SA-4.0 (openmoji.org). Backgrounds: Endless Sky `images/land`, licence per',
    "file from the package's debian/copyright (public domain, CC-BY-SA-3.0 or CC-BY-SA-4.0).",
    '',
  ].join('\n');
  writeFileSync(path.join(absDir, 'README.md'), readme);
  for (const q of queries) {
    const size = statSync(path.join(repoRoot, q.image)).size;
    if (size >= 80 * 1024) throw new Error(`${q.image} is ${size} bytes`);
  }
  process.stdout.write(
    `fixture: ${kbLines.length} entities, ${queries.length} queries in ${dir}\n`,
  );
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'var/benchmark' },
      small: { type: 'boolean', default: false },
      fixture: { type: 'string' },
      singles: { type: 'string' },
      scenes: { type: 'string' },
    },
    strict: true,
  });
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  const t0 = performance.now();
  const entities = loadAllEntities();
  const backgrounds = loadBackgrounds();
  const tLoaded = performance.now();
  const manifest = buildSplit(
    entities.map((e) => ({ id: e.id, source: e.sourceName, domain: e.domain, concept: e.concept })),
    seed,
  );
  writeFileSync(path.join(repoRoot, 'eval/split.json'), JSON.stringify(manifest, null, 2) + '\n');

  if (values.fixture !== undefined) {
    await buildFixture(
      values.fixture.replace(/\/+$/, ''),
      { entities, manifest, backgrounds },
      seed,
    );
    return;
  }
  const out = path.relative(repoRoot, path.resolve(values.out)).split(path.sep).join('/');
  const absOut = path.join(repoRoot, out);
  if (existsSync(path.join(absOut, 'images')))
    rmSync(path.join(absOut, 'images'), { recursive: true });
  mkdirSync(absOut, { recursive: true });
  const kb = new Map<Split, BenchEntity[]>(SPLITS.map((s) => [s, []]));
  const nil = new Map<Split, BenchEntity[]>(SPLITS.map((s) => [s, []]));
  const kbLines: KbLine[] = [];
  for (const e of entities) {
    const s = manifest.entities[e.id];
    const n = manifest.nil[e.id];
    if (s) {
      kb.get(s)?.push(e);
      kbLines.push(toKbLine(e, s));
    } else if (n) {
      nil.get(n)?.push(e);
    }
  }
  writeFileSync(path.join(absOut, 'kb.jsonl'), jsonl(kbLines));
  const singles = Number(values.singles ?? (values.small ? 24 : 2000));
  const scenes = Number(values.scenes ?? (values.small ? 12 : 1000));
  const { queries, stats } = await generateQueries({ kb, nil }, manifest, backgrounds, {
    seed,
    singles,
    scenes,
    maxSide: 640,
    imageDir: `${out}/images`,
    minDistractors: 0,
  });
  writeFileSync(path.join(absOut, 'queries.jsonl'), jsonl(queries));
  const t1 = performance.now();
  const summary = {
    seed,
    entities: kbLines.length,
    splitCounts: manifest.counts,
    droppedForConcepts: Object.keys(manifest.dropped).length,
    queries: queries.length,
    queriesBySplit: countQueries(queries),
    generation: stats,
    nearDuplicateMaxDistance: NEAR_DUPLICATE_MAX_DISTANCE,
    loadMs: Math.round(tLoaded - t0),
    totalMs: Math.round(t1 - t0),
    out,
  };
  writeFileSync(path.join(absOut, 'stats.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

const entry = process.argv[1];
if (entry && path.resolve(entry) === path.resolve(repoRoot, 'eval/build/build-benchmark.ts')) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
