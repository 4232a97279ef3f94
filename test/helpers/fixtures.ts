import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config.js';
import type { BundleManifest } from '../../src/models/bundle.js';
import { PROJECT_ROOT } from '../../src/paths.js';

/** Real entities from Debian's freeciv-data (GPL-2+), kept small in test/fixtures/freeciv. */
export interface FixtureNation {
  readonly id: string;
  readonly name: string;
  readonly aliases: string[];
  readonly description: string;
  readonly domain: string;
  readonly tags: string[];
  readonly images: { path: string }[];
}

export function loadFixtureNations(): Map<string, FixtureNation> {
  const file = path.join(PROJECT_ROOT, 'test/fixtures/freeciv/entities.jsonl');
  const nations = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FixtureNation);
  return new Map(nations.map((nation) => [nation.id.replace('freeciv-nation:', ''), nation]));
}

export function fixtureNation(key: string): FixtureNation {
  const nation = loadFixtureNations().get(key);
  if (!nation) throw new Error(`no fixture nation ${key}`);
  return nation;
}

export function readFixture(relativePath: string): Buffer {
  return readFileSync(path.join(PROJECT_ROOT, relativePath));
}

export function toDataUrl(bytes: Uint8Array, mime = 'image/png'): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}

/**
 * The bundle the service loads (POLYLINK_MODEL_DIR, else var/models/polylink-default) and whether
 * its manifest has a linker component: tests of the linker skip only when it has none.
 */
export function loadedBundle(): { dir: string; hasLinker: boolean } {
  const dir = parseConfig(process.env).models.bundleDir;
  const manifestFile = path.join(dir, 'manifest.json');
  const hasLinker =
    existsSync(manifestFile) &&
    (JSON.parse(readFileSync(manifestFile, 'utf8')) as BundleManifest).components.linker !==
      undefined;
  return { dir, hasLinker };
}
