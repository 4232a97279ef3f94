/**
 * The cross-depiction TRAINING pool of issue 12 (never evaluated here): the same concept drawn in
 * several styles, from registry packages fetched with `npm pack` (pinned versions):
 *   emoji  Twemoji (emoji-datasource-twitter), OpenMoji, Noto (@iconify-json/noto), Fluent flat
 *          (@iconify-json/fluent-emoji-flat), joined by codepoint sequence without FE0F/FE0E;
 *   flags  flag-icons (4x3), @iconify-json/flagpack, @iconify-json/circle-flags, joined by ISO
 *          3166-1 alpha-2 code (names from flag-icons' country.json).
 * Writes <out>/train-pairs.jsonl, one row per picture: `{concept, name, source, version, licence,
 * style, path}`, only concepts drawn in at least two styles. Iconify icons become SVG files under
 * <out>/pool/<style>/. The held-out sources (Wesnoth, cards) never appear here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { emojiKey, ensureEmojiPackages, NPM, repoRoot } from '../build/sources.js';
import { writeJsonLines } from '../harness/benchmark-db.js';

export const POOL_NPM = {
  noto: { name: '@iconify-json/noto', version: '1.2.9' },
  fluentFlat: { name: '@iconify-json/fluent-emoji-flat', version: '1.2.6' },
  flagIcons: { name: 'flag-icons', version: '7.5.0', licence: 'MIT' },
  flagpack: { name: '@iconify-json/flagpack', version: '1.2.8' },
  circleFlags: { name: '@iconify-json/circle-flags', version: '1.2.11' },
} as const;

/** `npm pack` file name of a (scoped) package: `@scope/name` → `scope-name-<version>.tgz`. */
export function packFileName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** A pinned package extracted under var/sources/npm (any scope), fetched with `npm pack`. */
function ensurePack(name: string, version: string): string {
  const dir = path.join(
    repoRoot,
    'var/sources/npm',
    packFileName(name, version).replace(/\.tgz$/, ''),
  );
  const marker = path.join(dir, '.polylink-extracted');
  if (existsSync(marker)) return path.join(dir, 'package');
  const cache = path.join(repoRoot, 'var/cache/npm');
  mkdirSync(cache, { recursive: true });
  const tgz = path.join(cache, packFileName(name, version));
  if (!existsSync(tgz)) {
    execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', cache, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', dir]);
  writeFileSync(marker, `${name}@${version}\n`);
  return path.join(dir, 'package');
}

export interface PoolRow {
  concept: string;
  name: string;
  source: string;
  version: string;
  licence: string;
  style: string;
  path: string;
}

interface IconifySet {
  width?: number;
  height?: number;
  icons: Record<string, { body: string; width?: number; height?: number }>;
  aliases?: Record<string, { parent: string; [k: string]: unknown }>;
}

/** An Iconify icon as a standalone SVG document; null when it is unknown or a transformed alias. */
export function iconifySvg(set: IconifySet, name: string): string | null {
  let icon = set.icons[name];
  if (!icon) {
    const alias = set.aliases?.[name];
    // Only plain aliases: a rotated or flipped alias is another picture.
    if (!alias || Object.keys(alias).some((k) => k !== 'parent')) return null;
    icon = set.icons[alias.parent];
  }
  if (!icon) return null;
  const w = icon.width ?? set.width ?? 16;
  const h = icon.height ?? set.height ?? 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${w * 8}" height="${h * 8}" viewBox="0 0 ${w} ${h}">${icon.body}</svg>`;
}

/** Iconify's `chars.json` key ("1f600", "1f1fa-1f1f8") → the join key of sources.ts. */
export function charsKey(chars: string): string {
  return emojiKey(chars);
}

/** Groups rows by concept and keeps concepts with at least `minStyles` distinct styles. */
export function multiStyle(rows: readonly PoolRow[], minStyles: number): PoolRow[] {
  const styles = new Map<string, Set<string>>();
  for (const r of rows) styles.set(r.concept, (styles.get(r.concept) ?? new Set()).add(r.style));
  return rows.filter((r) => (styles.get(r.concept)?.size ?? 0) >= minStyles);
}

interface IconifyPackage {
  dir: string;
  set: IconifySet;
  chars: Record<string, string>;
  licence: string;
}

function readIconify(name: string, version: string): IconifyPackage {
  const dir = ensurePack(name, version);
  const info = JSON.parse(readFileSync(path.join(dir, 'info.json'), 'utf8')) as {
    license?: { spdx?: string };
  };
  return {
    dir,
    set: JSON.parse(readFileSync(path.join(dir, 'icons.json'), 'utf8')) as IconifySet,
    chars: JSON.parse(readFileSync(path.join(dir, 'chars.json'), 'utf8')) as Record<string, string>,
    licence: info.license?.spdx ?? 'unknown',
  };
}

const rel = (abs: string): string => path.relative(repoRoot, abs).split(path.sep).join('/');

function iconifyRows(
  pkg: IconifyPackage,
  meta: { name: string; version: string; style: string; out: string },
  entries: Iterable<[concept: string, icon: string]>,
  names: Map<string, string>,
): PoolRow[] {
  const rows: PoolRow[] = [];
  const dir = path.join(meta.out, 'pool', meta.style);
  mkdirSync(dir, { recursive: true });
  for (const [concept, icon] of entries) {
    const svg = iconifySvg(pkg.set, icon);
    if (svg === null) continue;
    const file = path.join(dir, `${icon}.svg`);
    writeFileSync(file, svg);
    rows.push({
      concept,
      name: names.get(concept) ?? icon.replace(/-/g, ' '),
      source: meta.name,
      version: meta.version,
      licence: pkg.licence,
      style: meta.style,
      path: rel(file),
    });
  }
  return rows;
}

function emojiRows(out: string): PoolRow[] {
  const { eb, tw, om } = ensureEmojiPackages();
  const names = new Map<string, string>();
  for (const d of JSON.parse(readFileSync(path.join(eb, 'en/data.json'), 'utf8')) as {
    hexcode: string;
    label: string;
  }[])
    names.set(`emoji:${emojiKey(d.hexcode)}`, d.label);
  const rows: PoolRow[] = [];
  for (const d of JSON.parse(readFileSync(path.join(tw, 'emoji.json'), 'utf8')) as {
    unified: string;
    image: string;
    has_img_twitter?: boolean;
  }[]) {
    const file = path.join(tw, 'img/twitter/64', d.image);
    if (d.has_img_twitter === false || !existsSync(file)) continue;
    const concept = `emoji:${emojiKey(d.unified)}`;
    if (!names.has(concept)) continue;
    rows.push({
      concept,
      name: names.get(concept) ?? '',
      source: NPM.twemoji.name,
      version: NPM.twemoji.version,
      licence: NPM.twemoji.licence,
      style: 'twemoji',
      path: rel(file),
    });
  }
  for (const o of JSON.parse(readFileSync(path.join(om, 'data/openmoji.json'), 'utf8')) as {
    hexcode: string;
  }[]) {
    const file = path.join(om, 'color/svg', `${o.hexcode}.svg`);
    const concept = `emoji:${emojiKey(o.hexcode)}`;
    if (!names.has(concept) || !existsSync(file)) continue;
    rows.push({
      concept,
      name: names.get(concept) ?? '',
      source: NPM.openmoji.name,
      version: NPM.openmoji.version,
      licence: NPM.openmoji.licence,
      style: 'openmoji',
      path: rel(file),
    });
  }
  for (const [meta, style] of [
    [POOL_NPM.noto, 'noto'],
    [POOL_NPM.fluentFlat, 'fluent-flat'],
  ] as const) {
    const pkg = readIconify(meta.name, meta.version);
    const entries = Object.entries(pkg.chars)
      .map(([chars, icon]): [string, string] => [`emoji:${charsKey(chars)}`, icon])
      .filter(([concept]) => names.has(concept));
    rows.push(...iconifyRows(pkg, { ...meta, style, out }, dedupe(entries), names));
  }
  return rows;
}

/** The first icon per concept. */
function dedupe(entries: readonly [string, string][]): [string, string][] {
  const seen = new Set<string>();
  return entries.filter(([c]) => (seen.has(c) ? false : (seen.add(c), true)));
}

function flagRows(out: string): PoolRow[] {
  const fi = ensurePack(POOL_NPM.flagIcons.name, POOL_NPM.flagIcons.version);
  const countries = (
    JSON.parse(readFileSync(path.join(fi, 'country.json'), 'utf8')) as {
      code: string;
      name: string;
      iso: boolean;
    }[]
  ).filter((c) => c.iso && /^[a-z]{2}$/.test(c.code));
  const names = new Map(countries.map((c) => [`flag:${c.code}`, c.name]));
  const rows: PoolRow[] = countries
    .filter((c) => existsSync(path.join(fi, 'flags/4x3', `${c.code}.svg`)))
    .map((c) => ({
      concept: `flag:${c.code}`,
      name: c.name,
      source: POOL_NPM.flagIcons.name,
      version: POOL_NPM.flagIcons.version,
      licence: POOL_NPM.flagIcons.licence,
      style: 'flag-icons',
      path: rel(path.join(fi, 'flags/4x3', `${c.code}.svg`)),
    }));
  for (const [meta, style] of [
    [POOL_NPM.flagpack, 'flagpack'],
    [POOL_NPM.circleFlags, 'circle-flags'],
  ] as const) {
    const pkg = readIconify(meta.name, meta.version);
    const entries = countries.map((c): [string, string] => [`flag:${c.code}`, c.code]);
    rows.push(...iconifyRows(pkg, { ...meta, style, out }, entries, names));
  }
  return rows;
}

/** Writes <out>/train-pairs.jsonl; returns its counts. */
export async function buildTrainPairs(
  out: string,
  log: (message: string) => void,
): Promise<Record<string, unknown>> {
  const all = multiStyle([...emojiRows(out), ...flagRows(out)], 2);
  await writeJsonLines(path.join(out, 'train-pairs.jsonl'), all);
  const concepts = new Set(all.map((r) => r.concept));
  const byStyle: Record<string, number> = {};
  for (const r of all) byStyle[r.style] = (byStyle[r.style] ?? 0) + 1;
  const emoji = [...concepts].filter((c) => c.startsWith('emoji:')).length;
  log(`train pool: ${all.length} pictures of ${concepts.size} concepts`);
  return {
    rows: all.length,
    concepts: concepts.size,
    emojiConcepts: emoji,
    flagConcepts: concepts.size - emoji,
    byStyle,
  };
}
