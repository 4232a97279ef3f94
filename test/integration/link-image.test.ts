import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/images/image-store.js';
import { findLinkedImage } from '../../src/neo4j/link-repository.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { fixtureNation, loadedBundle, readFixture, toDataUrl } from '../helpers/fixtures.js';
import { removeLinkedImages, startTestApp, type TestApp } from '../helpers/test-app.js';

// linkImage end to end: real HTTP, real Neo4j, the real trained linker of the assembled bundle.
const { dir: bundleDir, hasLinker } = loadedBundle();

/** test/fixtures/benchmark: 20 KB entities and composed scenes with known answers. */
interface KbLine {
  id: string;
  name: string;
  aliases: string[];
  description: string;
  domain: string;
  tags: string[];
  images: { path: string }[];
}
interface QueryLine {
  id: string;
  caption: string;
  image: string;
  mentions: { id: string; start: number; end: number; text: string; gold: string | null }[];
  regions: { id: string; box: [number, number, number, number]; gold: string | null }[];
  pairs: { mention: string; region: string }[];
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(path.join(PROJECT_ROOT, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

const KB = readJsonl<KbLine>('test/fixtures/benchmark/kb.jsonl');
const QUERIES = new Map(
  readJsonl<QueryLine>('test/fixtures/benchmark/queries.jsonl').map((q) => [q.id, q]),
);

function query(id: string): QueryLine {
  const found = QUERIES.get(id);
  if (!found) throw new Error(`no fixture query ${id}`);
  return found;
}

function iou(
  a: { x: number; y: number; width: number; height: number },
  b: { x: number; y: number; width: number; height: number },
): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = w > 0 && h > 0 ? w * h : 0;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

const mimeOf = (file: string) => (file.endsWith('.svg') ? 'image/svg+xml' : 'image/png');

const LINK = `mutation ($input: LinkImageInput!) {
  linkImage(input: $input) {
    task model modelName nilThreshold linkedAt
    image { sha256 url width height }
    triples {
      nil score
      mention { text start end source }
      region { x y width height label score source }
      entity { id name }
      alternatives { score entity { id } }
    }
    timing { stage ms }
  }
}`;

interface Triple {
  nil: boolean;
  score: number | null;
  mention: { text: string; start: number; end: number; source: string } | null;
  region: {
    x: number;
    y: number;
    width: number;
    height: number;
    label: string | null;
    score: number | null;
    source: string;
  } | null;
  entity: { id: string; name: string } | null;
  alternatives: { score: number; entity: { id: string } }[];
}
interface LinkData {
  linkImage: {
    task: string;
    model: string;
    modelName: string;
    nilThreshold: number | null;
    linkedAt: string;
    image: { sha256: string; url: string; width: number; height: number };
    triples: Triple[];
    timing: { stage: string; ms: number }[];
  };
}

describe.skipIf(!hasLinker)(
  `linkImage (${hasLinker ? bundleDir : `skipped: the bundle at ${bundleDir} has no linker`})`,
  () => {
    let t: TestApp;
    const entityId = (benchmarkId: string) => `${t.prefix}${benchmarkId}`;

    /** The fixture query's gold mentions, regions and (optionally) pairs as linkImage input. */
    function goldInput(q: QueryLine, options: { pairs: boolean }): Record<string, unknown> {
      const mentionIndex = new Map(q.mentions.map((m, index) => [m.id, index]));
      const regionIndex = new Map(q.regions.map((r, index) => [r.id, index]));
      return {
        image: { dataUrl: toDataUrl(readFixture(q.image), 'image/jpeg') },
        caption: q.caption,
        mentions: q.mentions.map(({ start, end }) => ({ start, end })),
        regions: q.regions.map(({ box: [x, y, width, height] }) => ({ x, y, width, height })),
        ...(options.pairs
          ? {
              pairs: q.pairs.map((p) => ({
                mention: mentionIndex.get(p.mention),
                region: regionIndex.get(p.region),
              })),
            }
          : {}),
        domain: t.domain,
      };
    }

    async function link(input: Record<string, unknown>): Promise<LinkData['linkImage']> {
      const result = await t.graphql<LinkData>(LINK, { input });
      expect(result.errors).toBeUndefined();
      return result.data!.linkImage;
    }

    const goldOfSpan = (q: QueryLine, start: number) =>
      q.mentions.find((m) => m.start === start)?.gold ?? null;

    async function countLinkedImages(sha256: string) {
      const [row] = await t.graph.read('test.linkedImages', (tx) =>
        tx.query<{ linked: number; mentions: number; depicts: number; findings: number }>(
          `MATCH (l:LinkedImage {sha256: $sha256})
           RETURN count(DISTINCT l) AS linked,
                  COUNT { (l)-[:MENTIONS]->() } AS mentions,
                  COUNT { (l)-[:DEPICTS]->() } AS depicts,
                  COUNT { (l)-[:HAS_FINDING]->() } AS findings`,
          { sha256 },
        ),
      );
      return row ?? { linked: 0, mentions: 0, depicts: 0, findings: 0 };
    }

    beforeAll(async () => {
      t = await startTestApp();
      const result = await t.graphql(
        `mutation ($inputs: [EntityInput!]!) { registerEntities(inputs: $inputs) { status } }`,
        {
          inputs: KB.map((entity) => ({
            id: entityId(entity.id),
            name: entity.name,
            aliases: entity.aliases,
            description: entity.description,
            domain: t.domain,
            tags: entity.tags,
            images: entity.images.map((image) => ({
              dataUrl: toDataUrl(readFixture(image.path), mimeOf(image.path)),
            })),
          })),
        },
      );
      expect(result.errors).toBeUndefined();
    });

    afterAll(async () => {
      if (t) {
        await removeLinkedImages(t.graph, t.domain);
      }
      await t?.close();
    });

    it('links a composed scene with its given pairs (V&T-KG) to the known entities', async () => {
      const q = query('q-000008');
      const answer = await link(goldInput(q, { pairs: true }));
      expect(answer.task).toBe('V&T-KG');
      expect(answer.model).toMatch(/^linker:[0-9a-f]{16}$/);
      expect(answer.image).toMatchObject({ width: 320, height: 160 });
      // The five pairs first, in the given order, then the two distractor regions alone.
      expect(answer.triples).toHaveLength(7);
      q.pairs.forEach((pair, index) => {
        const triple = answer.triples[index]!;
        const mention = q.mentions.find((m) => m.id === pair.mention)!;
        expect(triple.mention).toMatchObject({ start: mention.start, source: 'GIVEN' });
        expect(triple.region?.source).toBe('GIVEN');
        expect(triple.nil).toBe(false);
        expect(triple.entity?.id).toBe(entityId(mention.gold!));
        expect(triple.alternatives.length).toBeGreaterThan(0);
      });
      expect(answer.triples.slice(5).every((triple) => triple.mention === null)).toBe(true);
      expect(answer.timing.map((s) => s.stage)).toEqual([
        'decode',
        'mentions',
        'regions',
        'encode-text',
        'encode-regions',
        'candidates',
        'context',
        'score',
        'align',
        'write',
        'total',
      ]);
    });

    it('pairs given spans and boxes itself (V-T-KG) as the scene was composed', async () => {
      const q = query('q-000008');
      const answer = await link(goldInput(q, { pairs: false }));
      expect(answer.task).toBe('VT-KG');
      const pairs = answer.triples.filter((triple) => triple.mention && triple.region);
      expect(pairs).toHaveLength(5);
      for (const triple of pairs) {
        const mention = q.mentions.find((m) => m.start === triple.mention!.start)!;
        const goldPair = q.pairs.find((p) => p.mention === mention.id)!;
        const region = q.regions.find((r) => r.id === goldPair.region)!;
        expect([triple.region!.x, triple.region!.y]).toEqual([region.box[0], region.box[1]]);
        expect(triple.entity?.id).toBe(entityId(mention.gold!));
      }
      // The two distractor regions (nothing of the graph) stay alone and NIL.
      const alone = answer.triples.filter((triple) => !triple.mention);
      expect(alone).toHaveLength(2);
      expect(alone.every((triple) => triple.nil && triple.entity === null)).toBe(true);
      expect(alone.every((triple) => triple.alternatives.length > 0)).toBe(true);
    });

    it('finds mentions and regions itself when given none, and links the mentions', async () => {
      const q = query('q-000008');
      const answer = await link({
        image: { dataUrl: toDataUrl(readFixture(q.image), 'image/jpeg') },
        caption: q.caption,
        domain: t.domain,
      });
      expect(answer.task).toBe('VT-KG');
      // Every gold mention is found (they are the graph's names) and linked to its entity.
      for (const mention of q.mentions) {
        const triple = answer.triples.find((tr) => tr.mention?.start === mention.start);
        expect(triple?.mention).toMatchObject({ end: mention.end, source: 'GAZETTEER' });
        expect(triple?.entity?.id).toBe(entityId(mention.gold!));
      }
      for (const triple of answer.triples) {
        if (!triple.region) continue;
        expect(triple.region.source).not.toBe('GIVEN');
        expect(triple.region.x + triple.region.width).toBeLessThanOrEqual(320);
        expect(triple.region.y + triple.region.height).toBeLessThanOrEqual(160);
      }
      // A region the detector found and the linker paired with a mention is the gold object's box.
      const linkedPairs = answer.triples.filter((tr) => tr.mention && tr.region && !tr.nil);
      expect(linkedPairs.length).toBeGreaterThan(0);
      for (const triple of linkedPairs) {
        const mention = q.mentions.find((m) => m.start === triple.mention!.start)!;
        const goldRegion = q.pairs.find((p) => p.mention === mention.id)!.region;
        const [x, y, width, height] = q.regions.find((r) => r.id === goldRegion)!.box;
        expect(iou(triple.region!, { x, y, width, height })).toBeGreaterThan(0.5);
      }
    });

    it('answers NIL for what the graph lacks and keeps it as a Finding', async () => {
      const q = query('q-000009'); // "… and a brown circle in the sky": no brown circle in the graph
      const answer = await link(goldInput(q, { pairs: true }));
      const brown = answer.triples.find((triple) => triple.mention?.text === 'brown circle')!;
      expect(brown.nil).toBe(true);
      expect(brown.entity).toBeNull();
      expect(brown.score).toBeLessThan(answer.nilThreshold!);
      expect(brown.alternatives.length).toBeGreaterThan(0);
      for (const triple of answer.triples.filter((tr) => tr !== brown)) {
        expect(triple.entity?.id).toBe(entityId(goldOfSpan(q, triple.mention!.start)!));
      }
      const stored = await t.graphql<{
        linkedImage: {
          task: string;
          findings: { kind: string; triple: number; mention: { text: string } | null }[];
          links: { kind: string }[];
        };
      }>(
        `query ($sha256: ID!, $model: String) { linkedImage(sha256: $sha256, model: $model) {
           task findings { kind triple score mention { text start end } region { x y width height } }
           links { kind triple } } }`,
        { sha256: answer.image.sha256, model: answer.model },
      );
      expect(stored.errors).toBeUndefined();
      expect(stored.data?.linkedImage.task).toBe('V&T-KG');
      const findings = stored.data?.linkedImage.findings ?? [];
      expect(findings.map((f) => [f.kind, f.triple, f.mention?.text])).toEqual([
        ['PAIR', 5, 'brown circle'],
      ]);
      expect(stored.data?.linkedImage.links).toHaveLength(10);
      // A lower threshold from the input links it after all (to the best wrong guess).
      const forced = await link({ ...goldInput(q, { pairs: true }), nilThreshold: -1000 });
      expect(forced.nilThreshold).toBe(-1000);
      expect(forced.triples.every((triple) => !triple.nil)).toBe(true);
    });

    it('links an entity registered in the previous request: zero-shot', async () => {
      const nation = fixtureNation('eastgerman');
      const flag = await sharp(readFixture(nation.images[0]!.path)).resize(132, 90).toBuffer();
      const scene = await sharp(readFixture(query('q-000002').image))
        .composite([{ input: flag, left: 20, top: 30 }])
        .jpeg({ quality: 90 })
        .toBuffer();
      const caption = 'The flag of the East Germans beside a woman chemist in a canyon.';
      const input = {
        image: { dataUrl: toDataUrl(scene, 'image/jpeg') },
        caption,
        mentions: [{ start: 16, end: 28 }],
        regions: [{ x: 20, y: 30, width: 132, height: 90 }],
        pairs: [{ mention: 0, region: 0 }],
        domain: t.domain,
      };
      expect(caption.slice(16, 28)).toBe('East Germans');
      const before = await link(input);
      expect(before.triples[0]).toMatchObject({ nil: true, entity: null });
      expect(await countLinkedImages(before.image.sha256)).toEqual({
        linked: 1,
        mentions: 0,
        depicts: 0,
        findings: 1,
      });
      const id = `${t.prefix}eastgerman`;
      const registered = await t.graphql(
        `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`,
        {
          input: {
            id,
            name: nation.name,
            aliases: nation.aliases,
            description: nation.description,
            domain: t.domain,
            images: [{ dataUrl: toDataUrl(readFixture(nation.images[0]!.path)) }],
          },
        },
      );
      expect(registered.errors).toBeUndefined();
      const after = await link(input);
      expect(after.triples[0]).toMatchObject({ nil: false, entity: { id } });
      // Same image, same linker: the NIL finding was replaced by the links.
      expect(await countLinkedImages(after.image.sha256)).toEqual({
        linked: 1,
        mentions: 1,
        depicts: 1,
        findings: 0,
      });
    });

    it('scores an updated entity by its new candidate vector, and by the old one once restored', async () => {
      const q = query('q-000008');
      const input = { ...goldInput(q, { pairs: true }), nilThreshold: -1000 };
      const first = await link(input);
      const target = first.triples[0]!.entity!.id;
      const scoreOf = (result: LinkData['linkImage']) => {
        const triple = result.triples[0]!;
        if (triple.entity?.id === target) return triple.score;
        return triple.alternatives.find((a) => a.entity.id === target)?.score ?? null;
      };
      const update = async (description: string) => {
        const result = await t.graphql<{ updateEntity: { description: string } }>(
          `mutation ($id: ID!, $patch: EntityPatch!) {
             updateEntity(id: $id, patch: $patch) { description }
           }`,
          { id: target, patch: { description } },
        );
        expect(result.errors).toBeUndefined();
      };
      const original = (
        await t.graphql<{ entity: { description: string } }>(
          'query ($id: ID!) { entity(id: $id) { description } }',
          { id: target },
        )
      ).data!.entity.description;
      const before = scoreOf(first);
      expect(before).not.toBeNull();
      // The linker cached this entity's vector in process; the update must not be scored by it.
      await update('A kitchen appliance that toasts slices of bread.');
      const updated = scoreOf(await link(input));
      expect(updated === null || Math.abs(updated - before!) > 1).toBe(true);
      await update(original);
      // Back to the same vector; the BM25 features move a little with the index statistics.
      expect(scoreOf(await link(input))).toBeCloseTo(before!, 1);
    });

    it('is idempotent: linking the same image again leaves one LinkedImage with the same links', async () => {
      const q = query('q-000008');
      const first = await link(goldInput(q, { pairs: true }));
      const counts = await countLinkedImages(first.image.sha256);
      const read = () =>
        t.graph.read('test.linkedImage', (tx) =>
          findLinkedImage(tx, { sha256: first.image.sha256, model: first.model }),
        );
      const before = await read();
      // Again, this time naming the image by the hash it was stored under.
      const second = await link({
        ...goldInput(q, { pairs: true }),
        image: { sha256: first.image.sha256 },
      });
      expect(second.image.sha256).toBe(first.image.sha256);
      expect(second.image.sha256).toBe(sha256Hex(readFixture(q.image)));
      expect(await countLinkedImages(first.image.sha256)).toEqual(counts);
      expect(counts).toEqual({ linked: 1, mentions: 5, depicts: 5, findings: 2 });
      const after = await read();
      const shape = (record: typeof after) =>
        record?.links.map((l) => [l.triple, l.kind, l.entityId, l.score.toFixed(4)]);
      expect(shape(after)).toHaveLength(10);
      expect(shape(after)).toEqual(shape(before));
      expect(after!.linkedAt >= before!.linkedAt).toBe(true);
    });

    it('lists the linked images of an entity', async () => {
      const q = query('q-000008');
      const gold = entityId(q.mentions[0]!.gold!);
      const result = await t.graphql<{
        entity: {
          linkedImages: {
            score: number;
            linkedImage: { sha256: string; caption: string; image: { url: string } };
            links: { kind: string; entity: { id: string }; mention: { text: string } | null }[];
          }[];
        };
      }>(
        `query ($id: ID!) { entity(id: $id) { linkedImages(first: 10) {
           score linkedImage { sha256 caption model image { url } }
           links { kind triple score entity { id } mention { text } region { x y } } } } }`,
        { id: gold },
      );
      expect(result.errors).toBeUndefined();
      const refs = result.data!.entity.linkedImages;
      const scene = refs.find((ref) => ref.linkedImage.sha256 === sha256Hex(readFixture(q.image)));
      expect(scene?.linkedImage.caption).toBe(q.caption);
      expect(scene?.links.map((l) => l.kind).sort()).toEqual(['MENTION', 'REGION']);
      expect(scene?.links.every((l) => l.entity.id === gold)).toBe(true);
      const image = await fetch(scene!.linkedImage.image.url);
      expect(image.status).toBe(200);
    });

    it('rejects bad input with the documented codes', async () => {
      const q = query('q-000008');
      const codeOf = async (input: Record<string, unknown>) =>
        (await t.graphql(LINK, { input })).errors?.[0]?.extensions?.code;
      const base = goldInput(q, { pairs: true });
      expect(await codeOf({ ...base, mentions: [{ start: 0, end: 500 }] })).toBe('BAD_USER_INPUT');
      expect(await codeOf({ ...base, pairs: [{ mention: 0, region: 9 }] })).toBe('BAD_USER_INPUT');
      expect(await codeOf({ ...base, caption: ' ', mentions: [], regions: [], pairs: [] })).toBe(
        'BAD_USER_INPUT',
      );
      expect(await codeOf({ ...base, image: { dataUrl: 'data:image/png;base64,AAAA' } })).toBe(
        'INVALID_IMAGE',
      );
    });
  },
);
