/**
 * Battle for Wesnoth unit types (Debian `wesnoth-1.16-data`, GPL-2+) for the cross-depiction
 * evaluation: one entity per `[unit_type]` of `data/core/units/**.cfg`, its painted 400×400
 * portrait (`profile=`) and its 72×72 pixel-art sprite (`image=`). The WML reading is pure (no
 * I/O) and unit-tested; `loadWesnoth` does the file work.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const WESNOTH_PACKAGE = 'wesnoth-1.16-data';
export const WESNOTH_LICENCE = 'GPL-2+';
export const WESNOTH_CORE = 'usr/share/games/wesnoth/1.16/data/core';

/** The top-level keys of one `[unit_type]` that the evaluation needs. */
export interface UnitType {
  readonly id: string;
  readonly name: string;
  readonly race: string | null;
  /** Sprite path relative to `data/core/images`, image-path functions (`~RIGHT()`) removed. */
  readonly image: string | null;
  /** Portrait path relative to `data/core/images`, functions removed. */
  readonly profile: string | null;
  readonly description: string | null;
  /** `do_not_list=yes` or `hide_help=yes`: not a unit a player meets as such. */
  readonly hidden: boolean;
}

/** The first quoted WML string of a value (`""` is an escaped quote), or the bare value. */
export function wmlValue(raw: string): string | null {
  const text = raw.trim();
  const quote = text.indexOf('"');
  if (quote < 0) return text === '' ? null : text;
  let out = '';
  for (let k = quote + 1; k < text.length; k++) {
    const c = text[k];
    if (c === '"') {
      if (text[k + 1] === '"') {
        out += '"';
        k++;
        continue;
      }
      return out;
    }
    out += c;
  }
  return out;
}

const quoteCount = (s: string): number => (s.match(/"/g) ?? []).length;

/** An image path of a unit: null when it is built by a macro; `~FUNC()` suffixes dropped. */
export function imagePath(value: string | null): string | null {
  if (value === null || value.includes('{')) return null;
  const bare = value.split('~')[0]?.trim() ?? '';
  return bare === '' ? null : bare;
}

/**
 * Every `[unit_type]` of a WML file with its depth-1 keys. Nested tags (`[attack]`,
 * `[variation]`, `[female]`, …) are skipped, and a quoted value that spans lines is read whole.
 */
export function parseUnitTypes(text: string): UnitType[] {
  const lines = text.split('\n');
  const out: UnitType[] = [];
  let depth = 0;
  let keys: Map<string, string> | null = null;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k] ?? '';
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || trimmed === '') continue;
    const tag = /^\[(\/?)([+A-Za-z0-9_]+)\]/.exec(trimmed);
    if (tag) {
      const closing = tag[1] === '/';
      const name = tag[2];
      if (!closing && depth === 0 && name === 'unit_type') keys = new Map();
      if (closing) {
        depth = Math.max(0, depth - 1);
        if (depth === 0 && name === 'unit_type' && keys) {
          out.push(toUnitType(keys));
          keys = null;
        }
      } else {
        depth++;
      }
      continue;
    }
    const kv = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(trimmed);
    if (!kv) continue;
    let value = kv[2] ?? '';
    // A quoted string may run over several lines: read until the quotes balance.
    while (quoteCount(value) % 2 === 1 && k + 1 < lines.length) {
      k++;
      value += `\n${lines[k] ?? ''}`;
    }
    if (keys && depth === 1 && !keys.has(kv[1] ?? '')) keys.set(kv[1] ?? '', value);
  }
  return out;
}

function toUnitType(keys: Map<string, string>): UnitType {
  const get = (key: string): string | null => {
    const raw = keys.get(key);
    return raw === undefined ? null : wmlValue(raw);
  };
  const description = get('description');
  return {
    id: get('id') ?? '',
    name: get('name') ?? '',
    race: get('race'),
    image: imagePath(get('image')),
    profile: imagePath(get('profile')),
    description: description === null ? null : description.replace(/\s+/g, ' ').trim(),
    hidden: get('do_not_list') === 'yes' || get('hide_help') === 'yes',
  };
}

/** Why a unit type cannot be a cross-depiction entity, or null when it can. */
export function unitSkipReason(
  unit: UnitType,
  exists: (imagePathInImages: string) => boolean,
): string | null {
  if (unit.id === '' || unit.name === '') return 'no id or name';
  if (unit.hidden) return 'hidden (do_not_list or hide_help)';
  if (unit.profile === null) return 'no portrait (profile=)';
  if (unit.image === null) return 'no sprite (image=)';
  if (unit.image === unit.profile) return 'portrait and sprite are one file';
  if (!exists(unit.profile)) return 'portrait file missing';
  if (!exists(unit.image)) return 'sprite file missing';
  return null;
}

/** Every `.cfg` file under `dir`, sorted, as paths relative to `dir`. */
export function listCfgFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.cfg')) out.push(p);
    }
  };
  walk('');
  return out.sort();
}

export interface WesnothUnit extends UnitType {
  /** `data/core/units/<file>` inside the package. */
  readonly file: string;
  /** Absolute paths of the portrait and the sprite. */
  readonly profileFile: string;
  readonly imageFile: string;
}

/** The unit types of an extracted package (root = the extraction folder), with skip reasons. */
export function loadWesnoth(root: string): {
  units: WesnothUnit[];
  skipped: { id: string; file: string; reason: string }[];
} {
  const core = path.join(root, WESNOTH_CORE);
  const images = path.join(core, 'images');
  const units: WesnothUnit[] = [];
  const skipped: { id: string; file: string; reason: string }[] = [];
  for (const f of listCfgFiles(path.join(core, 'units'))) {
    for (const u of parseUnitTypes(readFileSync(path.join(core, 'units', f), 'utf8'))) {
      const file = `data/core/units/${f}`;
      const reason = unitSkipReason(u, (p) => existsSync(path.join(images, p)));
      if (reason) {
        skipped.push({ id: u.id, file, reason });
        continue;
      }
      units.push({
        ...u,
        file,
        profileFile: path.join(images, u.profile ?? ''),
        imageFile: path.join(images, u.image ?? ''),
      });
    }
  }
  return { units, skipped };
}
