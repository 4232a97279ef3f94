/**
 * What region proposals (src/linking/regions.ts) recover of the benchmark's gold boxes, and what
 * they cost: runs the RegionProposer over the bundle's vision models on the first N queries of
 * a split and prints region recall and precision at IoU >= 0.5 (one-to-one, greedy by IoU, as
 * the harness matches V-T-KG regions), overall and by query kind, and the milliseconds per image.
 *
 *   npx tsx eval/regions/score-regions.ts [--queries var/benchmark/queries.jsonl] [--split dev]
 *     [--limit 100] [--kind scene] [--max-regions 5] [--min-score X] [--detector-min-score X|default]
 *     [--sequential] [--no-contrast] [--json FILE]
 *
 * A measurement, not a test: timings depend on the machine and on what else it is doing (the
 * load average is printed). One warm-up image (the first) is proposed twice; its first run is
 * not timed. Decoding is timed apart from proposing.
 */
import { toTuple } from '../../src/geometry/box.js';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/config.js';
import { decodeRgb } from '../../src/images/image-decoding.js';
import { createModelRegistry } from '../../src/inference/model-registry.js';
import {
  RegionProposer,
  type RegionProposal,
  type RegionSource,
  type RegionTimings,
} from '../../src/linking/regions.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { readGoldQueries, type Box, type GoldQuery } from '../harness/format.js';
import { machine } from '../harness/machine.js';
import { iou, IOU_THRESHOLD, matchBoxes, percentile } from '../harness/scoring.js';

const USAGE = `usage: score-regions.ts [--queries var/benchmark/queries.jsonl] [--split dev] [--limit 100]
  [--kind KIND] [--max-regions 5] [--min-score X] [--detector-min-score X|default] [--sequential]
  [--no-contrast] [--ocr-min-side N] [--no-ocr] [--json FILE]
  --ocr-min-side: the OCR detector's detMinSideLen (default: the bundle's).
  --no-ocr: without the OCR's text lines.
  --no-contrast: without the contrast proposals (src/linking/contrast-regions.ts).
  --detector-min-score: the proposer's detector floor (default: the proposer's; "default": the
    detector's own).`;

/** Recall is also reported with these many top regions (and with all proposals, uncapped). */
const EXTRA_CAPS = [1, 10] as const;
const UNCAPPED = 1000;

interface QueryResult {
  readonly id: string;
  readonly kind: string;
  readonly domain: string;
  readonly gold: readonly Box[];
  /** All merged proposals, best first (uncapped). */
  readonly proposals: readonly RegionProposal[];
  readonly decodeMs: number;
  readonly timings: RegionTimings;
}

interface Counts {
  queries: number;
  gold: number;
  /** Gold boxes matched by a proposal (= proposals matched: the matching is one-to-one). */
  matched: number;
  proposed: number;
}

const toBox = (p: RegionProposal): Box => toTuple(p.box);

function count(results: readonly QueryResult[], cap: number): Counts {
  const counts: Counts = { queries: 0, gold: 0, matched: 0, proposed: 0 };
  for (const result of results) {
    const proposed = result.proposals.slice(0, cap).map(toBox);
    counts.queries += 1;
    counts.gold += result.gold.length;
    counts.proposed += proposed.length;
    counts.matched += matchBoxes(result.gold, proposed, IOU_THRESHOLD).filter((p) => p >= 0).length;
  }
  return counts;
}

const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '–');
const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const median = (values: readonly number[]) => Math.round(percentile(sorted(values), 0.5) * 10) / 10;
const p95 = (values: readonly number[]) => Math.round(percentile(sorted(values), 0.95) * 10) / 10;

function row(label: string, c: Counts): string {
  return `| ${label} | ${c.queries} | ${c.gold} | ${c.matched} | ${pct(c.matched, c.gold)} | ${c.proposed} | ${pct(c.matched, c.proposed)} |`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      queries: { type: 'string', default: 'var/benchmark/queries.jsonl' },
      split: { type: 'string', default: 'dev' },
      limit: { type: 'string', default: '100' },
      kind: { type: 'string' },
      'max-regions': { type: 'string', default: '5' },
      'min-score': { type: 'string' },
      sequential: { type: 'boolean', default: false },
      'no-contrast': { type: 'boolean', default: false },
      'detector-min-score': { type: 'string' },
      'ocr-min-side': { type: 'string' },
      'no-ocr': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const limit = Number(values.limit);
  const maxRegions = Number(values['max-regions']);
  const minScore = values['min-score'] === undefined ? undefined : Number(values['min-score']);
  if (!(Number.isInteger(limit) && limit > 0) || !(Number.isInteger(maxRegions) && maxRegions > 0))
    throw new Error(`--limit and --max-regions must be positive integers\n${USAGE}`);

  const all = await readGoldQueries(path.resolve(PROJECT_ROOT, values.queries));
  const queries: GoldQuery[] = all
    .filter(
      (q) => q.split === values.split && (values.kind === undefined || q.kind === values.kind),
    )
    .slice(0, limit);
  if (queries.length === 0) throw new Error('no queries match');

  const config = parseConfig(process.env, PROJECT_ROOT);
  const registry = await createModelRegistry(config.models, createLogger('error'));
  const loadStarted = performance.now();
  const vision = await registry.vision();
  const visionLoadMs = performance.now() - loadStarted;
  const detectorFloor = values['detector-min-score'];
  const ocrMinSide = values['ocr-min-side'];
  const ocr = values['no-ocr']
    ? null
    : ocrMinSide === undefined || !vision.ocr
      ? vision.ocr
      : vision.ocr.withOptions({ detMinSideLen: Number(ocrMinSide) });
  const proposer = new RegionProposer(
    { ...vision, ocr },
    {
      concurrent: !values.sequential,
      ...(values['no-contrast'] ? { contrast: null } : {}),
      ...(detectorFloor === undefined
        ? {}
        : { detectorMinScore: detectorFloor === 'default' ? null : Number(detectorFloor) }),
    },
  );
  const options = { maxRegions: UNCAPPED, ...(minScore !== undefined ? { minScore } : {}) };

  const loadBefore = os.loadavg();
  const results: QueryResult[] = [];
  for (const [index, query] of queries.entries()) {
    const bytes = await readFile(path.resolve(PROJECT_ROOT, query.image));
    const decodeStarted = performance.now();
    const image = await decodeRgb(bytes, config.images);
    const decodeMs = performance.now() - decodeStarted;
    if (index === 0) await proposer.propose(image, options); // warm-up, not timed
    const { regions, timings } = await proposer.propose(image, options);
    results.push({
      id: query.id,
      kind: query.kind,
      domain: query.domain,
      gold: query.regions.map((r) => r.box),
      proposals: regions,
      decodeMs,
      timings,
    });
    if ((index + 1) % 25 === 0) process.stderr.write(`${index + 1}/${queries.length}\n`);
  }
  const loadAfter = os.loadavg();
  await registry.close();

  const out: string[] = [];
  const m = machine();
  const threads = config.models.intraOpThreads === 0 ? 'default' : config.models.intraOpThreads;
  out.push(
    `${queries.length} ${values.split} queries${values.kind ? ` of kind ${values.kind}` : ''} (the first of ${values.queries}), ` +
      `${m.cpu} (${m.cores} cores), Node ${m.node}, ONNX Runtime intra-op threads ${threads}, ` +
      `${proposer.config.concurrent ? 'models run concurrently' : 'models run one after another'}, ` +
      `detector floor ${proposer.config.detectorMinScore ?? "the detector's own"}, ` +
      `OCR ${ocr ? `detMinSideLen ${ocr.options.detMinSideLen}` : 'off'}, ` +
      `contrast proposals ${proposer.config.contrast ? `on (weight ${proposer.config.contrastWeight})` : 'off'}; ` +
      `load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after; vision models loaded in ${Math.round(visionLoadMs)} ms.`,
    '',
    `Region recall and precision at IoU >= ${IOU_THRESHOLD} (one-to-one, greedy by IoU), top ${maxRegions} proposals${minScore !== undefined ? `, minScore ${minScore}` : ''}:`,
    '',
    '| queries | n | gold boxes | recovered | recall | proposals | precision |',
    '| --- | --: | --: | --: | --: | --: | --: |',
    row('all', count(results, maxRegions)),
  );
  const groups = (key: (r: QueryResult) => string, prefix: string) => {
    for (const value of [...new Set(results.map(key))].sort()) {
      const members = results.filter((r) => key(r) === value);
      out.push(row(`${prefix}${value}`, count(members, maxRegions)));
    }
  };
  groups((r) => r.kind, 'kind ');
  groups((r) => r.domain.split('/')[0]!, 'source ');
  for (const cap of [...EXTRA_CAPS, UNCAPPED]) {
    if (cap === maxRegions) continue;
    out.push(row(cap === UNCAPPED ? 'all, uncapped' : `all, top ${cap}`, count(results, cap)));
  }

  // Where the proposals came from, and how close the best of them gets to each gold box.
  const bySource = new Map<RegionSource, { proposed: number; matched: number }>();
  const labels = new Map<string, number>();
  const bestIous: number[] = [];
  let fallback = 0;
  for (const result of results) {
    const top = result.proposals.slice(0, maxRegions);
    const match = matchBoxes(result.gold, top.map(toBox), IOU_THRESHOLD);
    for (const [index, proposal] of top.entries()) {
      const entry = bySource.get(proposal.source) ?? { proposed: 0, matched: 0 };
      entry.proposed += 1;
      if (match.includes(index)) entry.matched += 1;
      bySource.set(proposal.source, entry);
      if (proposal.source === 'DETECTOR' || proposal.source === 'FACE') {
        labels.set(proposal.label ?? '', (labels.get(proposal.label ?? '') ?? 0) + 1);
      }
    }
    if (top.length === 1 && top[0]!.source === 'WHOLE_IMAGE') fallback += 1;
    for (const gold of result.gold) {
      bestIous.push(Math.max(0, ...result.proposals.map((p) => iou(gold, toBox(p)))));
    }
  }
  out.push(
    '',
    `By source (top ${maxRegions}): ` +
      [...bySource.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([source, c]) => `${source} ${c.matched}/${c.proposed} matched`)
        .join(', ') +
      `. Images with only the WHOLE_IMAGE fallback: ${fallback}/${results.length}.`,
    `Detector/face labels proposed: ${
      [...labels.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([label, n]) => `${label} ${n}`)
        .join(', ') || 'none'
    }.`,
    `Best IoU of any proposal with each gold box: median ${median(bestIous).toFixed(2)}, ` +
      `>= 0.3 for ${bestIous.filter((v) => v >= 0.3).length}/${bestIous.length}, ` +
      `>= 0.5 for ${bestIous.filter((v) => v >= 0.5).length}/${bestIous.length}.`,
  );

  const stage = (key: keyof RegionTimings) => results.map((r) => r.timings[key]);
  out.push(
    '',
    'Milliseconds per image (median / p95):',
    '',
    '| decode | detector | faces | ocr | contrast | merge | propose (total) |',
    '| --: | --: | --: | --: | --: | --: | --: |',
    `| ${median(results.map((r) => r.decodeMs))} / ${p95(results.map((r) => r.decodeMs))} | ` +
      (['detector', 'faces', 'ocr', 'contrast', 'merge', 'total'] as const)
        .map((key) => `${median(stage(key))} / ${p95(stage(key))}`)
        .join(' | ') +
      ' |',
  );
  process.stdout.write(`${out.join('\n')}\n`);

  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify(
        {
          machine: m,
          split: values.split,
          kind: values.kind ?? null,
          concurrent: proposer.config.concurrent,
          maxRegions,
          minScore: minScore ?? null,
          results: results.map((r) => ({
            ...r,
            proposals: r.proposals.slice(0, maxRegions),
          })),
        },
        null,
        1,
      )}\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
