import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyTermQuery } from '../../src/candidates/lucene.js';
import { tokenize } from '../../src/candidates/text-normalize.js';
import type { ImportLine } from '../../src/cli/import-file.js';
import {
  ENTITY_KEY,
  searchFullText,
  searchFullTextMany,
} from '../../src/neo4j/entity-repository.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import {
  CandidateService,
  type PreparedCandidateQuery,
} from '../../src/services/candidate-service.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * `CandidateService.searchKeysMany` (issue 13: one round trip for the text side of `linkImage`)
 * gives for each query exactly the list `searchKeys` gives for it alone, on real entities: the
 * Freeciv nations extracted by the test command (var/demo/freeciv), registered without images.
 */
const NATIONS = 'var/demo/freeciv/entities.jsonl';
const COUNT = 200;

let t: TestApp;
/** A second app on the same graph with the in-process vector index (started after registration). */
let memory: TestApp;
let service: CandidateService;
let nations: ImportLine[];

beforeAll(async () => {
  t = await startTestApp();
  nations = readFileSync(path.join(PROJECT_ROOT, NATIONS), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(0, COUNT)
    .map((line) => JSON.parse(line) as ImportLine);
  const inputs = nations.map((line) => ({
    id: `${t.prefix}${line.id}`,
    name: line.name,
    aliases: line.aliases ?? [],
    description: line.description ?? null,
    domain: t.domain,
    images: [],
  }));
  for (let start = 0; start < inputs.length; start += 50) {
    await t.app.services.entities.registerMany(inputs.slice(start, start + 50));
  }
  service = new CandidateService(t.app.backend.graph, t.config.limits, t.app.backend.encoders);
  memory = await startTestApp({ POLYLINK_VECTOR_SEARCH: 'memory' });
}, 600_000);

afterAll(async () => {
  await Promise.all([t?.close(), memory?.close()]);
}, 120_000);

/** Mention texts as a caption's would be: names, aliases, initialisms, phrases, noise. */
function mentionTexts(): string[] {
  const names = nations.slice(0, 12).map((line) => line.name);
  const aliases = nations.slice(12, 20).flatMap((line) => (line.aliases ?? []).slice(0, 1));
  return [
    ...names,
    ...aliases,
    'the Aztec Empire',
    'ancient Greeks and Romans',
    'a people of the Horn of Africa',
    'USA',
    'Zulu',
    'Empire',
    '!!!',
    'the',
  ];
}

async function queriesFor(
  texts: readonly string[],
  domain: string | null,
  limit: number,
): Promise<PreparedCandidateQuery[]> {
  const text = t.app.backend.encoders?.text ?? null;
  return Promise.all(
    texts.map(async (mention) => ({
      mention,
      textVector: text ? await text.encodeQuery(mention) : null,
      imageVector: null,
      limit,
      domain,
    })),
  );
}

const shape = (list: Awaited<ReturnType<CandidateService['searchKeys']>>) =>
  list.map((c) => [c.entity, c.score, c.generators]);

describe('searchKeysMany', () => {
  it('registered the real entities', () => {
    expect(nations).toHaveLength(COUNT);
  });

  for (const [label, domainOf, limit] of [
    ['in a domain', () => t.domain, 100],
    ['in every domain', () => null, 30],
  ] as const) {
    it(`gives each mention exactly its searchKeys list (${label}, ${limit} candidates)`, async () => {
      const queries = await queriesFor(mentionTexts(), domainOf(), limit);
      const batched = await service.searchKeysMany(queries);
      const alone = await Promise.all(queries.map((query) => service.searchKeys(query)));
      expect(batched).toHaveLength(queries.length);
      for (const [i, query] of queries.entries()) {
        expect([query.mention, shape(batched[i]!)]).toEqual([query.mention, shape(alone[i]!)]);
      }
      // Not vacuous: most lists are long and draw on the BM25, rule and dense generators.
      expect(batched.filter((list) => list.length >= 10).length).toBeGreaterThan(15);
      const generators = new Set(
        batched.flatMap((list) => list.flatMap((c) => c.generators.map((g) => g.generator))),
      );
      expect([...generators].sort()).toEqual(
        expect.arrayContaining(['BM25', 'CONTAINMENT', 'DENSE_TEXT', 'SHARED_WORDS']),
      );
    });
  }

  it('gives the same lists with the in-process vector index (POLYLINK_VECTOR_SEARCH=memory)', async () => {
    const inMemory = memory.app.services.candidates as CandidateService;
    const queries = await queriesFor(mentionTexts(), t.domain, 100);
    const batched = await inMemory.searchKeysMany(queries);
    const alone = await Promise.all(queries.map((query) => inMemory.searchKeys(query)));
    for (const [i, query] of queries.entries()) {
      expect([query.mention, shape(batched[i]!)]).toEqual([query.mention, shape(alone[i]!)]);
    }
    expect(batched.flat().some((c) => c.generators.some((g) => g.generator === 'DENSE_TEXT'))).toBe(
      true,
    );
  });

  for (const [label, serviceOf] of [
    ['Neo4j vector indexes', () => service],
    ['in-process vector index', () => memory.app.services.candidates as CandidateService],
  ] as const) {
    it(`gives the same lists when the text vectors arrive after the searches start (${label})`, async () => {
      const searcher = serviceOf();
      const queries = await queriesFor(mentionTexts(), t.domain, 100);
      const given = await searcher.searchKeysMany(queries);
      // As linkImage's caption side calls it: no vectors in the queries, a promise of them that
      // settles only after the BM25 and rule reads have gone out.
      const later = new Promise<(Float32Array | null)[]>((resolve) =>
        setTimeout(() => resolve(queries.map((query) => query.textVector)), 50),
      );
      const pending = await searcher.searchKeysMany(
        queries.map((query) => ({ ...query, textVector: null })),
        later,
      );
      expect(pending.map(shape)).toEqual(given.map(shape));
      expect(
        pending.flat().some((c) => c.generators.some((g) => g.generator === 'DENSE_TEXT')),
      ).toBe(true);
    });
  }

  it('fails, and leaves no rejection unheard, when the text vectors fail', async () => {
    const queries = await queriesFor(mentionTexts().slice(0, 3), t.domain, 10);
    const failure = new Error('encoder failed');
    await expect(service.searchKeysMany(queries, Promise.reject(failure))).rejects.toBe(failure);
    await expect(service.searchKeysMany([], Promise.reject(failure))).rejects.toBe(failure);
  });

  it('answers no queries with no lists', async () => {
    expect(await service.searchKeysMany([])).toEqual([]);
  });

  // POLYLINK_BENCH_TEXT_SIDE=1: the text side of a caption's mentions, per mention (as before)
  // against batched, at 1,000 candidates; medians of alternating runs, printed with the load.
  it.runIf(process.env.POLYLINK_BENCH_TEXT_SIDE === '1')(
    'times the batched text side against one search per mention',
    async () => {
      const queries = await queriesFor(mentionTexts().slice(0, 6), t.domain, 1000);
      const perMention: number[] = [];
      const batched: number[] = [];
      // The full-text part alone: each query in turn in one transaction, against one call per index.
      const searches = queries.map(({ mention, domain }) => ({
        luceneQuery: anyTermQuery(tokenize(mention)),
        limit: 1000,
        domain,
      }));
      const oneTransaction: number[] = [];
      const unwound: number[] = [];
      for (let round = 0; round < 25; round += 1) {
        let start = performance.now();
        await Promise.all(queries.map((query) => service.searchKeys(query)));
        perMention.push(performance.now() - start);
        start = performance.now();
        await service.searchKeysMany(queries);
        batched.push(performance.now() - start);
        start = performance.now();
        await t.graph.read('bench', async (tx) => {
          for (const { luceneQuery, limit, domain } of searches) {
            for (const index of ['entity_text', 'entity_names'] as const) {
              await searchFullText(tx, index, luceneQuery!, {
                limit,
                domain,
                projection: ENTITY_KEY,
              });
            }
          }
        });
        oneTransaction.push(performance.now() - start);
        start = performance.now();
        await t.graph.read('bench', async (tx) => {
          for (const index of ['entity_text', 'entity_names'] as const) {
            await searchFullTextMany(tx, index, searches, ENTITY_KEY);
          }
        });
        unwound.push(performance.now() - start);
      }
      const median = (values: number[]) =>
        [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      console.info(
        JSON.stringify({
          mentions: queries.length,
          candidates: 1000,
          rounds: 25,
          perMentionMedianMs: Number(median(perMention.slice(5)).toFixed(1)),
          batchedMedianMs: Number(median(batched.slice(5)).toFixed(1)),
          fullTextOneTransactionMedianMs: Number(median(oneTransaction.slice(5)).toFixed(1)),
          fullTextUnwindMedianMs: Number(median(unwound.slice(5)).toFixed(1)),
          loadAverage: loadavg().map((v) => Number(v.toFixed(2))),
        }),
      );
    },
    300_000,
  );
});
