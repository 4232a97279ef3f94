/**
 * Property-based fuzz of the HTTP surface (issue 11), the short CI version: a few hundred seeded
 * inputs from test/fuzz/arbitraries.ts against the real app (real Neo4j, real models), each judged
 * by test/fuzz/oracle.ts. Every failure is collected, not only the first, so one run lists every
 * kind of problem; replay one with FUZZ_SEED and FUZZ_RUNS (the long run, bench/security/fuzz.ts,
 * also shrinks them to minimal counterexamples).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeInput, fuzzInputArbitrary, type FuzzInput } from '../fuzz/arbitraries.js';
import { failureCategory, runInput, type Target } from '../fuzz/oracle.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

const seed = Number(process.env.FUZZ_SEED ?? 1111);
const numRuns = Number(process.env.FUZZ_RUNS ?? 400);
const BUDGET_MS = 15_000;
const MAX_RSS_KIB = Number(process.env.FUZZ_MAX_RSS_MIB ?? 4096) * 1024;

/** Whether an anonymous request is refused: decides how the oracle judges the auth inputs. */
async function probeAuthEnforced(url: string): Promise<boolean> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  const text = await response.text();
  return text.includes('UNAUTHENTICATED');
}

describe('fuzz of the HTTP surface', () => {
  let app: TestApp;
  let idsBefore: Set<string>;

  const entityIds = async () =>
    new Set(
      (
        await app.graph.read('fuzz.ids', (tx) =>
          tx.query<{ id: string }>('MATCH (e:Entity) RETURN e.id AS id'),
        )
      ).map((row) => row.id),
    );

  beforeAll(async () => {
    app = await startTestApp();
    idsBefore = await entityIds();
  });

  afterAll(async () => {
    if (!app) return;
    // Random ids may not carry the test prefix: delete whatever the fuzz created.
    const created = [...(await entityIds())].filter((id) => !idsBefore.has(id));
    await app.graph.write('fuzz.cleanup', (tx) =>
      tx.query(
        `MATCH (e:Entity) WHERE e.id IN $ids
         OPTIONAL MATCH (e)-[:HAS_IMAGE]->(i:Image)
         DETACH DELETE e
         WITH DISTINCT i WHERE i IS NOT NULL AND NOT (i)--()
         DELETE i`,
        { ids: created },
      ),
    );
    await app.close();
  });

  it('answers every input in time, in JSON, with documented codes, no leaks, and stays up', async () => {
    const target: Target = {
      baseUrl: app.app.url,
      keys: { admin: app.adminKey, read: await app.createKey('read') },
      authEnforced: await probeAuthEnforced(app.app.graphqlUrl),
      budgetMs: BUDGET_MS,
      maxRssKiB: MAX_RSS_KIB,
      rssKiB: () => process.memoryUsage().rss / 1024,
    };
    console.info(`fuzz: seed ${seed}, ${numRuns} runs (FUZZ_SEED / FUZZ_RUNS to change)`);
    const found = new Map<
      string,
      { count: number; index: number; failure: string; input: FuzzInput }
    >();
    let index = 0;
    await fc.assert(
      fc.asyncProperty(fuzzInputArbitrary({ idPrefix: app.prefix }), async (input) => {
        const verdict = await runInput(target, input);
        for (const failure of verdict.failures) {
          const category = `${input.kind}/${failureCategory(failure)}`;
          const entry = found.get(category);
          if (entry) entry.count += 1;
          else found.set(category, { count: 1, index, failure, input });
        }
        index += 1;
        return true;
      }),
      { seed, numRuns },
    );
    const report = [...found.entries()].map(([category, entry]) => ({
      category,
      count: entry.count,
      firstAt: entry.index,
      failure: entry.failure.slice(0, 300),
      input: describeInput(entry.input),
    }));
    // One line per kind, clipped: an input can be megabytes.
    for (const entry of report)
      console.error(`fuzz failure: ${JSON.stringify(entry).slice(0, 4000)}`);
    expect(report.map((entry) => `${entry.category} ×${entry.count}`)).toEqual([]);
  }, 170_000);
});
