import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  importLineToEntityInput,
  readImportBatches,
  type ImportLine,
} from '../../src/cli/import-file.js';
import { cropRgb } from '../../src/inference/vision/image-preprocess.js';
import { decodeRgb } from '../helpers/decode.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { toDataUrl } from '../helpers/fixtures.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * The acceptance check at scale: every Freeciv nation (555) and every Tux Paint stamp
 * (about 1,000), real data extracted by the test command, registered with their images; then
 * candidates must find entities from paraphrases of their descriptions and from crops of their
 * images among all of them.
 */
const SOURCES = ['var/demo/freeciv/entities.jsonl', 'var/demo/tuxpaint/entities.jsonl'];

let t: TestApp;
const stamps: ImportLine[] = [];
let registered = 0;

beforeAll(async () => {
  t = await startTestApp();
  for (const source of SOURCES) {
    for await (const batch of readImportBatches(path.join(PROJECT_ROOT, source), 50)) {
      const inputs = await Promise.all(
        batch.map(async (line) => ({
          ...(await importLineToEntityInput(line, PROJECT_ROOT)),
          id: `${t.prefix}${line.id}`,
        })),
      );
      await t.app.services.entities.registerMany(inputs);
      registered += inputs.length;
      if (line0IsStamp(batch)) stamps.push(...batch);
    }
  }
}, 900_000);

function line0IsStamp(batch: readonly ImportLine[]): boolean {
  return batch[0]?.domain === 'tuxpaint-stamps';
}

afterAll(async () => {
  await t?.close();
}, 300_000);

interface CandidateData {
  candidates: { entity: { id: string }; generators: { generator: string }[] }[];
}

/**
 * The first `limit` of this file's entities among the candidates. Other test files register some
 * of the same real entities at the same time (the Freeciv nations), under their own ids; ranked
 * among all of them, this file's copy of a nation fell behind theirs on ties (a CI run: the Inca
 * at rank 8 instead of 2). Asking for more and keeping this file's ids ranks among the corpus
 * this file registered, whatever runs beside it.
 */
async function topIds(variables: Record<string, unknown>, limit = 5): Promise<string[]> {
  const result = await t.graphql<CandidateData>(
    `query ($mention: String, $image: ImageInput, $limit: Int) {
      candidates(mention: $mention, image: $image, limit: $limit) { entity { id } generators { generator } }
    }`,
    { ...variables, limit: Math.min(100, limit * 10) },
  );
  expect(result.errors).toBeUndefined();
  return (result.data?.candidates ?? [])
    .map((candidate) => candidate.entity.id)
    .filter((id) => id.startsWith(t.prefix))
    .slice(0, limit);
}

describe('candidate generation among all real entities', () => {
  it('registered more than 1,000 real entities', () => {
    expect(registered).toBeGreaterThan(1000);
  });

  it('finds nations from paraphrases of their legends', async () => {
    // Written by hand from each legend, avoiding the nation's names.
    const paraphrases: [string, string][] = [
      [
        'egyptian',
        'an old civilisation whose many people lived off the mud left each year when the great river overflowed',
      ],
      [
        'inca',
        'an Andean people who built thousands of kilometres of roads down the Pacific side of the continent shortly before Spanish invaders came',
      ],
      [
        'mongol',
        'horsemen who, once united under one great khan, seized the biggest empire ever across most of Asia and were feared for cruelty in battle',
      ],
      [
        'viking',
        'Norse seafarers who plundered and traded on European shores and later ruled Normandy and part of Sicily',
      ],
      [
        'swiss',
        'an alpine confederation whose federal constitution dates from the middle of the nineteenth century',
      ],
    ];
    const ranks: Record<string, number | null> = {};
    for (const [key, paraphrase] of paraphrases) {
      const index = (await topIds({ mention: paraphrase }, 20)).indexOf(
        `${t.prefix}freeciv-nation:${key}`,
      );
      ranks[key] = index === -1 ? null : index + 1;
    }
    console.log('paraphrase ranks among', registered, 'entities (null: not in the top 20):', ranks);
    const inTopFive = Object.values(ranks).filter((rank) => rank !== null && rank <= 5).length;
    expect(inTopFive).toBeGreaterThanOrEqual(4);
  });

  it('finds stamps from crops of their images', async () => {
    // Every 97th stamp: a deterministic spread over the categories.
    const chosen = stamps.filter((_, index) => index % 97 === 0).slice(0, 8);
    expect(chosen.length).toBeGreaterThanOrEqual(8);
    let atRankOne = 0;
    for (const stamp of chosen) {
      const file = stamp.images?.[0]?.path ?? '';
      const image = await decodeRgb(await sharp(path.join(PROJECT_ROOT, file)).png().toBuffer());
      // The central 70% of the picture: a crop the index has never seen.
      const crop = await cropRgb(image, {
        x: image.width * 0.15,
        y: image.height * 0.15,
        width: image.width * 0.7,
        height: image.height * 0.7,
      });
      const png = await sharp(crop.rgb, {
        raw: { width: crop.width, height: crop.height, channels: 3 },
      })
        .png()
        .toBuffer();
      const ids = await topIds({ image: { dataUrl: toDataUrl(png) } });
      expect(ids, stamp.id).toContain(`${t.prefix}${stamp.id}`);
      if (ids[0] === `${t.prefix}${stamp.id}`) atRankOne += 1;
    }
    expect(atRankOne).toBeGreaterThanOrEqual(6);
  });
});
