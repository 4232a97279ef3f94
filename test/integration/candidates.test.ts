import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixtureNations, readFixture, toDataUrl } from '../helpers/fixtures.js';
import { postMultipart, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;

interface CandidateData {
  candidates: {
    score: number;
    entity: { id: string; name: string };
    generators: { generator: string; score: number; rank: number; matchedName: string | null }[];
  }[];
}

const CANDIDATES = `query ($mention: String!, $domain: String, $limit: Int) {
  candidates(mention: $mention, domain: $domain, limit: $limit) {
    score entity { id name } generators { generator score rank matchedName }
  }
}`;

const REGISTER = `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`;

beforeAll(async () => {
  t = await startTestApp();
  // The six real Freeciv nations of the fixture, as data URLs...
  for (const nation of loadFixtureNations().values()) {
    const result = await t.graphql(REGISTER, {
      input: {
        id: `${t.prefix}${nation.id}`,
        name: nation.name,
        aliases: nation.aliases,
        description: nation.description,
        domain: t.domain,
        tags: nation.tags,
        images: nation.images.map((image) => ({ dataUrl: toDataUrl(readFixture(image.path)) })),
      },
    });
    expect(result.errors).toBeUndefined();
  }
  // ...and one entity registered as a user would, over HTTP with a multipart upload.
  const usa = await postMultipart(
    t,
    {
      query: REGISTER,
      variables: {
        input: {
          id: `${t.prefix}usa`,
          name: 'United States of America',
          aliases: ['United States'],
          description:
            'A federal republic of fifty states that declared independence from Great Britain in 1776.',
          domain: t.domain,
          images: [{ upload: null }],
        },
      },
    },
    {
      0: {
        path: 'variables.input.images.0.upload',
        bytes: readFixture('test/fixtures/freeciv/flags/usa-large.png'),
        type: 'image/png',
      },
    },
  );
  expect(usa.errors).toBeUndefined();
});

afterAll(async () => {
  await t?.close();
});

async function candidates(mention: string, limit = 10) {
  const result = await t.graphql<CandidateData>(CANDIDATES, { mention, domain: t.domain, limit });
  expect(result.errors).toBeUndefined();
  return result.data?.candidates ?? [];
}

function generatorsOf(list: CandidateData['candidates'], id: string): string[] {
  return (list.find((c) => c.entity.id === `${t.prefix}${id}`)?.generators ?? [])
    .map((g) => g.generator)
    .sort();
}

describe('candidate generation against the real full-text indexes', () => {
  it('finds an entity from its acronym', async () => {
    const list = await candidates('USA');
    expect(list[0]?.entity.id).toBe(`${t.prefix}usa`);
    expect(generatorsOf(list, 'usa')).toContain('ACRONYM');
    expect(list[0]?.generators.find((g) => g.generator === 'ACRONYM')?.matchedName).toBe(
      'United States of America',
    );
  });

  it('finds the name from an acronym the other way round', async () => {
    const expansion = await candidates('U.S.A.');
    expect(generatorsOf(expansion, 'usa')).toContain('ACRONYM');
  });

  it('finds an entity whose name contains the mention, and one contained in the mention', async () => {
    const contained = await candidates('United States');
    expect(contained[0]?.entity.id).toBe(`${t.prefix}usa`);
    expect(generatorsOf(contained, 'usa')).toContain('CONTAINMENT');

    const containing = await candidates('the Roman legions');
    expect(generatorsOf(containing, 'freeciv-nation:roman')).toContain('CONTAINMENT');
  });

  it('finds an entity from its description alone through BM25', async () => {
    const list = await candidates('independence from Great Britain');
    expect(list[0]?.entity.id).toBe(`${t.prefix}usa`);
    // No name shares a word with the mention: no rule fires, the lexical hit is BM25's alone
    // (dense text retrieval, when a bundle is loaded, may find it too).
    const generators = generatorsOf(list, 'usa');
    expect(generators).toContain('BM25');
    expect(
      generators.filter((g) => ['SHARED_WORDS', 'CONTAINMENT', 'ACRONYM'].includes(g)),
    ).toEqual([]);
  });

  it('folds diacritics in both the index and the rules', async () => {
    const list = await candidates('Alanders');
    expect(list[0]?.entity.id).toBe(`${t.prefix}freeciv-nation:alander`);
    expect(generatorsOf(list, 'freeciv-nation:alander')).toEqual(
      expect.arrayContaining(['BM25', 'CONTAINMENT']),
    );
  });

  it('ranks the exact name first and keeps the shared-word neighbours', async () => {
    const list = await candidates('Holy Roman');
    expect(list[0]?.entity.id).toBe(`${t.prefix}freeciv-nation:holyroman`);
    expect(generatorsOf(list, 'freeciv-nation:roman')).toContain('SHARED_WORDS');
    const scores = list.map((c) => c.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('treats Lucene syntax in a mention as plain text', async () => {
    const list = await candidates('Roman* OR "AND" (holy)~ [x TO y]');
    expect(list.some((c) => c.entity.id === `${t.prefix}freeciv-nation:roman`)).toBe(true);
  });

  it('respects the limit and rejects a bad one', async () => {
    expect((await candidates('Roman', 1)).length).toBe(1);
    const bad = await t.graphql(CANDIDATES, { mention: 'Roman', domain: t.domain, limit: 0 });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('finds a newly registered entity at once', async () => {
    await t.graphql(REGISTER, {
      input: {
        id: `${t.prefix}nato`,
        name: 'North Atlantic Treaty Organization',
        domain: t.domain,
      },
    });
    const list = await candidates('NATO');
    expect(list[0]?.entity.id).toBe(`${t.prefix}nato`);
  });
});
