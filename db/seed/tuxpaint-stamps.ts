/**
 * Tux Paint stamps → SeedEntity-shaped records (a second real entity source for the demo graph).
 *
 * Source: the Debian package `tuxpaint-stamps-default` (GPL-2, New Breed Software and the Tux Paint
 * contributors). Under `usr/share/tuxpaint/stamps/<category>/.../` each stamp `<stem>` has:
 *   <stem>.png and/or <stem>.svg     the image (a raster PNG is preferred here, else the SVG)
 *   <stem>.txt                        line 1: the English description ("A giraffe."); then one
 *                                     translation per line as `<locale>.utf8=<text>`, e.g.
 *                                     `fr.utf8=Une girafe.`, `ca@valencia.utf8=...`, `pt_BR.utf8=...`
 *   <stem>_mirror.png                 (some) a pre-mirrored variant image: not a stamp of its own
 *   <stem>.dat                        (some) options: `colorable`, `noflip`, `scale 30%`, ...
 *   <stem>.ogg, <stem>_desc[_<locale>].ogg / .wav   (some) sounds
 *
 * The exported functions are pure (no I/O) so they can be unit-tested. The CLI at the bottom
 * (run only when this file is executed directly) does the I/O:
 *
 *   npx tsx db/seed/tuxpaint-stamps.ts [--out var/demo/tuxpaint] [--limit N] [--src DIR]
 *                                      [--fixture-dir test/fixtures/tuxpaint]
 *
 * `--fixture-dir` also regenerates the committed test fixture (FIXTURE_STAMPS) in that folder.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { runIfEntryPoint } from './seed-cli.js';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, normaliseWhitespace, wordCount } from './freeciv-nations.js';
import { byId, pickVariedSubset } from './varied-subset.js';
import type { SeedEntity } from './freeciv-nations.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export const PACKAGE = 'tuxpaint-stamps-default';
export const LICENCE = 'GPL-2';
export const DOMAIN = 'tuxpaint-stamps';
/** The stamps folder inside the package. */
export const STAMPS_DIR_IN_PACKAGE = 'usr/share/tuxpaint/stamps';

export interface StampImage {
  /** Path of the image file relative to the repo root. */
  path: string;
  role: 'stamp';
}

/**
 * SeedEntity (db/seed/freeciv-nations.ts) with this source's literals: same field names and
 * value types, but `domain`, the image `role` and `source` are fixed to Freeciv values there.
 */
export type StampEntity = Omit<SeedEntity, 'domain' | 'images' | 'source'> & {
  /** "tuxpaint-stamp:<category path>/<stem>" */
  id: string;
  domain: typeof DOMAIN;
  /** The category path parts, e.g. ["animals", "mammals", "bears"]. */
  tags: string[];
  images: StampImage[];
  source: {
    package: typeof PACKAGE;
    version: string;
    /** Path of the stamp's description (.txt) inside the package. */
    file: string;
    licence: typeof LICENCE;
  };
};

// ---------------------------------------------------------------------------------------------
// Description (.txt) files
// ---------------------------------------------------------------------------------------------

export interface StampText {
  /** The first line, whitespace normalised; undefined when it is empty or a translation line. */
  english?: string;
  /** Locale (e.g. "fr", "pt_BR", "ca@valencia") → translation, in file order; last one wins. */
  translations: Map<string, string>;
  /** Non-empty lines after the first that are not translations (kept for diagnostics). */
  other: string[];
}

/** `<locale>.utf8=<text>`; the `.utf8` part is optional (older, non-UTF-8 Tux Paint files). */
const TRANSLATION_LINE = /^([a-z]{2,3}(?:_[A-Z]{2})?(?:@[a-z]+)?)(\.utf8)?=(.*)$/;

/**
 * Parse a stamp description file. Like Tux Paint itself, the first line is the English
 * description whatever it contains (it may hold `=`, e.g. "A calculator.  6x7=42"), unless it is
 * empty or a `<locale>.utf8=` line. A leading BOM and CRLF line ends are accepted.
 */
export function parseStampText(text: string): StampText {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n?|\n/);
  const first = normaliseWhitespace(lines[0] ?? '');
  const firstIsTranslation = /^[a-z]{2,3}(?:_[A-Z]{2})?(?:@[a-z]+)?\.utf8=/.test(first);
  const translations = new Map<string, string>();
  const other: string[] = [];
  const rest = firstIsTranslation ? lines : lines.slice(1);
  for (const line of rest) {
    const m = TRANSLATION_LINE.exec(line.trim());
    const locale = m?.[1];
    if (m && locale !== undefined) {
      const t = normaliseWhitespace(m[3] ?? '');
      if (t !== '') translations.set(locale, t);
    } else if (line.trim() !== '') {
      other.push(line.trim());
    }
  }
  return {
    ...(first !== '' && !firstIsTranslation ? { english: first } : {}),
    translations,
    other,
  };
}

// ---------------------------------------------------------------------------------------------
// Names from file stems
// ---------------------------------------------------------------------------------------------

/**
 * Tokens that mark a variant of a stamp rather than name it, as seen in the package:
 * `A_filled` / `A_outline` (alphabets), `inukshuk-outline` / `inukshuk-photo`,
 * `Candy_cane_photo_1`, `chicken_profile`, `<stem>_mirror` / `_flip` (pre-mirrored images).
 */
export const VARIANT_MARKERS: ReadonlySet<string> = new Set([
  'filled',
  'outline',
  'outlined',
  'photo',
  'profile',
  'mirror',
  'flip',
]);

/**
 * Set prefixes seen in the package, dropped from the start of a stem when more follows:
 * `t_glove`, `t_pants`, ... (a clothes set), `iso_bus`, `iso_lorry1` (isometric vehicles),
 * `op0_plus` ... `op9_greaterthanequal` (operators; digits are a sort key).
 */
export const PREFIX_MARKERS: ReadonlySet<string> = new Set(['t', 'iso', 'op']);

/** `asl_zzz_0`: `zzz` sorts the digits after the letters; the token after it is content. */
const SORT_TO_END = 'zzz';

interface StemToken {
  text: string;
  /** The separator before this token in the stem ("" for the first, or a camelCase split). */
  sep: string;
  /** True when the token comes from splitting a camelCase word (`dinosaurSings` → "Sings"). */
  camel: boolean;
  /** Kept even when it is a bare number. */
  keep: boolean;
}

function tokeniseStem(stem: string): StemToken[] {
  const out: StemToken[] = [];
  // `t-shirt`: a hyphen after a leading single letter is part of the word.
  const parts = stem.split(/((?:[_\s]|(?<!^[A-Za-z])-)+)/);
  let sep = '';
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k] ?? '';
    if (k % 2 === 1) {
      sep = part.includes('-') ? '-' : '_';
      continue;
    }
    if (part === '') continue;
    part.split(/(?<=[a-z])(?=[A-Z])/).forEach((text, j) => {
      out.push({ text, sep: j === 0 ? sep : '', camel: j > 0, keep: false });
    });
  }
  return out;
}

const isNumber = (t: string): boolean => /^\d+$/.test(t);
const hasLetter = (t: string): boolean => /\p{L}/u.test(t);

/**
 * A human name from a stamp's file stem: separators and camelCase become spaces, the first
 * letter is capitalised (other words keep their case, except camelCase words, which are
 * lowercased unless all capitals), and the numbering and variant markers seen in the package
 * are removed:
 * - variant markers (VARIANT_MARKERS) anywhere: `A_filled` → "A", `inukshuk-photo` → "Inukshuk";
 * - set prefixes (PREFIX_MARKERS): `t_baseballcap` → "Baseballcap", `op2_multiply` → "Multiply";
 * - sort keys: `0_sun` → "Sun", `b_1_king` → "King", `001penny` → "Penny" (3+ digits),
 *   `stoplight_01_red` → "Stoplight red", `note_012_a` → "Note";
 * - numeric suffixes: `frog-1`, `snail2`, `sunglasses_01`, `fireman240a`, `tree336` lose them
 *   (only after 3+ letters, so `f22_raptor`, `ww2_german_gun`, `f1_car` keep theirs, and
 *   `7spoke256` → "7spoke"; `voyager2` → "Voyager" too: the rule cannot tell a name's number);
 * - single-letter variants after a hyphen: `grave-a` → "Grave";
 * - `asl_zzz_0` → "Asl 0" (`zzz` is a sort marker, the digit is the content).
 * A stem that would lose everything (`747`, `001`, `0`) is kept as it is. A first word of one
 * letter keeps its case (`a_filled` → "a", `A_filled` → "A", `n_with_tilda_outline` →
 * "n with tilda").
 */
export function stemToName(stem: string): string {
  const all = tokeniseStem(stem.normalize('NFC').trim());
  let tokens = all.filter((t) => !VARIANT_MARKERS.has(t.text.toLowerCase()));

  // zzz_<x>: drop the marker, keep what follows.
  tokens = tokens.flatMap((t, k) => {
    if (t.text.toLowerCase() === SORT_TO_END && k + 1 < tokens.length) return [];
    const prev = tokens[k - 1];
    return prev && prev.text.toLowerCase() === SORT_TO_END ? [{ ...t, keep: true }] : [t];
  });

  // Leading set prefix (t_, iso_, op<N>_) or a group letter + order (b_1_king, w_4_knight).
  const head = tokens[0];
  if (head && tokens.length > 1) {
    if (PREFIX_MARKERS.has(head.text.toLowerCase().replace(/\d+$/, ''))) tokens = tokens.slice(1);
    else if (/^[A-Za-z]$/.test(head.text) && isNumber(tokens[1]?.text ?? '') && tokens.length > 2)
      tokens = tokens.slice(2);
  }

  // Bare numbers (sort keys, variant numbers) and a single letter right after one (note_012_a).
  if (tokens.some((t) => hasLetter(t.text))) {
    tokens = tokens.filter((t, k) => {
      if (t.keep) return true;
      if (isNumber(t.text)) return false;
      const prev = tokens[k - 1];
      return !(prev && !prev.keep && isNumber(prev.text) && /^[a-z]$/.test(t.text));
    });
  }

  // Digits glued to a word: value codes `001penny`, `050kennedy` (3+ digits), and numeric
  // suffixes `crown1`, `fireman240a`, `yen001`, `7spoke256` (after 3+ letters).
  tokens = tokens.map((t) => {
    if (t.keep) return t;
    const text = t.text
      .replace(/^\d{3,}(?=\p{L}{3})/u, '')
      .replace(/^(.*\p{L}{3})\d+[a-z]?$/u, '$1');
    return { ...t, text };
  });

  // Trailing single-letter variant after a hyphen: grave-a ... grave-j.
  const last = tokens[tokens.length - 1];
  if (last && tokens.length > 1 && last.sep === '-' && /^[a-z]$/.test(last.text)) {
    tokens = tokens.slice(0, -1);
  }

  const words = (tokens.length ? tokens : all).filter((t) => t.text !== '');
  const name = words
    .map((t, k) => {
      if (t.camel && t.text !== t.text.toUpperCase()) return t.text.toLowerCase();
      if (k === 0 && t.text.length > 1) {
        return t.text.charAt(0).toUpperCase() + t.text.slice(1);
      }
      return t.text;
    })
    .join(' ');
  return name === '' ? stem : name;
}

/** Category path (relative to the stamps folder) → tags: its parts, e.g. "a/b/c" → [a, b, c]. */
export function categoryTags(category: string): string[] {
  return category.split('/').filter((p) => p !== '' && p !== '.');
}

export function stampId(category: string, stem: string): string {
  const parts = categoryTags(category);
  return `tuxpaint-stamp:${[...parts, stem].join('/')}`;
}

// ---------------------------------------------------------------------------------------------
// Stamp files
// ---------------------------------------------------------------------------------------------

/** The files of one stamp, as names inside its category folder. */
export interface StampFiles {
  /** Category path relative to the stamps folder, "/"-separated ("" for the top level). */
  category: string;
  stem: string;
  txt?: string;
  png?: string;
  svg?: string;
  /** Pre-mirrored / pre-flipped variant images (`<stem>_mirror.png`, `<stem>_flip.png`). */
  variants: string[];
}

const VARIANT_IMAGE = /^(.+)_(mirror|flip)\.(png|svg)$/;

/**
 * Group the files of one category folder into stamps: every `.txt`, `.png` or `.svg` stem is a
 * stamp, except `<stem>_mirror.<ext>` / `<stem>_flip.<ext>` where `<stem>` has files of its own
 * (those are variant images of that stamp). Sounds and `.dat` files are ignored. Sorted by stem.
 */
export function groupStampFiles(category: string, fileNames: readonly string[]): StampFiles[] {
  const byStem = new Map<string, StampFiles>();
  const get = (stem: string): StampFiles => {
    let s = byStem.get(stem);
    if (!s) {
      s = { category, stem, variants: [] };
      byStem.set(stem, s);
    }
    return s;
  };
  const names = [...fileNames].sort();
  const stems = new Set(
    names.map((f) => /^(.+)\.(txt|png|svg)$/.exec(f)?.[1]).filter((s) => s !== undefined),
  );
  for (const f of names) {
    const m = /^(.+)\.(txt|png|svg)$/.exec(f);
    const stem = m?.[1];
    if (!m || stem === undefined) continue;
    const variant = VARIANT_IMAGE.exec(f);
    const base = variant?.[1];
    if (base !== undefined && stems.has(base) && base !== stem) {
      get(base).variants.push(f);
      continue;
    }
    const s = get(stem);
    if (m[2] === 'txt') s.txt = f;
    else if (m[2] === 'png') s.png = f;
    else s.svg = f;
  }
  return [...byStem.values()].sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));
}

/** The stamp's image: the raster PNG when there is one, else the SVG. */
export function chooseStampImage(
  s: StampFiles,
): { file: string; format: 'png' | 'svg' } | undefined {
  if (s.png) return { file: s.png, format: 'png' };
  if (s.svg) return { file: s.svg, format: 'svg' };
  return undefined;
}

export type StampSkipReason = 'no-description-file' | 'no-english-description' | 'no-image';

/** Why a stamp is not turned into an entity, or undefined if it is kept. */
export function stampSkipReason(
  s: StampFiles,
  text: StampText | undefined,
): StampSkipReason | undefined {
  if (!chooseStampImage(s)) return 'no-image';
  if (!s.txt || !text) return 'no-description-file';
  if (!text.english) return 'no-english-description';
  return undefined;
}

export interface StampEntityContext {
  /** Debian package version, e.g. "2022.06.04-1". */
  version: string;
  /** Image path relative to the repo root. */
  imagePath: string;
}

/**
 * The entity for a stamp; `text.english` must be set (see stampSkipReason). `source.file` is
 * the description file's path inside the package.
 */
export function stampToEntity(
  s: StampFiles,
  text: StampText,
  ctx: StampEntityContext,
): StampEntity {
  const category = categoryTags(s.category).join('/');
  const dir = category === '' ? STAMPS_DIR_IN_PACKAGE : `${STAMPS_DIR_IN_PACKAGE}/${category}`;
  return {
    id: stampId(s.category, s.stem),
    name: stemToName(s.stem),
    aliases: [],
    description: normaliseWhitespace(text.english ?? ''),
    domain: DOMAIN,
    tags: categoryTags(s.category),
    images: [{ path: ctx.imagePath, role: 'stamp' }],
    source: {
      package: PACKAGE,
      version: ctx.version,
      file: `${dir}/${s.txt ?? `${s.stem}.txt`}`,
      licence: LICENCE,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Subset selection
// ---------------------------------------------------------------------------------------------

export { pickVariedSubset };

/**
 * The top-level category of a stamp as its only group, for pickVariedSubset: with every path part
 * as a tag, the many one-stamp leaf folders would take all of a small limit.
 */
export function topCategory(e: { tags: readonly string[] }): string[] {
  return e.tags.slice(0, 1);
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

/**
 * The committed test fixture (test/fixtures/tuxpaint): small real stamps covering a PNG with an
 * SVG beside it, a numbered variant sharing its name ("Ladybug" twice, distinct ids), an
 * SVG-only stamp and a sort-key prefix (`3_earth` → "Earth").
 */
export const FIXTURE_STAMPS = [
  'animals/insects/cartoon/ladybug',
  'animals/insects/cartoon/ladybug-2',
  'household/dishes/fork',
  'space/planets/3_earth',
];
const MAX_FIXTURE_IMAGE_BYTES = 60 * 1024;

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const toPosix = (p: string): string => p.split(path.sep).join('/');

function ensureExtracted(srcDir: string): { version: string; fetched: boolean } {
  const marker = path.join(srcDir, '.polylink-package-version');
  let fetched = false;
  if (!existsSync(marker) || !existsSync(path.join(srcDir, STAMPS_DIR_IN_PACKAGE))) {
    execFileSync('bash', [path.join(here, 'fetch-debian-package.sh'), PACKAGE, srcDir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    fetched = true;
  }
  return { version: readFileSync(marker, 'utf8').trim(), fetched };
}

/** Category folders (relative, "/"-separated) under `root`, with their file names; sorted. */
function listCategories(root: string): { category: string; files: string[] }[] {
  const out: { category: string; files: string[] }[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(path.join(root, rel), { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => e.name);
    if (files.length) out.push({ category: toPosix(rel), files });
    for (const d of entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()) {
      walk(rel === '' ? d : path.join(rel, d));
    }
  };
  walk('');
  return out.sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : 0));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function writeJsonl(file: string, entities: readonly StampEntity[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, entities.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

function writeFixture(dir: string, all: readonly StampEntity[], stampsDir: string): void {
  const out: StampEntity[] = [];
  for (const key of FIXTURE_STAMPS) {
    const e = all.find((x) => x.id === `tuxpaint-stamp:${key}`);
    const img = e?.images[0];
    if (!e || !img) throw new Error(`fixture stamp ${key} not among the kept entities`);
    const rel = path.posix.join(path.posix.dirname(key), path.posix.basename(img.path));
    const from = path.join(repoRoot, img.path);
    if (statSync(from).size >= MAX_FIXTURE_IMAGE_BYTES) {
      throw new Error(`${img.path} is not under ${MAX_FIXTURE_IMAGE_BYTES} bytes`);
    }
    const to = path.join(dir, 'stamps', rel);
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(from, to);
    copyFileSync(path.join(stampsDir, `${key}.txt`), path.join(dir, 'stamps', `${key}.txt`));
    const fixturePath = toPosix(path.relative(repoRoot, to));
    out.push({ ...e, images: [{ path: fixturePath, role: 'stamp' }] });
  }
  writeJsonl(path.join(dir, 'entities.jsonl'), out.sort(byId));
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'var/demo/tuxpaint' },
      limit: { type: 'string' },
      src: { type: 'string', default: path.join(repoRoot, 'var/sources', PACKAGE) },
      'fixture-dir': { type: 'string' },
    },
    strict: true,
  });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new Error(`--limit must be a positive integer, got ${values.limit}`);
  }
  const t0 = performance.now();
  const srcDir = path.resolve(values.src);
  const { version, fetched } = ensureExtracted(srcDir);
  const tFetched = performance.now();

  const stampsDir = path.join(srcDir, STAMPS_DIR_IN_PACKAGE);
  const skipped = new Map<string, string[]>();
  const formats = { png: 0, pngWithSvgBeside: 0, svg: 0 };
  const extraLines: string[] = [];
  const entities: StampEntity[] = [];
  let found = 0;
  let variantImages = 0;
  let categories = 0;
  for (const { category, files } of listCategories(stampsDir)) {
    const stamps = groupStampFiles(category, files);
    if (stamps.length) categories++;
    for (const s of stamps) {
      found++;
      variantImages += s.variants.length;
      const key = `${category}/${s.stem}`;
      let text: StampText | undefined;
      if (s.txt) {
        try {
          text = parseStampText(utf8.decode(readFileSync(path.join(stampsDir, category, s.txt))));
        } catch {
          text = { translations: new Map(), other: [] }; // not UTF-8: no usable description
        }
        extraLines.push(...text.other.map((l) => `${key}: ${l}`));
      }
      const reason = stampSkipReason(s, text);
      const image = chooseStampImage(s);
      if (reason || !image || !text) {
        const r = reason ?? 'no-image';
        skipped.set(r, [...(skipped.get(r) ?? []), key]);
        continue;
      }
      if (image.format === 'png') {
        formats.png++;
        if (s.svg) formats.pngWithSvgBeside++;
      } else {
        formats.svg++;
      }
      const imagePath = toPosix(
        path.relative(repoRoot, path.join(stampsDir, category, image.file)),
      );
      entities.push(stampToEntity(s, text, { version, imagePath }));
    }
  }
  const ids = new Set(entities.map((e) => e.id));
  if (ids.size !== entities.length) throw new Error('duplicate entity ids');

  const chosen =
    limit === undefined ? [...entities].sort(byId) : pickVariedSubset(entities, limit, topCategory);
  const outFile = path.join(path.resolve(values.out), 'entities.jsonl');
  writeJsonl(outFile, chosen);
  if (values['fixture-dir'] !== undefined) {
    writeFixture(path.resolve(values['fixture-dir']), entities, stampsDir);
  }
  const t1 = performance.now();

  const nameCounts = new Map<string, number>();
  for (const e of entities) nameCounts.set(e.name, (nameCounts.get(e.name) ?? 0) + 1);
  const shared = [...nameCounts].filter(([, n]) => n > 1);
  const summary = {
    package: PACKAGE,
    version,
    fetched,
    categoryFolders: categories,
    stampsFound: found,
    kept: entities.length,
    written: chosen.length,
    skipped: Object.fromEntries(skipped),
    variantImagesAttached: variantImages,
    imageFormats: formats,
    medianDescriptionWords: median(entities.map((e) => wordCount(e.description))),
    namesSharedByMoreThanOneStamp: shared.length,
    stampsWithASharedName: shared.reduce((n, [, c]) => n + c, 0),
    unrecognisedTxtLines: extraLines,
    fetchMs: Math.round(tFetched - t0),
    parseAndWriteMs: Math.round(t1 - tFetched),
    totalMs: Math.round(t1 - t0),
    out: toPosix(path.relative(process.cwd(), outFile)),
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

runIfEntryPoint(import.meta.url, main);
