/**
 * Regenerates the committed test fixture test/fixtures/freeciv/ from a full extraction:
 *
 *   npx tsx db/seed/freeciv-nations.ts            # writes var/demo/freeciv/entities.jsonl
 *   npx tsx db/seed/freeciv-fixture.ts            # copies 6 nations + flags + sample.ruleset
 *
 * Picked for entity-linking tests: name containment ("American" ⊂ "Central American",
 * "Roman" ⊂ "Holy Roman", "German" ⊂ "East German"), acronyms in legends ("United States of
 * America", "German Democratic Republic" / "GDR"), legends naming other nations (Roman), and
 * diacritics with an ASCII rule_name alias ("Ålander" / "Alander").
 */
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SeedEntity } from './freeciv-nations.js';

const STEMS = ['alander', 'american', 'centralamerican', 'eastgerman', 'holyroman', 'roman'];
const SAMPLE_RULESET = 'alander';
const MAX_FLAG_BYTES = 40 * 1024;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtureDir = path.join(repoRoot, 'test/fixtures/freeciv');
const flagsDir = path.join(fixtureDir, 'flags');
const srcDir = path.join(repoRoot, 'var/sources/freeciv-data');

const all = readFileSync(path.join(repoRoot, 'var/demo/freeciv/entities.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as SeedEntity);

mkdirSync(flagsDir, { recursive: true });
const out: SeedEntity[] = [];
for (const stem of STEMS) {
  const e = all.find((x) => x.id === `freeciv-nation:${stem}`);
  if (!e) throw new Error(`nation ${stem} not in the full extraction`);
  const images = e.images.map((img) => {
    const from = path.join(repoRoot, img.path);
    if (statSync(from).size > MAX_FLAG_BYTES)
      throw new Error(`${img.path} is over ${MAX_FLAG_BYTES} bytes`);
    const name = path.basename(img.path);
    copyFileSync(from, path.join(flagsDir, name));
    return { ...img, path: `test/fixtures/freeciv/flags/${name}` };
  });
  out.push({ ...e, images });
}
out.sort((a, b) => (a.id < b.id ? -1 : 1));
writeFileSync(
  path.join(fixtureDir, 'entities.jsonl'),
  out.map((e) => JSON.stringify(e)).join('\n') + '\n',
);
copyFileSync(
  path.join(srcDir, `usr/share/games/freeciv/nation/${SAMPLE_RULESET}.ruleset`),
  path.join(fixtureDir, 'sample.ruleset'),
);
process.stdout.write(
  `wrote ${out.length} entities to ${path.relative(process.cwd(), fixtureDir)}\n`,
);
