/**
 * Builds the cross-depiction (xdep) evaluation of issue 12 into var/xdep/ (ignored by git):
 *
 *   npx tsx eval/xdep/build-xdep.ts [--seed 1] [--dev wesnoth|cards] [--out var/xdep]
 *     [--singles 200] [--scenes 80] [--sources wesnoth,cards] [--no-pool]
 *     [--cards-kb-deck svg-standard]
 *
 * Two HELD-OUT sources (never for training or any model choice), one dev and one test:
 *   wesnoth  Debian wesnoth-1.16-data: KB picture = the painted portrait, query = the pixel sprite;
 *   cards    Debian kdegames-card-data-kf5: KB picture = the card in one deck, queries = the same
 *            card cut from the other decks' SVG sheets (rsvg-convert from Debian librsvg2-bin).
 * Per source: <out>/<source>/kb.jsonl, queries.jsonl (kinds image-only, named, scene), images/,
 * stats.json; <out>/manifest.json names the dev and test source. The training pool of issue 12
 * (emoji and flags in several styles) is written as <out>/train-pairs.jsonl by pool.ts.
 * Deterministic for a seed (every random choice has its own keyed stream, eval/build/rng.ts).
 */
// eslint-disable-next-line no-restricted-imports -- the offline evaluation builder reads and cuts images; it is not service code
import sharp from 'sharp';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  composeScene,
  dHashOf,
  fileSha256,
  imageSize,
  loadRgba,
  type Placed,
} from '../build/compose.js';
import { alphaBBox, featherAlpha, intersection, type Box } from '../build/geometry.js';
import { rngFor, type Rng } from '../build/rng.js';
import {
  dep5Licence,
  ensureDebian,
  loadBackgrounds,
  repoRoot,
  type Background,
} from '../build/sources.js';
import { conceptKey } from '../build/text.js';
import { writeFormatted } from '../harness/write.js';
import { writeJsonLines } from '../harness/benchmark-db.js';
import {
  allCards,
  cardAliases,
  cardBoxProblem,
  cardDescription,
  cardKey,
  cardName,
  CARDS_DIR,
  CARDS_PACKAGE,
  renderElement,
  RSVG_BIN,
  RSVG_PACKAGE,
  zoomFor,
  type Card,
} from './cards.js';
import { buildTrainPairs } from './pool.js';
import { WESNOTH_CORE, WESNOTH_LICENCE, WESNOTH_PACKAGE, loadWesnoth } from './wesnoth.js';
import {
  holdOut,
  imageOnlyQuery,
  NAMED_TEMPLATE_COUNT,
  namedQuery,
  onePerPicture,
  parseXdepSource,
  queryImageProblem,
  rolesFor,
  stemOverlap,
  XDEP_SOURCES,
  type HashedImage,
  type XdepRole,
  type XdepSource,
  type XEntity,
  type XImage,
  type XQueryLine,
} from './xdep.js';

sharp.cache(false);

const toPosix = (p: string): string => p.split(path.sep).join('/');
const rel = (abs: string): string => toPosix(path.relative(repoRoot, abs));
const log = (message: string): void => {
  process.stderr.write(`[xdep-build ${new Date().toISOString()}] ${message}\n`);
};

/** What a source loader hands the generic part: the KB, the NIL pool, and its own notes. */
interface Prepared {
  entities: XEntity[];
  /** Entities left out of the KB; their query pictures are the scenes' NIL distractors. */
  nil: XEntity[];
  notes: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Wesnoth

const NIL_FRACTION = 0.15;

function prepareWesnoth(seed: number): Prepared {
  const { dir, version } = ensureDebian(WESNOTH_PACKAGE, `${WESNOTH_CORE}/units`);
  const { units, skipped } = loadWesnoth(dir);
  const items = units.map((u) => ({
    id: `wesnoth:${u.id}`,
    unit: u,
    kbKey: fileSha256(u.profileFile),
    queryKey: fileSha256(u.imageFile),
  }));
  // An advancement line shares one portrait: keep the unit the file is named after.
  const { kept, dropped } = onePerPicture(items, (i) =>
    stemOverlap(i.unit.name, i.unit.profile ?? ''),
  );
  const prov = { package: WESNOTH_PACKAGE, version, licence: WESNOTH_LICENCE };
  const all: XEntity[] = kept.map(({ id, unit: u }) => ({
    id,
    name: u.name,
    aliases: [],
    description: u.description ?? '',
    domain: `wesnoth/${u.race ?? 'other'}`,
    tags: u.race ? [u.race] : [],
    mention: u.name,
    kbImages: [
      {
        path: rel(u.profileFile),
        ...prov,
        file: `data/core/images/${u.profile}`,
        style: 'wesnoth-portrait',
        artist: 'Wesnoth portrait artists (data/core/images/portraits/ARTISTS)',
      },
    ],
    queryImages: [
      {
        path: rel(u.imageFile),
        ...prov,
        file: `data/core/images/${u.image}`,
        style: 'wesnoth-sprite',
        artist: 'Wesnoth unit sprite artists',
      },
    ],
    source: { ...prov, file: u.file },
  }));
  const rng = rngFor(seed, 'xdep:wesnoth:nil');
  const { kb, nil } = holdOut(all, NIL_FRACTION, () => rng.next());
  return {
    entities: kb,
    nil,
    notes: {
      unitTypes: units.length + skipped.length,
      usable: units.length,
      skipped: countBy(skipped.map((s) => s.reason)),
      droppedSharedPicture: dropped,
      kbEntities: kb.length,
      nilEntities: nil.length,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cards

interface Deck {
  dir: string;
  name: string;
  sheet: string;
  licence: string;
  artist: string;
}

function listDecks(root: string): Deck[] {
  const decksDir = path.join(root, CARDS_DIR);
  const copyright = readFileSync(
    path.join(root, `usr/share/doc/${CARDS_PACKAGE}/copyright`),
    'utf8',
  );
  const out: Deck[] = [];
  for (const d of readdirSync(decksDir).sort()) {
    const files = readdirSync(path.join(decksDir, d));
    const sheet = files.find((f) => f.endsWith('.svgz') || f.endsWith('.svg'));
    if (!sheet) continue;
    const desktop = files.includes('index.desktop')
      ? readFileSync(path.join(decksDir, d, 'index.desktop'), 'utf8')
      : '';
    const name = /^Name=(.+)$/m.exec(desktop)?.[1]?.trim() ?? d;
    const author = /^Author=(.+)$/m.exec(desktop)?.[1]?.trim();
    out.push({
      dir: d,
      name,
      sheet: path.join(decksDir, d, sheet),
      licence: dep5Licence(copyright, `carddecks/${d}/${sheet}`) ?? 'unknown',
      artist: author ?? dep5Copyright(copyright, `carddecks/${d}/*`) ?? 'unknown',
    });
  }
  return out;
}

/** The Copyright field of the DEP-5 stanza whose Files line names exactly `glob`. */
function dep5Copyright(copyright: string, glob: string): string | undefined {
  for (const stanza of copyright.split(/\n\s*\n/)) {
    const files = /^Files:\s*(.+)$/m.exec(stanza)?.[1]?.trim();
    if (files === glob) return /^Copyright:\s*(.+)$/m.exec(stanza)?.[1]?.trim();
  }
  return undefined;
}

const CARD_HEIGHT = 240;
const PROBE_ZOOM = 0.25;

async function inkBox(png: Buffer): Promise<Box | undefined> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return alphaBBox(data, info.width, info.height, 8);
}

/** Cuts one element of a deck's sheet into `file` (cached); returns a problem or null. */
async function cutElement(
  rsvg: string,
  deck: Deck,
  element: { id: string; zoom: number; file: string },
): Promise<string | null> {
  const { id, zoom, file } = element;
  if (existsSync(file)) return null;
  let png: Buffer;
  try {
    png = renderElement(rsvg, deck.sheet, id, zoom);
  } catch (error) {
    return `rsvg-convert failed: ${
      String((error as { stderr?: Buffer }).stderr ?? error)
        .trim()
        .split('\n')[0]
    }`;
  }
  let box = await inkBox(png);
  // Some sheets scale single elements differently from the probe card: render those again.
  if (box && Math.abs(box[3] - CARD_HEIGHT) > 0.2 * CARD_HEIGHT) {
    png = renderElement(rsvg, deck.sheet, id, zoomFor(zoom, box[3], CARD_HEIGHT));
    box = await inkBox(png);
  }
  const problem = cardBoxProblem(box, CARD_HEIGHT * 0.8);
  if (problem || !box) return problem ?? 'nothing rendered';
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp(png)
    .extract({ left: box[0], top: box[1], width: box[2], height: box[3] })
    .png()
    .toFile(file);
  return null;
}

const CARD_NIL_FRACTION = 6 / 52;
/** Non-card pictures of a deck that make NIL distractors: its back, its jokers. */
const EXTRA_NIL: readonly {
  id: string;
  name: string;
  elements: readonly string[];
  description: string;
}[] = [
  {
    id: 'card:back',
    name: 'Card back',
    elements: ['back'],
    description: 'The back of a playing card: the same pattern on every card of a deck.',
  },
  {
    id: 'card:joker',
    name: 'Joker',
    elements: ['joker', 'red_joker', 'black_joker'],
    description: 'The joker, a wild card added to the 52 cards of a French deck.',
  },
];

async function prepareCards(seed: number, out: string, kbDeckDir: string): Promise<Prepared> {
  const { dir, version } = ensureDebian(CARDS_PACKAGE, CARDS_DIR);
  const rsvgRoot = ensureDebian(RSVG_PACKAGE, RSVG_BIN);
  const rsvg = path.join(rsvgRoot.dir, RSVG_BIN);
  const decks = listDecks(dir);
  const kbDeck = decks.find((d) => d.dir === kbDeckDir);
  if (!kbDeck)
    throw new Error(`no deck ${kbDeckDir}; decks: ${decks.map((d) => d.dir).join(', ')}`);
  const cutDir = path.join(out, 'cut');
  const problems: { deck: string; element: string; problem: string }[] = [];
  const cuts = new Map<string, Map<string, string>>(); // deck dir → element id → file
  const deckNotes: Record<string, unknown>[] = [];
  for (const deck of decks) {
    // One probe per deck: every card of a sheet has the same size.
    let zoom: number | null = null;
    try {
      const probe = await inkBox(renderElement(rsvg, deck.sheet, '1_club', PROBE_ZOOM));
      if (probe) zoom = zoomFor(PROBE_ZOOM, probe[3], CARD_HEIGHT);
    } catch (error) {
      const message = String((error as { stderr?: Buffer }).stderr ?? error)
        .trim()
        .split('\n')[0];
      problems.push({ deck: deck.dir, element: '1_club', problem: `probe: ${message}` });
    }
    const files = new Map<string, string>();
    if (zoom !== null) {
      const elements = [
        ...allCards().map(cardKey),
        ...(deck.dir === kbDeck.dir ? [] : EXTRA_NIL.flatMap((e) => e.elements)),
      ];
      const present = new Set(
        [...readSvgText(deck.sheet).matchAll(/\bid="([^"]+)"/g)].map((m) => m[1] ?? ''),
      );
      for (const id of elements) {
        if (!present.has(id)) continue;
        const file = path.join(cutDir, deck.dir, `${id}.png`);
        const problem = await cutElement(rsvg, deck, { id, zoom, file });
        if (problem) problems.push({ deck: deck.dir, element: id, problem });
        else files.set(id, file);
      }
    }
    cuts.set(deck.dir, files);
    deckNotes.push({
      deck: deck.dir,
      name: deck.name,
      artist: deck.artist,
      licence: deck.licence,
      cards: allCards().filter((c) => files.has(cardKey(c))).length,
      role: deck.dir === kbDeck.dir ? 'kb' : 'query',
    });
    log(`cards: ${deck.dir}: ${files.size} elements cut`);
  }
  const imageOf = (deck: Deck, element: string): XImage | null => {
    const file = cuts.get(deck.dir)?.get(element);
    if (!file) return null;
    return {
      path: rel(file),
      package: CARDS_PACKAGE,
      version,
      licence: deck.licence,
      file: `${CARDS_DIR}/${deck.dir}/${path.basename(deck.sheet)}#${element}`,
      style: `deck:${deck.dir}`,
      artist: deck.artist,
    };
  };
  const prov = { package: CARDS_PACKAGE, version };
  const entityOf = (card: Card): XEntity | null => {
    const key = cardKey(card);
    const kbImage = imageOf(kbDeck, key);
    if (!kbImage) return null;
    return {
      id: `card:${key}`,
      name: cardName(card),
      aliases: cardAliases(card),
      description: cardDescription(card),
      domain: `cards/${card.suit}s`,
      tags: [card.suit, card.rank],
      mention: cardName(card).toLowerCase(),
      kbImages: [kbImage],
      queryImages: decks
        .filter((d) => d.dir !== kbDeck.dir)
        .map((d) => imageOf(d, key))
        .filter((i): i is XImage => i !== null),
      source: {
        ...prov,
        file: `${CARDS_DIR}/${kbDeck.dir}/${path.basename(kbDeck.sheet)}`,
        licence: kbDeck.licence,
      },
    };
  };
  const all = allCards()
    .map(entityOf)
    .filter((e): e is XEntity => e !== null);
  const rng = rngFor(seed, 'xdep:cards:nil');
  const { kb, nil } = holdOut(all, CARD_NIL_FRACTION, () => rng.next());
  for (const extra of EXTRA_NIL) {
    const queryImages = decks
      .filter((d) => d.dir !== kbDeck.dir)
      .flatMap((d) => extra.elements.map((e) => imageOf(d, e)))
      .filter((i): i is XImage => i !== null);
    if (queryImages.length === 0) continue;
    nil.push({
      id: extra.id,
      name: extra.name,
      aliases: [],
      description: extra.description,
      domain: 'cards/other',
      tags: [],
      mention: extra.name.toLowerCase(),
      kbImages: [],
      queryImages,
      source: { ...prov, file: `${CARDS_DIR}`, licence: 'see each picture' },
    });
  }
  return {
    entities: kb,
    nil,
    notes: {
      kbDeck: kbDeck.dir,
      decks: deckNotes,
      cutProblems: problems,
      kbEntities: kb.length,
      nilEntities: nil.map((e) => e.id),
    },
  };
}

function readSvgText(file: string): string {
  const bytes = readFileSync(file);
  // .svgz is gzip: rsvg-convert reads it as is; the id scan needs the text.
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Generic: checks, KB, queries

function countBy(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

async function hashed(image: XImage, cache: Map<string, HashedImage>): Promise<HashedImage> {
  let h = cache.get(image.path);
  if (!h) {
    h = {
      style: image.style,
      artist: image.artist,
      sha256: fileSha256(image.path),
      dHash: await dHashOf(image.path),
    };
    cache.set(image.path, h);
  }
  return h;
}

/** Drops every query picture that fails queryImageProblem against its entity's KB pictures. */
async function checkQueryImages(entities: XEntity[]): Promise<{
  entities: XEntity[];
  checked: number;
  rejected: { entity: string; path: string; problem: string }[];
  minDistance: number;
}> {
  const cache = new Map<string, HashedImage>();
  const rejected: { entity: string; path: string; problem: string }[] = [];
  let checked = 0;
  let minDistance = 64;
  const out: XEntity[] = [];
  for (const e of entities) {
    const kb = await Promise.all(e.kbImages.map((i) => hashed(i, cache)));
    const keep: XImage[] = [];
    for (const q of e.queryImages) {
      checked++;
      const { problem, minDistance: d } = queryImageProblem(await hashed(q, cache), kb);
      if (kb.length && !problem) minDistance = Math.min(minDistance, d);
      if (problem) rejected.push({ entity: e.id, path: q.path, problem });
      else keep.push(q);
    }
    out.push({ ...e, queryImages: keep });
  }
  return { entities: out, checked, rejected, minDistance };
}

function kbLine(e: XEntity, split: XdepRole) {
  return {
    id: e.id,
    name: e.name,
    aliases: e.aliases,
    description: e.description,
    domain: e.domain,
    tags: e.tags,
    images: e.kbImages,
    concept: conceptKey(e.name),
    split,
    source: e.source,
  };
}

interface SceneObject {
  image: XImage;
  gold: string | null;
  role: 'object' | 'distractor';
}

/** Pastes the objects on a cropped Endless Sky landscape (eval/build/compose.ts), no overlap. */
async function renderScene(
  rng: Rng,
  objects: readonly SceneObject[],
  backgrounds: readonly Background[],
  maxSide: number,
): Promise<{
  buffer: Buffer;
  width: number;
  height: number;
  boxes: (Box | undefined)[];
  background: Background;
}> {
  const background = rng.pick(backgrounds);
  const bg = await imageSize(background.path);
  const frac = rng.range(0.7, 1);
  const cw = Math.max(16, Math.round(bg.width * frac));
  const ch = Math.max(16, Math.round(bg.height * frac));
  const crop: Box = [rng.int(0, bg.width - cw), rng.int(0, bg.height - ch), cw, ch];
  const scale = maxSide / Math.max(cw, ch);
  const width = Math.max(1, Math.round(cw * scale));
  const height = Math.max(1, Math.round(ch * scale));
  const short = Math.min(width, height);
  const placed: Placed[] = [];
  const boxes: (Box | undefined)[] = [];
  for (const o of objects) {
    const side = Math.round(short * rng.range(0.25, 0.45));
    // Never mirrored: a mirrored card or sprite is not what its artist drew.
    const img = await loadRgba(o.image.path, Math.max(8, side), false);
    featherAlpha(img.data, img.width, img.height);
    const own = alphaBBox(img.data, img.width, img.height);
    let box: Box | undefined;
    if (own && img.width <= width && img.height <= height) {
      for (let attempt = 0; attempt < 60 && !box; attempt++) {
        const left = rng.int(0, width - img.width);
        const top = rng.int(0, height - img.height);
        const b: Box = [own[0] + left, own[1] + top, own[2], own[3]];
        const clash = boxes.some((p) => p !== undefined && intersection(p, b) > 0);
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
    firstQuality: rng.int(80, 95),
  });
  return { buffer, width, height, boxes, background };
}

interface GenerateOptions {
  seed: number;
  source: XdepSource;
  split: XdepRole;
  singles: number;
  scenes: number;
  outDir: string;
}

async function generateQueries(
  kb: readonly XEntity[],
  nil: readonly XEntity[],
  backgrounds: readonly Background[],
  opts: GenerateOptions,
): Promise<{ queries: XQueryLine[]; droppedSceneObjects: number }> {
  const imageDir = path.join(opts.outDir, 'images');
  rmSync(imageDir, { recursive: true, force: true });
  mkdirSync(imageDir, { recursive: true });
  const queries: XQueryLine[] = [];
  let counter = 0;
  const nextId = (): string => `x${opts.source[0]}-${String(++counter).padStart(5, '0')}`;

  // Singles: (entity, picture) pairs, shuffled, at most one picture per entity before any second.
  const rng = rngFor(opts.seed, `xdep:${opts.source}:singles`);
  const rounds: { e: XEntity; image: XImage }[][] = [];
  for (const e of rng.shuffle(kb)) {
    rng.shuffle(e.queryImages).forEach((image, k) => {
      (rounds[k] ??= []).push({ e, image });
    });
  }
  const picks = rounds.flatMap((r) => rng.shuffle(r)).slice(0, opts.singles);
  for (const [k, { e, image }] of picks.entries()) {
    const id = nextId();
    const file = path.join(imageDir, `${id}${path.extname(image.path) || '.png'}`);
    copyFileSync(path.join(repoRoot, image.path), file);
    const size = await imageSize(file);
    const img = { path: rel(file), ...size };
    queries.push(
      imageOnlyQuery({ id, split: opts.split, entity: e, image: img, provenance: image }),
    );
    queries.push(
      namedQuery({
        id: nextId(),
        split: opts.split,
        entity: e,
        image: img,
        provenance: image,
        template: k % NAMED_TEMPLATE_COUNT,
      }),
    );
  }

  // Scenes: 2-4 KB entities and 0-2 NIL distractors on a landscape, nothing named.
  let droppedSceneObjects = 0;
  const withImages = kb.filter((e) => e.queryImages.length > 0);
  const nilWithImages = nil.filter((e) => e.queryImages.length > 0);
  for (let s = 0; s < opts.scenes; s++) {
    const id = nextId();
    const srng = rngFor(opts.seed, `xdep:${opts.source}:scene:${id}`);
    const golds = srng.shuffle(withImages).slice(0, srng.int(2, 4));
    const distractors = srng.shuffle(nilWithImages).slice(0, srng.int(0, 2));
    const objects: SceneObject[] = [
      ...golds.map((e) => ({
        image: srng.pick(e.queryImages),
        gold: e.id,
        role: 'object' as const,
      })),
      ...distractors.map((e) => ({
        image: srng.pick(e.queryImages),
        gold: null,
        role: 'distractor' as const,
      })),
    ];
    const order = srng.shuffle(objects);
    const r = await renderScene(srng, order, backgrounds, 640);
    const kept = order
      .map((o, j) => ({ o, box: r.boxes[j] }))
      .filter((x): x is { o: SceneObject; box: Box } => x.box !== undefined);
    droppedSceneObjects += order.length - kept.length;
    if (!kept.some((x) => x.o.gold !== null)) continue;
    const file = path.join(imageDir, `${id}.jpg`);
    writeFileSync(file, r.buffer);
    queries.push({
      id,
      split: opts.split,
      kind: 'scene',
      domain: `${opts.source}/scene`,
      image: rel(file),
      width: r.width,
      height: r.height,
      caption: `Some pictures ${r.background.phrase}.`,
      mentions: [],
      regions: kept.map((x, j) => ({ id: `r${j + 1}`, box: x.box, gold: x.o.gold })),
      pairs: [],
      provenance: [
        {
          path: r.background.path,
          package: r.background.package,
          version: r.background.version,
          licence: r.background.licence,
          file: r.background.path.replace(/^var\/sources\/[^/]+\//, ''),
          style: 'endless-sky-landscape',
          artist: 'Endless Sky contributors',
          role: 'background',
        },
        ...kept.map((x) => ({ ...x.o.image, role: x.o.role })),
      ],
    });
  }
  return { queries, droppedSceneObjects };
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      dev: { type: 'string', default: 'wesnoth' },
      out: { type: 'string', default: 'var/xdep' },
      singles: { type: 'string', default: '200' },
      scenes: { type: 'string', default: '80' },
      sources: { type: 'string', default: XDEP_SOURCES.join(',') },
      'no-pool': { type: 'boolean', default: false },
      'cards-kb-deck': { type: 'string', default: 'svg-standard' },
    },
  });
  const seed = Number(values.seed);
  const dev = parseXdepSource(values.dev);
  const roles = rolesFor(dev);
  const out = path.resolve(repoRoot, values.out);
  const sources = values.sources.split(',').map((s) => parseXdepSource(s.trim()));
  const backgrounds = loadBackgrounds();
  const manifest: Record<string, unknown> = { seed, dev, roles, sources: {} };
  for (const source of sources) {
    const started = Date.now();
    const dir = path.join(out, source);
    mkdirSync(dir, { recursive: true });
    const prepared =
      source === 'wesnoth'
        ? prepareWesnoth(seed)
        : await prepareCards(seed, dir, values['cards-kb-deck']);
    const checked = await checkQueryImages(prepared.entities);
    const nilChecked = prepared.nil; // NIL entities have no KB picture to be kept apart from.
    const split = roles[source];
    await writeJsonLines(
      path.join(dir, 'kb.jsonl'),
      checked.entities.map((e) => kbLine(e, split)),
    );
    await writeJsonLines(
      path.join(dir, 'nil.jsonl'),
      nilChecked.map((e) => ({ ...kbLine(e, split), queryImages: e.queryImages })),
    );
    const { queries, droppedSceneObjects } = await generateQueries(
      checked.entities,
      nilChecked,
      backgrounds,
      {
        seed,
        source,
        split,
        singles: Number(values.singles),
        scenes: Number(values.scenes),
        outDir: dir,
      },
    );
    await writeJsonLines(path.join(dir, 'queries.jsonl'), queries);
    const stats = {
      source,
      split,
      seed,
      kbEntities: checked.entities.length,
      nilEntities: nilChecked.length,
      queryImageChecks: {
        checked: checked.checked,
        rejected: checked.rejected.length,
        byProblem: countBy(checked.rejected.map((r) => r.problem.replace(/\(.*\)/, '').trim())),
        minDHashDistanceKept: checked.minDistance,
        rejectedList: checked.rejected,
      },
      queries: countBy(queries.map((q) => q.kind)),
      droppedSceneObjects,
      notes: prepared.notes,
      buildS: (Date.now() - started) / 1000,
    };
    await writeFormatted(path.join(dir, 'stats.json'), JSON.stringify(stats, null, 2));
    (manifest.sources as Record<string, unknown>)[source] = {
      split,
      kb: rel(path.join(dir, 'kb.jsonl')),
      queries: rel(path.join(dir, 'queries.jsonl')),
      kbEntities: stats.kbEntities,
      queriesByKind: stats.queries,
    };
    log(`${source} (${split}): ${stats.kbEntities} KB entities, ${queries.length} queries`);
  }
  if (!values['no-pool']) {
    const pool = await buildTrainPairs(out, log);
    manifest.trainPairs = { file: rel(path.join(out, 'train-pairs.jsonl')), ...pool };
  }
  await writeFormatted(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
}
