/**
 * Photo to photo (issue 12's target "on photographs where the encoder already matches well, the
 * served linker keeps that accuracy"): Tux Paint's real-photo stamps, where the package has
 * several photographs of one kind of thing (three wrenches, five apples, ten gravestones). The KB
 * holds ONE photograph per kind, among all the benchmark's other Tux Paint entities as
 * distractors; every other photograph of the kind is a query (image-only, and named).
 *
 *   npx tsx eval/xdep/photos.ts [--benchmark var/benchmark] [--out var/xdep-photos]
 *   npx tsx eval/xdep/run-xdep.ts --xdep var/xdep-photos --source photos
 *
 * The kinds below were listed by reading the stamp folders (same folder, same first word, more
 * than a flat-colour drawing: at least ~200 distinct colours at 96 px), before any run; groups of
 * different things sharing a word (chess pieces, coins, planets, moon phases, a tennis ball and
 * racket) are left out. Not a held-out source: Tux Paint stamps are in the in-house benchmark, so
 * the linker was trained beside some of these pictures. It checks that linkImage keeps what the
 * image encoder finds, not how it generalises.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dHashOf, imageSize } from '../build/compose.js';
import { hammingDistance, NEAR_DUPLICATE_MAX_DISTANCE } from '../build/phash.js';
import { writeJsonLines } from '../harness/benchmark-db.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const STAMPS = 'var/sources/tuxpaint-stamps-default/usr/share/tuxpaint/stamps';

/** Folder, the caption's name of the kind, and its photographs (the first, sorted, is the KB's). */
const PHOTO_KINDS: readonly { dir: string; kind: string; stems: readonly string[] }[] = [
  { dir: 'animals/amphibians', kind: 'frog', stems: ['frog', 'frog-1'] },
  { dir: 'animals/birds', kind: 'heron', stems: ['heron_greatblue', 'heron_greatblue_flying'] },
  { dir: 'animals/mammals', kind: 'pig', stems: ['pig', 'pig_golden', 'pig_golden2'] },
  { dir: 'animals/mammals/bovines', kind: 'cow', stems: ['cow', 'cow_white'] },
  {
    dir: 'animals/mammals/bovines',
    kind: 'gnu',
    stems: ['gnu-baby', 'gnu-baby-stand', 'gnu-sitting', 'gnu-stand'],
  },
  { dir: 'animals/mammals/bovines', kind: 'sheep', stems: ['sheep', 'sheep_lamb'] },
  { dir: 'animals/mammals/cats', kind: 'lion', stems: ['lion', 'lion-2'] },
  { dir: 'animals/mammals/cats', kind: 'tiger', stems: ['tiger', 'tiger_sumatran'] },
  { dir: 'animals/mammals/equines', kind: 'donkey', stems: ['donkey', 'donkey_eating'] },
  { dir: 'animals/mammals/rodents', kind: 'rabbit', stems: ['rabbit', 'rabbit-2'] },
  { dir: 'clothes', kind: 'clothespin', stems: ['clothespin_new', 'clothespin_old'] },
  {
    dir: 'food/fruit',
    kind: 'apple',
    stems: ['apple_fuji', 'apple_granny_smith', 'apple_green', 'apple_red', 'apple_sierra_beauty'],
  },
  { dir: 'food/fruit', kind: 'orange', stems: ['orange', 'orange_seville'] },
  { dir: 'food/nuts', kind: 'walnut', stems: ['walnut', 'walnut_shelled'] },
  {
    dir: 'hobbies/music/string',
    kind: 'guitar',
    stems: ['guitar2', 'guitar_classical', 'guitar_electric', 'guitar_electric_bass'],
  },
  {
    dir: 'household/arttools',
    kind: 'scissors',
    stems: ['scissors_small_closed', 'scissors_small_open'],
  },
  {
    dir: 'household/tools',
    kind: 'wrench',
    stems: ['wrench', 'wrench_adjustable', 'wrench_plumbers'],
  },
  { dir: 'people', kind: 'fireman', stems: ['fireman200b', 'fireman240a'] },
  {
    dir: 'plants/flowers',
    kind: 'flower',
    stems: [
      'flower1',
      'flower10',
      'flower2',
      'flower3',
      'flower4',
      'flower5',
      'flower6',
      'flower7',
      'flower8',
      'flower9',
    ],
  },
  { dir: 'plants/mushrooms', kind: 'cep', stems: ['cep', 'cep-1', 'cep-2'] },
  {
    dir: 'seasonal/christmas',
    kind: 'candy cane',
    stems: ['Candy_cane_photo_1', 'Candy_cane_photo_2'],
  },
  { dir: 'seasonal/easter', kind: 'chick', stems: ['chick', 'chick-hatched', 'chick-in-egg'] },
  {
    dir: 'seasonal/easter',
    kind: 'chocolate egg',
    stems: ['wrapped_chocolate_easter_egg', 'wrapped_chocolate_easter_egg_2'],
  },
  {
    dir: 'seasonal/halloween',
    kind: 'gravestone',
    stems: [
      'grave-a',
      'grave-b',
      'grave-c',
      'grave-d',
      'grave-e',
      'grave-f',
      'grave-g',
      'grave-h',
      'grave-i',
      'grave-j',
    ],
  },
];

interface KbLine {
  readonly id: string;
  readonly name: string;
  readonly domain: string;
  readonly images: readonly { path: string; package: string; version: string; licence: string }[];
  readonly [field: string]: unknown;
}

function log(message: string): void {
  process.stderr.write(`[xdep-photos] ${message}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      benchmark: { type: 'string', default: 'var/benchmark' },
      out: { type: 'string', default: 'var/xdep-photos' },
    },
  });
  const outDir = path.resolve(PROJECT_ROOT, values.out);
  const kb = readFileSync(path.resolve(PROJECT_ROOT, values.benchmark, 'kb.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KbLine)
    .filter((line) => line.id.startsWith('tuxpaint-stamp:'));
  const byId = new Map(kb.map((line) => [line.id, line]));
  const entityId = (dir: string, stem: string) => `tuxpaint-stamp:${dir}/${stem}`;

  // Every photograph of a kind but the KB's is a query, so its own stamp entity leaves the KB
  // (it would otherwise be a second right answer with the very same picture).
  const removed = new Set<string>();
  const queries: object[] = [];
  const skipped: string[] = [];
  let counter = 0;
  for (const group of PHOTO_KINDS) {
    const [kbStem, ...queryStems] = [...group.stems].sort();
    const kbEntity = byId.get(entityId(group.dir, kbStem!));
    if (!kbEntity) {
      skipped.push(`${group.kind}: ${group.dir}/${kbStem} is not a benchmark entity`);
      continue;
    }
    const kbPicture = kbEntity.images[0]!;
    const kbHash = await dHashOf(path.resolve(PROJECT_ROOT, kbPicture.path));
    for (const stem of queryStems) {
      removed.add(entityId(group.dir, stem));
      const image = path.join(STAMPS, group.dir, `${stem}.png`);
      if (!existsSync(path.resolve(PROJECT_ROOT, image))) {
        skipped.push(`${group.kind}: ${image} missing`);
        continue;
      }
      const distance = hammingDistance(await dHashOf(path.resolve(PROJECT_ROOT, image)), kbHash);
      if (distance <= NEAR_DUPLICATE_MAX_DISTANCE) {
        skipped.push(`${group.kind}: ${stem} is a near-copy of ${kbStem} (dHash ${distance})`);
        continue;
      }
      const { width, height } = await imageSize(path.resolve(PROJECT_ROOT, image));
      const box = [0, 0, width, height];
      const gold = kbEntity.id;
      const provenance = [
        {
          path: image,
          package: kbPicture.package,
          version: kbPicture.version,
          licence: kbPicture.licence,
          file: `usr/share/tuxpaint/stamps/${group.dir}/${stem}.png`,
          style: 'tuxpaint-photo',
          artist: 'Tux Paint contributors',
          role: 'object',
        },
      ];
      const base = { split: 'test', domain: kbEntity.domain, image, width, height, provenance };
      counter += 1;
      queries.push({
        id: `xp-${String(counter).padStart(4, '0')}`,
        kind: 'image-only',
        ...base,
        caption: 'A picture.',
        mentions: [],
        regions: [{ id: 'r1', box, gold }],
        pairs: [],
      });
      const caption = `A picture of the ${group.kind}.`;
      const start = caption.indexOf(group.kind);
      queries.push({
        id: `xp-${String(counter).padStart(4, '0')}-named`,
        kind: 'named',
        ...base,
        caption,
        mentions: [{ id: 'm1', start, end: start + group.kind.length, text: group.kind, gold }],
        regions: [{ id: 'r1', box, gold }],
        pairs: [{ mention: 'm1', region: 'r1' }],
      });
    }
  }
  const kbLines = kb.filter((line) => !removed.has(line.id));
  for (const reason of skipped) log(`skipped ${reason}`);
  mkdirSync(path.join(outDir, 'photos'), { recursive: true });
  await writeJsonLines(path.join(outDir, 'photos/kb.jsonl'), kbLines);
  await writeJsonLines(path.join(outDir, 'photos/queries.jsonl'), queries);
  const rel = (file: string) => path.relative(PROJECT_ROOT, file);
  const imageOnly = queries.length / 2;
  writeFileSync(
    path.join(outDir, 'manifest.json'),
    `${JSON.stringify(
      {
        roles: { photos: 'test' },
        sources: {
          photos: {
            split: 'test',
            kb: rel(path.join(outDir, 'photos/kb.jsonl')),
            queries: rel(path.join(outDir, 'photos/queries.jsonl')),
            kbEntities: kbLines.length,
            kinds: PHOTO_KINDS.length,
            queriesByKind: { 'image-only': imageOnly, named: imageOnly, scene: 0 },
            skipped,
          },
        },
      },
      null,
      2,
    )}\n`,
  );
  log(
    `${kbLines.length} KB entities, ${imageOnly} photographs as queries, ${skipped.length} skipped`,
  );
}

await main();
