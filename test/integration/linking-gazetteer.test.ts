import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphGazetteer } from '../../src/linking/gazetteer.js';
import { detectMentions, type MentionSpan } from '../../src/linking/mentions.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let gazetteer: GraphGazetteer;

const REGISTER = `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`;

const ENTITIES = [
  { key: 'volga', name: 'Volga Germans', aliases: ['Wolgadeutsche'] },
  { key: 'zurich', name: 'Zürich', aliases: ['Züri'] },
  { key: 'helena', name: 'Saint Helena', aliases: ['St. Helena'] },
  // Short names that are parts of other words: never matched inside them.
  { key: 'ran', name: 'Ran', aliases: [] },
  { key: 'cook', name: 'Cook', aliases: ['Cookie Monster'] },
] as const;

const id = (key: string) => `${t.prefix}${key}`;

const found = (spans: readonly MentionSpan[]) =>
  spans.map((s) => ({ start: s.start, end: s.end, text: s.text, hints: s.entityHints }));

beforeAll(async () => {
  t = await startTestApp();
  for (const entity of ENTITIES) {
    const result = await t.graphql(REGISTER, {
      input: {
        id: id(entity.key),
        name: entity.name,
        aliases: entity.aliases,
        description: `Test entity ${entity.name} for the mention gazetteer.`,
        domain: t.domain,
      },
    });
    expect(result.errors).toBeUndefined();
  }
  gazetteer = new GraphGazetteer(t.graph);
});

afterAll(async () => {
  await t?.close();
});

describe('GraphGazetteer against the entity_names index', () => {
  it('finds a registered name with its offsets and entity', async () => {
    const caption = 'The flag of the Volga Germans in a forest.';
    const spans = await gazetteer.find(caption, t.domain);
    expect(found(spans)).toEqual([
      { start: 16, end: 29, text: 'Volga Germans', hints: [id('volga')] },
    ]);
    expect(spans[0]).toMatchObject({ source: 'GAZETTEER', score: 1 });
  });

  it('finds an alias', async () => {
    const spans = await gazetteer.find('A postcard from Züri, by the lake.', t.domain);
    expect(found(spans)).toEqual([{ start: 16, end: 20, text: 'Züri', hints: [id('zurich')] }]);
  });

  it('finds a name written in another case and without its diacritics, with a lower score', async () => {
    const caption = 'The ZURICH skyline and the wolgadeutsche.';
    const spans = await gazetteer.find(caption, t.domain);
    expect(found(spans)).toEqual([
      { start: 4, end: 10, text: 'ZURICH', hints: [id('zurich')] },
      { start: 27, end: 40, text: 'wolgadeutsche', hints: [id('volga')] },
    ]);
    expect(spans.map((s) => s.score)).toEqual([0.9, 0.9]);
  });

  it('matches folded punctuation ("St Helena" for "St. Helena")', async () => {
    const spans = await gazetteer.find('A stamp from St Helena.', t.domain);
    expect(found(spans)).toEqual([
      { start: 13, end: 22, text: 'St Helena', hints: [id('helena')] },
    ]);
  });

  it('does not match a word that is only part of a name, nor a name inside a word', async () => {
    // "Volga" is part of "Volga Germans", "Cookie" of "Cookie Monster"; "Ran" is inside "France",
    // "Cook" inside "Cookies".
    const caption = 'A boat on the Volga, Cookies from France and the Cookie jar.';
    expect(await gazetteer.find(caption, t.domain)).toEqual([]);
  });

  it('finds nothing in a caption of stop words only, and stays within the domain', async () => {
    expect(await gazetteer.find('It is in the one of them.', t.domain)).toEqual([]);
    expect(await gazetteer.find('The Volga Germans.', `${t.domain}-other`)).toEqual([]);
  });

  it('reads a caption full of Lucene syntax literally', async () => {
    const caption = 'Zürich AND (Volga) OR "Saint Helena"~2 \\ [Ran TO Cook]* !? +-/:';
    const spans = await gazetteer.find(caption, t.domain);
    expect(spans.map((s) => s.text)).toEqual(['Zürich', 'Saint Helena', 'Ran', 'Cook']);
  });

  it('feeds detectMentions: graph names win over the noun phrases around them', async () => {
    const caption = 'The flag of the Volga Germans and a Cook in Zurich.';
    const spans = await detectMentions(caption, { gazetteer: gazetteer.forDomain(t.domain) });
    expect(spans.map((s) => [s.text, s.source, s.entityHints])).toEqual([
      ['flag', 'NOUN_PHRASE', undefined],
      ['Volga Germans', 'GAZETTEER', [id('volga')]],
      ['Cook', 'GAZETTEER', [id('cook')]],
      ['Zurich', 'GAZETTEER', [id('zurich')]],
    ]);
  });
});
