import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseJsonLines, readGoldQueries, type GoldQuery } from '../harness/format.js';
import { pct } from '../harness/report.js';
import { contentTokens } from '../../src/candidates/text-normalize.js';
import { findNamesInCaption } from '../../src/linking/gazetteer.js';
import {
  detectMentions,
  type Gazetteer,
  type MentionSpan,
  type OverlapPolicy,
} from '../../src/linking/mentions.js';
import type { EntityNames } from '../../src/neo4j/entity-repository.js';

/**
 * What mention detection costs in V-T-KG, where the system finds its own mentions: precision and
 * recall of the detected spans against the gold mention spans of the benchmark, with compromise
 * alone (named entities and noun phrases; no gazetteer, so no database). Two matchings: exact
 * span (the harness's rule: only these can become correct links) and overlap (one-to-one, greedily
 * by the longest shared stretch), which shows how many misses are boundary disagreements.
 *
 * With `--kb`, a second run adds a gazetteer of the benchmark KB's names and aliases, held in
 * memory: the entities sharing a content word with the caption stand in for the `entity_names`
 * pool (no pool limit), and their names are found exactly as GraphGazetteer finds them; it is
 * scored under both overlap policies (SOURCE_FIRST, the default, and LONGEST_FIRST).
 */

const USAGE = `usage: score-mentions.ts [--gold var/benchmark/queries.jsonl] [--split dev] [--limit 32]
  [--kb var/benchmark/kb.jsonl]   also score compromise + a gazetteer of the KB's names
  [--misses N]   also print N queries (not riddles) with a missed gold mention`;

type Range = readonly [number, number];

export interface Counts {
  queries: number;
  gold: number;
  predicted: number;
  exact: number;
  overlap: number;
}

export function emptyCounts(): Counts {
  return { queries: 0, gold: 0, predicted: 0, exact: 0, overlap: 0 };
}

/** Gold spans found with exactly the same offsets (each counted once). */
export function exactMatches(gold: readonly Range[], predicted: readonly Range[]): number {
  const keys = new Set(predicted.map(([start, end]) => `${start}:${end}`));
  return [...new Set(gold.map(([start, end]) => `${start}:${end}`))].filter((key) => keys.has(key))
    .length;
}

/** One-to-one matching of overlapping spans, longest shared stretch first. */
export function overlapMatches(gold: readonly Range[], predicted: readonly Range[]): number {
  const pairs: { g: number; p: number; shared: number }[] = [];
  gold.forEach(([gs, ge], g) =>
    predicted.forEach(([ps, pe], p) => {
      const shared = Math.min(ge, pe) - Math.max(gs, ps);
      if (shared > 0) pairs.push({ g, p, shared });
    }),
  );
  pairs.sort((a, b) => b.shared - a.shared || a.g - b.g || a.p - b.p);
  const usedGold = new Set<number>();
  const usedPredicted = new Set<number>();
  for (const { g, p } of pairs) {
    if (usedGold.has(g) || usedPredicted.has(p)) continue;
    usedGold.add(g);
    usedPredicted.add(p);
  }
  return usedGold.size;
}

function add(counts: Counts, gold: readonly Range[], predicted: readonly Range[]): void {
  counts.queries += 1;
  counts.gold += gold.length;
  counts.predicted += predicted.length;
  counts.exact += exactMatches(gold, predicted);
  counts.overlap += overlapMatches(gold, predicted);
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function f1(precision: number | null, recall: number | null): number | null {
  if (precision === null || recall === null || precision + recall === 0) return null;
  return (2 * precision * recall) / (precision + recall);
}

function row(label: string, c: Counts): string {
  const exactP = ratio(c.exact, c.predicted);
  const exactR = ratio(c.exact, c.gold);
  const overlapP = ratio(c.overlap, c.predicted);
  const overlapR = ratio(c.overlap, c.gold);
  return `| ${label} | ${c.queries} | ${c.gold} | ${c.predicted} | ${pct(exactP)} | ${pct(exactR)} | ${pct(f1(exactP, exactR))} | ${pct(overlapP)} | ${pct(overlapR)} | ${pct(f1(overlapP, overlapR))} |`;
}

export interface ScoreMentionsOptions {
  readonly gold: string;
  readonly split: string;
  readonly limit: number;
  readonly misses: number;
  /** Names of the graph; null: compromise only. */
  readonly gazetteer?: Gazetteer | null;
  readonly overlapPolicy?: OverlapPolicy;
  /** What the run is called in the report. */
  readonly label?: string;
}

export interface MentionScores {
  readonly overall: Counts;
  /** Without the "riddle" queries, whose one gold mention is the whole caption. */
  readonly withoutRiddles: Counts;
  readonly byKind: ReadonlyMap<string, Counts>;
  readonly byDomain: ReadonlyMap<string, Counts>;
  readonly report: string;
}

const ranges = (spans: readonly { start: number; end: number }[]): Range[] =>
  spans.map((span) => [span.start, span.end]);

export async function scoreMentions(options: ScoreMentionsOptions): Promise<MentionScores> {
  const queries = (await readGoldQueries(options.gold)).filter((q) => q.split === options.split);
  if (queries.length === 0) throw new Error(`no queries of split "${options.split}"`);
  const overall = emptyCounts();
  const withoutRiddles = emptyCounts();
  const byKind = new Map<string, Counts>();
  const byDomain = new Map<string, Counts>();
  const missLines: string[] = [];
  const started = performance.now();
  for (const query of queries) {
    const detected = await detectMentions(query.caption, {
      limit: options.limit,
      gazetteer: options.gazetteer ?? null,
      overlapPolicy: options.overlapPolicy ?? 'SOURCE_FIRST',
    });
    const gold = ranges(query.mentions);
    const predicted = ranges(detected);
    add(overall, gold, predicted);
    if (query.kind !== 'riddle') add(withoutRiddles, gold, predicted);
    for (const [map, key] of [
      [byKind, query.kind],
      [byDomain, query.domain.split('/')[0] ?? query.domain],
    ] as const) {
      const counts = map.get(key) ?? emptyCounts();
      map.set(key, counts);
      add(counts, gold, predicted);
    }
    const missed = exactMatches(gold, predicted) < gold.length;
    // A riddle's gold mention is its whole caption: always missed, never instructive.
    if (query.kind !== 'riddle' && missed && missLines.length < options.misses) {
      missLines.push(describeMiss(query, detected));
    }
  }
  const milliseconds = performance.now() - started;
  const header = [
    '| queries | n | gold | detected | exact P | exact R | exact F1 | overlap P | overlap R | overlap F1 |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const lines = [
    `Mention detection, ${options.label ?? 'compromise only (named entities + noun phrases, no gazetteer)'}, split "${options.split}", limit ${options.limit}`,
    `(${queries.length} queries, ${(milliseconds / queries.length).toFixed(2)} ms per caption)`,
    '',
    ...header,
    row('all', overall),
    row('all but riddles', withoutRiddles),
    ...[...byKind.entries()].sort().map(([kind, c]) => row(`kind ${kind}`, c)),
    ...[...byDomain.entries()].sort().map(([domain, c]) => row(`domain ${domain}`, c)),
    '',
    'Riddles: the one gold mention is the whole caption, which no phrase detector proposes.',
  ];
  if (missLines.length > 0)
    lines.push('', 'Queries (not riddles) with a missed gold mention:', ...missLines);
  return { overall, withoutRiddles, byKind, byDomain, report: `${lines.join('\n')}\n` };
}

function describeMiss(query: GoldQuery, detected: readonly MentionSpan[]): string {
  const gold = query.mentions.map((m) => `[${m.start},${m.end}) ${JSON.stringify(m.text)}`);
  const found = detected.map((m) => `[${m.start},${m.end}) ${JSON.stringify(m.text)} ${m.source}`);
  return `- ${query.id} ${JSON.stringify(query.caption.slice(0, 160))}\n    gold: ${gold.join('; ')}\n    detected: ${found.join('; ')}`;
}

/** A gazetteer over a KB file's names, in memory: the pool is every entity sharing a content word. */
export async function kbGazetteer(file: string): Promise<Gazetteer> {
  const entities = parseJsonLines(await readFile(file, 'utf8'), file).map((value): EntityNames => {
    const { id, name, aliases } = value as Record<string, unknown>;
    if (typeof id !== 'string' || typeof name !== 'string') {
      throw new Error(`${file}: an entity without id or name`);
    }
    const list: unknown[] = Array.isArray(aliases) ? aliases : [];
    return { id, name, aliases: list.filter((alias) => typeof alias === 'string') };
  });
  const byWord = new Map<string, EntityNames[]>();
  for (const entity of entities) {
    const words = new Set([entity.name, ...entity.aliases].flatMap(contentTokens));
    for (const word of words) byWord.set(word, [...(byWord.get(word) ?? []), entity]);
  }
  return (caption) => {
    const pool = new Set(contentTokens(caption).flatMap((word) => byWord.get(word) ?? []));
    return Promise.resolve(findNamesInCaption(caption, [...pool]));
  };
}

function integerOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`--${name} must be an integer >= 0`);
  return parsed;
}

export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      gold: { type: 'string', default: 'var/benchmark/queries.jsonl' },
      split: { type: 'string', default: 'dev' },
      limit: { type: 'string' },
      misses: { type: 'string' },
      kb: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const options = {
    gold: values.gold,
    split: values.split,
    limit: integerOption(values.limit, 'limit', 32),
    misses: integerOption(values.misses, 'misses', 0),
  };
  process.stdout.write((await scoreMentions(options)).report);
  if (values.kb !== undefined) {
    const gazetteer = await kbGazetteer(values.kb);
    for (const overlapPolicy of ['SOURCE_FIRST', 'LONGEST_FIRST'] as const) {
      const label = `compromise + gazetteer of ${values.kb} (names and aliases, in memory), overlaps ${overlapPolicy}`;
      const { report } = await scoreMentions({ ...options, gazetteer, overlapPolicy, label });
      process.stdout.write(`\n${report}`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
