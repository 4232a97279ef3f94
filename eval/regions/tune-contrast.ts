/**
 * Chooses the contrast-proposal settings (src/linking/contrast-regions.ts) on dev scenes: runs the
 * bundle's vision models once per image (their raw outputs are cached in --cache), then, for each
 * setting of a JSON grid, re-runs only the contrast stage and the merge, and prints recall and
 * precision at IoU >= 0.5 at --max-regions, the contrast stage alone (uncapped) and its ms/image.
 *
 *   npx tsx eval/regions/tune-contrast.ts --set var/xdep/wesnoth/queries.jsonl:dev:80 \
 *     --set var/benchmark/queries.jsonl:dev:120 [--max-regions 10] [--cache /tmp/regions-cache.json]
 *     --grid '[{"contrastWeight":0.5,"contrast":{"levels":[10,16,24]}}, ...]'
 *
 * Dev sets only: the test sets are scored once, by score-regions.ts, with the chosen defaults.
 */
import { toTuple, type PixelBox } from '../../src/geometry/box.js';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/config.js';
import { decodeRgb, type DecodedImage } from '../../src/images/image-decoding.js';
import { createModelRegistry } from '../../src/inference/model-registry.js';
import {
  DEFAULT_CONTRAST_OPTIONS,
  type ContrastRegionOptions,
} from '../../src/linking/contrast-regions.js';
import {
  DEFAULT_REGION_PROPOSER_CONFIG,
  RegionProposer,
  type RegionModels,
  type RegionProposerConfig,
  type TextFragment,
} from '../../src/linking/regions.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { readGoldQueries, type Box } from '../harness/format.js';
import { IOU_THRESHOLD, matchBoxes } from '../harness/scoring.js';

interface Raw {
  objects: { box: PixelBox; label: string; score: number }[];
  faces: { box: PixelBox; score: number }[];
  text: TextFragment[];
}

interface Item {
  set: string;
  id: string;
  image: DecodedImage;
  gold: Box[];
  raw: Raw;
}

type Setting = Partial<Omit<RegionProposerConfig, 'contrast'>> & {
  contrast?: Partial<ContrastRegionOptions> | null;
};

function fakes(raw: Raw): RegionModels {
  return {
    detector: { detect: () => Promise.resolve(raw.objects) },
    faces: { detect: () => Promise.resolve(raw.faces) },
    ocr: { read: () => Promise.resolve(raw.text) },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      set: { type: 'string', multiple: true, default: [] },
      'max-regions': { type: 'string', default: '10' },
      cache: { type: 'string', default: '/tmp/polylink-regions-cache.json' },
      grid: { type: 'string', default: '[{}]' },
    },
  });
  const maxRegions = Number(values['max-regions']);
  const grid = JSON.parse(values.grid) as Setting[];
  const config = parseConfig(process.env, PROJECT_ROOT);
  const cache: Record<string, Raw> = existsSync(values.cache)
    ? (JSON.parse(await readFile(values.cache, 'utf8')) as Record<string, Raw>)
    : {};
  let registry: Awaited<ReturnType<typeof createModelRegistry>> | null = null;
  let vision: RegionModels | null = null;
  const items: Item[] = [];
  for (const spec of values.set) {
    const [file, split, limit] = spec.split(':');
    const queries = (await readGoldQueries(path.resolve(PROJECT_ROOT, file!)))
      .filter((q) => q.split === split && q.kind === 'scene')
      .slice(0, Number(limit));
    for (const q of queries) {
      const image = await decodeRgb(
        await readFile(path.resolve(PROJECT_ROOT, q.image)),
        config.images,
      );
      let raw = cache[q.image];
      if (!raw) {
        if (!vision) {
          registry = await createModelRegistry(config.models, createLogger('error'));
          vision = await registry.vision();
        }
        raw = {
          objects: [
            ...(await vision.detector!.detect(image, {
              minScore: DEFAULT_REGION_PROPOSER_CONFIG.detectorMinScore!,
            })),
          ],
          faces: [...(await vision.faces!.detect(image))],
          text: [...(await vision.ocr!.read(image))],
        };
        cache[q.image] = raw;
      }
      items.push({ set: spec, id: q.id, image, gold: q.regions.map((r) => r.box), raw });
    }
  }
  if (registry) {
    await registry.close();
    await writeFile(values.cache, JSON.stringify(cache));
  }

  const sets = values.set;
  const header = sets.map((s) => `${s} R@${maxRegions} / P / contrast-only R / ms`).join(' | ');
  process.stdout.write(`| setting | ${header} |\n`);
  for (const setting of grid) {
    const proposer = new RegionProposer(
      { detector: null, faces: null, ocr: null },
      {
        ...setting,
        contrast:
          setting.contrast === null
            ? null
            : { ...DEFAULT_CONTRAST_OPTIONS, ...(setting.contrast ?? {}) },
      },
    );
    const cells: string[] = [];
    for (const set of sets) {
      let gold = 0;
      let matched = 0;
      let proposed = 0;
      let contrastMatched = 0;
      const ms: number[] = [];
      for (const item of items.filter((i) => i.set === set)) {
        const withModels = new RegionProposer(fakes(item.raw), proposer.config);
        const { regions, timings } = await withModels.propose(item.image, { maxRegions: 1000 });
        ms.push(timings.contrast);
        const top = regions.slice(0, maxRegions).map((r): Box => toTuple(r.box));
        const contrastOnly = regions
          .filter((r) => r.source === 'CONTRAST')
          .map((r): Box => toTuple(r.box));
        gold += item.gold.length;
        proposed += top.length;
        matched += matchBoxes(item.gold, top, IOU_THRESHOLD).filter((p) => p >= 0).length;
        contrastMatched += matchBoxes(item.gold, contrastOnly, IOU_THRESHOLD).filter(
          (p) => p >= 0,
        ).length;
      }
      ms.sort((a, b) => a - b);
      cells.push(
        `${((100 * matched) / gold).toFixed(1)} / ${((100 * matched) / proposed).toFixed(1)} / ${((100 * contrastMatched) / gold).toFixed(1)} / ${ms[Math.floor(ms.length / 2)]!.toFixed(1)}`,
      );
    }
    process.stdout.write(`| ${JSON.stringify(setting)} | ${cells.join(' | ')} |\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
