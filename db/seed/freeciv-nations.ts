/**
 * Freeciv nations → SeedEntity records (demo knowledge graph built from real data).
 *
 * Source: the Debian package `freeciv-data` (GPL-2+, Freeciv authors):
 *   usr/share/games/freeciv/nation/<stem>.ruleset   one `[nation_<x>]` section per file
 *   usr/share/games/freeciv/flags/<flag>{,-large,-shield,-shield-large}.png
 *
 * The exported functions are pure (no I/O) so they can be unit-tested. The CLI at the bottom
 * (run only when this file is executed directly) does the I/O:
 *
 *   npx tsx db/seed/freeciv-nations.ts [--out var/demo/freeciv] [--limit N] [--src DIR]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runIfEntryPoint } from './seed-cli.js';
import { byId, fnv1a, pickVariedSubset as pickVariedSubsetByGroup } from './varied-subset.js';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface SeedImage {
  /** Path of the image file relative to the repo root. */
  path: string;
  role: 'flag';
}

export interface SeedEntity {
  /** "freeciv-nation:<ruleset file stem>" */
  id: string;
  /** The nation's name, e.g. "French". */
  name: string;
  /** Plural and other names for the same nation found in the file; deduped, without the name. */
  aliases: string[];
  /** The legend, whitespace normalised. */
  description: string;
  domain: 'freeciv-nations';
  /** The nation's groups. */
  tags: string[];
  images: SeedImage[];
  source: {
    package: 'freeciv-data';
    version: string;
    /** Path inside the package. */
    file: string;
    licence: 'GPL-2+';
  };
}

/** A scalar value of a secfile entry. */
export type SecValue = string | number | boolean;

/** A tabular entry: `key = { "col1", "col2" \n  v, v \n ... }`. */
export interface SecTable {
  kind: 'table';
  columns: string[];
  rows: SecValue[][];
}

/** An entry's value: a list of one or more scalars (`a = "x", "y"`), or a table. */
export type SecEntryValue = SecValue[] | SecTable;

export interface SecSection {
  name: string;
  /** Entries in file order. A repeated key keeps its last value (as Freeciv does). */
  entries: Map<string, SecEntryValue>;
}

export class SecfileSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'SecfileSyntaxError';
  }
}

// ---------------------------------------------------------------------------------------------
// Secfile (ruleset) parser
// ---------------------------------------------------------------------------------------------

/**
 * Remove a gettext context qualifier such as `?plural:` or `?female:` from the start of a string
 * (Freeciv's `skip_intl_qualifier_prefix`).
 */
export function stripQualifier(s: string): string {
  const m = /^\?[^:\s"]*:/.exec(s);
  return m ? s.slice(m[0].length) : s;
}

/**
 * Parse Freeciv's registry/secfile syntax (enough for `nation/*.ruleset` and similar files):
 * - `[section]` headers; `key = value` entries (`key` may contain `.`, `_`, digits);
 * - values: `"string"`, `_("translated string")`, integers/decimals, `TRUE`/`FALSE`, bare words;
 * - comma-separated lists, which may continue onto following lines after a comma, with comment
 *   lines in between; the first value may also start on the line after `=`;
 * - strings may span lines: a raw newline is kept, a backslash before the newline joins the lines;
 *   escapes `\"`, `\\`, `\n`, `\t`;
 * - tables `{ "col", ... \n row values \n ... }`;
 * - comments from `;` or `#` to end of line (outside strings); `*include "file"` lines ignored;
 *   `*file*` values (file-contents references) are kept as the literal token.
 * `?qualifier:` prefixes are removed from every string value.
 */
export function parseSecfile(text: string): SecSection[] {
  const src = text.replace(/\r\n?/g, '\n');
  const sections: SecSection[] = [];
  let current: SecSection | undefined;
  let i = 0;
  let line = 1;

  const peek = (k = 0): string => src[i + k] ?? '';
  const fail = (msg: string): never => {
    throw new SecfileSyntaxError(msg, line);
  };
  const advance = (): string => {
    const c = src[i++] ?? '';
    if (c === '\n') line++;
    return c;
  };
  /** Skip spaces and tabs on the current line. */
  const skipBlanks = (): void => {
    while (peek() === ' ' || peek() === '\t') i++;
  };
  /** Skip a comment (if any) up to, not including, the newline. */
  const skipComment = (): void => {
    if (peek() === ';' || peek() === '#') {
      while (i < src.length && peek() !== '\n') i++;
    }
  };
  /** Skip whitespace, newlines and comments. */
  const skipAll = (): void => {
    for (;;) {
      skipBlanks();
      if (peek() === ';' || peek() === '#') skipComment();
      else if (peek() === '\n') advance();
      else return;
    }
  };
  /** After a complete entry: only blanks and a comment may remain on the line. */
  const expectEol = (): void => {
    skipBlanks();
    skipComment();
    if (i < src.length && peek() !== '\n') fail(`unexpected ${JSON.stringify(peek())} after value`);
  };

  const readQuoted = (): string => {
    const startLine = line;
    if (advance() !== '"') fail('expected "');
    let out = '';
    for (;;) {
      if (i >= src.length) throw new SecfileSyntaxError('unterminated string', startLine);
      const c = advance();
      if (c === '"') return out;
      if (c === '\\') {
        const e = advance();
        if (e === '\n') continue; // line continuation
        if (e === 'n') out += '\n';
        else if (e === 't') out += '\t';
        else out += e; // \" \\ and anything else: the character itself
      } else {
        out += c;
      }
    }
  };

  /** Read one value, or return undefined if the next token is not a value. */
  const readValue = (): SecValue | undefined => {
    const c = peek();
    if (c === '"') return stripQualifier(readQuoted());
    if (c === '_' && peek(1) === '(') {
      i += 2;
      skipAll();
      if (peek() !== '"') fail('expected string after _(');
      const s = readQuoted();
      skipAll();
      if (advance() !== ')') fail('expected ) after _("...")');
      return stripQualifier(s);
    }
    const rest = src.slice(i, i + 256);
    // `*path*`: Freeciv substitutes the named file's contents; a pure parser keeps the token.
    const fileRef = /^\*[^*\n"]+\*/.exec(rest);
    if (fileRef) {
      i += fileRef[0].length;
      return fileRef[0];
    }
    const num = /^[-+]?\d+(\.\d+)?(?![\w.])/.exec(rest);
    if (num) {
      i += num[0].length;
      return Number(num[0]);
    }
    const word = /^[A-Za-z_][\w.-]*/.exec(rest);
    if (word) {
      // A bare word followed by `=` is the next entry's key, not a value.
      const after = src.slice(i + word[0].length, i + word[0].length + 64).match(/^[ \t]*(.)/);
      if (after?.[1] === '=') return undefined;
      i += word[0].length;
      if (word[0] === 'TRUE') return true;
      if (word[0] === 'FALSE') return false;
      return word[0];
    }
    return undefined;
  };

  /** Comma-separated values on one logical line (continuing after a trailing comma). */
  const readList = (allowEmpty: boolean): SecValue[] => {
    const values: SecValue[] = [];
    skipAll();
    const first = readValue();
    if (first === undefined) {
      if (allowEmpty) return values;
      fail(`expected a value, found ${JSON.stringify(peek())}`);
    } else {
      values.push(first);
    }
    for (;;) {
      skipBlanks();
      if (peek() !== ',') return values;
      i++;
      skipAll();
      const v = readValue();
      if (v === undefined) fail(`expected a value after ",", found ${JSON.stringify(peek())}`);
      else values.push(v);
    }
  };

  const readTable = (): SecTable => {
    const startLine = line;
    i++; // '{'
    const rows: SecValue[][] = [];
    for (;;) {
      skipAll();
      if (i >= src.length) throw new SecfileSyntaxError('unterminated table', startLine);
      if (peek() === '}') {
        i++;
        break;
      }
      rows.push(readList(false));
      skipBlanks();
      if (peek() === '}') continue;
      skipComment();
      if (i < src.length && peek() !== '\n') fail(`unexpected ${JSON.stringify(peek())} in table`);
    }
    const [header, ...body] = rows;
    return { kind: 'table', columns: (header ?? []).map(String), rows: body };
  };

  for (;;) {
    skipAll();
    if (i >= src.length) break;
    const c = peek();
    if (c === '[') {
      const m = /^\[([^\]\n]*)\]/.exec(src.slice(i, i + 256));
      if (!m) fail('malformed section header');
      else {
        current = { name: (m[1] ?? '').trim(), entries: new Map() };
        sections.push(current);
        i += m[0].length;
        expectEol();
      }
      continue;
    }
    if (c === '*' && src.startsWith('*include', i)) {
      while (i < src.length && peek() !== '\n') i++;
      continue;
    }
    const key = /^([A-Za-z_][\w.-]*)[ \t]*=/.exec(src.slice(i, i + 256));
    if (!key) fail(`expected an entry or a section, found ${JSON.stringify(src.slice(i, i + 20))}`);
    else {
      if (!current) fail(`entry "${key[1]}" outside any section`);
      i += key[0].length;
      skipAll();
      let value: SecEntryValue;
      if (peek() === '{') value = readTable();
      else value = readList(true);
      // An empty value (`key =` then the next entry) has already consumed the line end.
      if (!Array.isArray(value) || value.length > 0) expectEol();
      current?.entries.set(key[1] ?? '', value);
    }
  }
  return sections;
}

/** The scalar list of an entry, or [] if absent / a table. */
export function getValues(section: SecSection, key: string): SecValue[] {
  const v = section.entries.get(key);
  return Array.isArray(v) ? v : [];
}

/** The first value of an entry as a string, or undefined if absent. */
export function getString(section: SecSection, key: string): string | undefined {
  const v = getValues(section, key)[0];
  return v === undefined ? undefined : String(v);
}

/** All values of an entry as strings (e.g. `groups = "a", "b"`). */
export function getStringList(section: SecSection, key: string): string[] {
  return getValues(section, key).map(String);
}

// ---------------------------------------------------------------------------------------------
// Nations
// ---------------------------------------------------------------------------------------------

export interface FreecivNation {
  /** Ruleset file stem, e.g. "french". */
  stem: string;
  /** Section name, e.g. "nation_french". */
  section: string;
  name: string;
  plural: string;
  /** `rule_name` when present (an ASCII spelling such as "Alander" for "Ålander"). */
  ruleName?: string;
  legend: string;
  flag?: string;
  flagAlt?: string;
  groups: string[];
  isPlayable: boolean;
  barbarianType?: string;
  civilwarNations: string[];
  conflictsWith: string[];
}

/** Parse a nation ruleset file into its `[nation_*]` sections. */
export function parseNationRuleset(text: string, stem: string): FreecivNation[] {
  return parseSecfile(text)
    .filter((s) => s.name.startsWith('nation_'))
    .map((s) => {
      const ruleName = getString(s, 'rule_name');
      // "" and "-" mean "no flag" in Freeciv rulesets.
      const flagTag = (k: string): string | undefined => {
        const v = getString(s, k)?.trim();
        return v && v !== '-' ? v : undefined;
      };
      const flag = flagTag('flag');
      const flagAlt = flagTag('flag_alt');
      const barbarianType = getString(s, 'barbarian_type');
      const playable = getValues(s, 'is_playable')[0];
      return {
        stem,
        section: s.name,
        name: getString(s, 'name') ?? '',
        plural: getString(s, 'plural') ?? '',
        ...(ruleName ? { ruleName } : {}),
        legend: getString(s, 'legend') ?? '',
        ...(flag ? { flag } : {}),
        ...(flagAlt ? { flagAlt } : {}),
        groups: getStringList(s, 'groups'),
        isPlayable: playable === undefined ? true : playable === true || playable === 'TRUE',
        ...(barbarianType ? { barbarianType } : {}),
        civilwarNations: getStringList(s, 'civilwar_nations'),
        conflictsWith: getStringList(s, 'conflicts_with'),
      };
    });
}

/** Barbarians, pirates, animals: not real nations. */
export function isSpecialNation(n: FreecivNation): boolean {
  return (
    n.barbarianType !== undefined ||
    !n.isPlayable ||
    n.groups.some((g) => g.toLowerCase() === 'barbarian')
  );
}

/** Collapse all runs of whitespace to one space and trim. */
export function normaliseWhitespace(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

export function wordCount(s: string): number {
  const t = normaliseWhitespace(s);
  return t === '' ? 0 : t.split(' ').length;
}

const aliasKey = (s: string): string => normaliseWhitespace(s).normalize('NFC').toLowerCase();

/** Plural and rule_name, deduped (case-insensitively), without the name itself. */
export function nationAliases(n: FreecivNation): string[] {
  const seen = new Set([aliasKey(n.name)]);
  const out: string[] = [];
  for (const a of [n.plural, n.ruleName]) {
    if (a === undefined) continue;
    const v = normaliseWhitespace(a);
    const k = aliasKey(v);
    if (v === '' || seen.has(k)) continue;
    seen.add(k);
    out.push(v);
  }
  return out;
}

/** Why a nation is not turned into an entity, or undefined if it is kept. */
export function nationSkipReason(
  n: FreecivNation,
  flagImage: string | undefined,
): 'special' | 'no-name' | 'no-legend' | 'no-flag' | undefined {
  if (isSpecialNation(n)) return 'special';
  if (normaliseWhitespace(n.name) === '') return 'no-name';
  if (normaliseWhitespace(n.legend) === '') return 'no-legend';
  if (!flagImage) return 'no-flag';
  return undefined;
}

export interface NationEntityContext {
  /** Debian package version, e.g. "3.0.6-1+deb12u1". */
  version: string;
  /** Path of the ruleset inside the package. */
  file: string;
  /** Flag image path relative to the repo root. */
  flagImage: string;
}

export function nationToEntity(n: FreecivNation, ctx: NationEntityContext): SeedEntity {
  return {
    id: `freeciv-nation:${n.stem}`,
    name: normaliseWhitespace(n.name),
    aliases: nationAliases(n),
    description: normaliseWhitespace(n.legend),
    domain: 'freeciv-nations',
    tags: [...new Set(n.groups.map(normaliseWhitespace).filter((g) => g !== ''))],
    images: [{ path: ctx.flagImage, role: 'flag' }],
    source: { package: 'freeciv-data', version: ctx.version, file: ctx.file, licence: 'GPL-2+' },
  };
}

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

/** Width and height from a PNG's IHDR chunk, or undefined if `buf` is not a PNG. */
export function pngSize(buf: Uint8Array): { width: number; height: number } | undefined {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (buf.length < 24 || sig.some((b, k) => buf[k] !== b)) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

export interface ImageCandidate {
  /** File name inside the flags folder, e.g. "france-large.png". */
  file: string;
  width: number;
  height: number;
  bytes: number;
}

/** Every PNG flag in the package's flags folder, by file name, with its pixel size. */
export function listFlagImages(flagsDir: string): Map<string, ImageCandidate> {
  const available = new Map<string, ImageCandidate>();
  for (const f of readdirSync(flagsDir)) {
    if (!f.endsWith('.png')) continue;
    const buf = readFileSync(path.join(flagsDir, f));
    const size = pngSize(buf);
    if (size) available.set(f, { file: f, ...size, bytes: buf.length });
  }
  return available;
}

/**
 * File names of the flag variants for a flag tag, best first by naming convention:
 * `<tag>-large.png` then `<tag>.png` (the `-shield` variants are a different, shield-shaped image).
 */
export function flagVariantNames(tag: string): string[] {
  return [`${tag}-large.png`, `${tag}.png`];
}

/**
 * The largest raster variant (by pixel area, then file size, then name order) among the
 * candidates for `flag`, falling back to `flagAlt` as Freeciv does. Undefined if none exists.
 */
export function chooseFlagFile(
  flag: string | undefined,
  flagAlt: string | undefined,
  available: ReadonlyMap<string, ImageCandidate>,
): ImageCandidate | undefined {
  for (const tag of [flag, flagAlt]) {
    if (!tag) continue;
    const names = flagVariantNames(tag);
    const found = names
      .map((f, order) => ({ c: available.get(f), order }))
      .filter((x): x is { c: ImageCandidate; order: number } => x.c !== undefined);
    found.sort(
      (a, b) =>
        b.c.width * b.c.height - a.c.width * a.c.height ||
        b.c.bytes - a.c.bytes ||
        a.order - b.order,
    );
    if (found[0]) return found[0].c;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Subset selection
// ---------------------------------------------------------------------------------------------

export { fnv1a };

/** Freeciv nations are grouped by every tag (their nation groups). */
export function pickVariedSubset(entities: readonly SeedEntity[], limit: number): SeedEntity[] {
  return pickVariedSubsetByGroup(entities, limit);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

export const PACKAGE = 'freeciv-data';
/** Freeciv's data folder inside the package. */
export const DATA_DIR_IN_PACKAGE = 'usr/share/games/freeciv';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const toPosix = (p: string): string => p.split(path.sep).join('/');

function ensureExtracted(srcDir: string): string {
  const marker = path.join(srcDir, '.polylink-package-version');
  if (!existsSync(marker) || !existsSync(path.join(srcDir, DATA_DIR_IN_PACKAGE, 'nation'))) {
    execFileSync('bash', [path.join(here, 'fetch-debian-package.sh'), PACKAGE, srcDir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return readFileSync(marker, 'utf8').trim();
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'var/demo/freeciv' },
      limit: { type: 'string' },
      src: { type: 'string', default: path.join(repoRoot, 'var/sources', PACKAGE) },
    },
    strict: true,
  });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new Error(`--limit must be a positive integer, got ${values.limit}`);
  }
  const t0 = performance.now();
  const srcDir = path.resolve(values.src);
  const version = ensureExtracted(srcDir);
  const tFetched = performance.now();

  const dataDir = path.join(srcDir, DATA_DIR_IN_PACKAGE);
  const flagsDir = path.join(dataDir, 'flags');
  const available = listFlagImages(flagsDir);

  const files = readdirSync(path.join(dataDir, 'nation'))
    .filter((f) => f.endsWith('.ruleset'))
    .sort();
  const skipped = new Map<string, string[]>();
  const entities: SeedEntity[] = [];
  let found = 0;
  for (const f of files) {
    const stem = f.replace(/\.ruleset$/, '');
    const text = readFileSync(path.join(dataDir, 'nation', f), 'utf8');
    for (const n of parseNationRuleset(text, stem)) {
      found++;
      const flag = chooseFlagFile(n.flag, n.flagAlt, available);
      const flagImage = flag && toPosix(path.relative(repoRoot, path.join(flagsDir, flag.file)));
      const reason = nationSkipReason(n, flagImage);
      if (reason || !flagImage) {
        const list = skipped.get(reason ?? 'no-flag') ?? [];
        list.push(stem);
        skipped.set(reason ?? 'no-flag', list);
        continue;
      }
      entities.push(
        nationToEntity(n, {
          version,
          file: `${DATA_DIR_IN_PACKAGE}/nation/${f}`,
          flagImage,
        }),
      );
    }
  }
  const chosen = limit === undefined ? [...entities].sort(byId) : pickVariedSubset(entities, limit);
  const outDir = path.resolve(values.out);
  mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, 'entities.jsonl');
  writeFileSync(outFile, chosen.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const t1 = performance.now();

  const words = entities.map((e) => wordCount(e.description));
  const summary = {
    package: PACKAGE,
    version,
    rulesetFiles: files.length,
    nationsFound: found,
    kept: entities.length,
    written: chosen.length,
    skipped: Object.fromEntries([...skipped].map(([k, v]) => [k, v])),
    medianLegendWords: median(words),
    fetchMs: Math.round(tFetched - t0),
    parseAndWriteMs: Math.round(t1 - tFetched),
    totalMs: Math.round(t1 - t0),
    out: toPosix(path.relative(process.cwd(), outFile)),
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

runIfEntryPoint(import.meta.url, main);
