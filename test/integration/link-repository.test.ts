import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findLinkedImage,
  writeLinkedImage,
  type LinkedImageWrite,
  type StoredFinding,
  type StoredLink,
} from '../../src/neo4j/link-repository.js';
import {
  removeLinkedImages,
  removeTestData,
  startTestApp,
  type TestApp,
} from '../helpers/test-app.js';

/**
 * `writeLinkedImage` on a real graph: what `linkImage` leaves behind for Neo4j Browser. The write
 * is one Cypher statement (issue 13: one round trip instead of six), so these pin what the six
 * did: the image node made once, links and findings replaced on a re-link, links to entities
 * that are gone dropped and counted, and a write with nothing to link.
 */
let t: TestApp;
const ids = { fox: '', owl: '', gone: '' };

const mention = (start: number, end: number, text: string) =>
  ({ start, end, text, source: 'GIVEN' }) as const;
const region = (x: number) =>
  ({ x, y: 0, width: 10, height: 10, label: null, source: 'GIVEN', score: null }) as const;
/** The mention side of triple `triple`, linked to `entityId`. */
const mentionLink = (
  triple: number,
  entityId: string,
  score: number,
  at: ReturnType<typeof mention>,
): StoredLink => ({ triple, kind: 'MENTION', entityId, score, mention: at, region: null });
/** The region side of triple `triple`, linked to `entityId`. */
const regionLink = (
  triple: number,
  entityId: string,
  score: number,
  at: ReturnType<typeof region>,
): StoredLink => ({ triple, kind: 'REGION', entityId, score, mention: null, region: at });

function writeOf(
  sha256: string,
  links: StoredLink[],
  findings: StoredFinding[],
  model = 'linker:test',
): LinkedImageWrite {
  return {
    sha256,
    model,
    modelName: 'test@1',
    bundle: 'bundle:test',
    caption: 'the fox and the owl',
    task: 'V-T-KG',
    nilThreshold: 1.5,
    domain: t.domain,
    image: {
      sha256,
      mime: 'image/png',
      format: 'png',
      width: 40,
      height: 20,
      byteSize: 123,
      url: `http://localhost/images/${sha256}`,
    },
    links,
    findings,
  };
}

const hashOf = (label: string) => createHash('sha256').update(`${t.prefix}${label}`).digest('hex');

async function write(input: LinkedImageWrite) {
  return t.graph.write('test.writeLinkedImage', (tx) => writeLinkedImage(tx, input));
}

async function read(sha256: string, model = 'linker:test') {
  return t.graph.read('test.findLinkedImage', (tx) => findLinkedImage(tx, { sha256, model }));
}

async function countOf(cypher: string, params: Record<string, unknown>): Promise<number> {
  const [row] = await t.graph.read('test.count', (tx) => tx.query<{ n: number }>(cypher, params));
  return row?.n ?? -1;
}

beforeAll(async () => {
  t = await startTestApp();
  ids.fox = `${t.prefix}fox`;
  ids.owl = `${t.prefix}owl`;
  ids.gone = `${t.prefix}never-registered`;
  await t.graph.write('test.entities', (tx) =>
    tx.query(`UNWIND $ids AS id CREATE (:Entity {id: id, name: id, domain: $domain})`, {
      ids: [ids.fox, ids.owl],
      domain: t.domain,
    }),
  );
});

afterAll(async () => {
  await removeLinkedImages(t.graph, t.domain);
  await removeTestData(t.graph, t.prefix);
  await t.close();
});

describe('writeLinkedImage', () => {
  it('writes the image, links on both sides of a triple, and findings', async () => {
    const sha256 = hashOf('both');
    const written = await write(
      writeOf(
        sha256,
        [
          mentionLink(0, ids.fox, 3.5, mention(4, 7, 'fox')),
          regionLink(0, ids.fox, 3.5, region(0)),
          mentionLink(1, ids.owl, 2.5, mention(16, 19, 'owl')),
        ],
        [{ triple: 2, kind: 'REGION', score: 0.5, mention: null, region: region(20) }],
      ),
    );
    expect(written.droppedLinks).toBe(0);
    expect(written.image).toMatchObject({ sha256, width: 40, height: 20, byteSize: 123 });
    expect(Number.isNaN(Date.parse(written.linkedAt))).toBe(false);
    const stored = await read(sha256);
    expect(stored?.links.map((link) => [link.triple, link.kind, link.entityId])).toEqual([
      [0, 'MENTION', ids.fox],
      [0, 'REGION', ids.fox],
      [1, 'MENTION', ids.owl],
    ]);
    expect(stored?.links[0]?.mention).toEqual(mention(4, 7, 'fox'));
    expect(stored?.links[1]?.region).toEqual(region(0));
    expect(stored?.findings).toEqual([
      { triple: 2, kind: 'REGION', score: 0.5, mention: null, region: region(20) },
    ]);
  });

  it('replaces the links and findings of the same image and model, and keeps one image node', async () => {
    const sha256 = hashOf('relinked');
    await write(
      writeOf(
        sha256,
        [mentionLink(0, ids.fox, 3, mention(4, 7, 'fox'))],
        [
          {
            triple: 1,
            kind: 'MENTION',
            score: null,
            mention: mention(16, 19, 'owl'),
            region: null,
          },
        ],
      ),
    );
    await write(writeOf(sha256, [mentionLink(0, ids.owl, 4, mention(16, 19, 'owl'))], []));
    const stored = await read(sha256);
    expect(stored?.links.map((link) => link.entityId)).toEqual([ids.owl]);
    expect(stored?.findings).toEqual([]);
    const params = { sha256 };
    expect(await countOf('MATCH (i:Image {sha256: $sha256}) RETURN count(i) AS n', params)).toBe(1);
    expect(
      await countOf('MATCH (l:LinkedImage {sha256: $sha256}) RETURN count(l) AS n', params),
    ).toBe(1);
    // The replaced finding node is gone, not only its relationship.
    expect(
      await countOf(
        'MATCH (f:Finding {model: "linker:test", text: "owl"}) WHERE NOT (f)--() RETURN count(f) AS n',
        {},
      ),
    ).toBe(0);
  });

  it('drops and counts the links to entities that are not in the graph', async () => {
    const sha256 = hashOf('dropped');
    const written = await write(
      writeOf(
        sha256,
        [
          mentionLink(0, ids.gone, 3, mention(4, 7, 'fox')),
          regionLink(0, ids.gone, 3, region(0)),
          regionLink(1, ids.owl, 2, region(20)),
        ],
        [],
      ),
    );
    expect(written.droppedLinks).toBe(2);
    expect((await read(sha256))?.links.map((link) => link.entityId)).toEqual([ids.owl]);
  });

  it('writes a linked image with nothing linked and nothing found', async () => {
    const sha256 = hashOf('empty');
    const written = await write(writeOf(sha256, [], []));
    expect(written.droppedLinks).toBe(0);
    const stored = await read(sha256);
    expect(stored).toMatchObject({
      sha256,
      links: [],
      findings: [],
      caption: 'the fox and the owl',
    });
  });

  it('keeps the links of the same image under another model', async () => {
    const sha256 = hashOf('two-models');
    const link = mentionLink(0, ids.fox, 3, mention(4, 7, 'fox'));
    await write(writeOf(sha256, [link], [], 'linker:a'));
    await write(writeOf(sha256, [{ ...link, entityId: ids.owl }], [], 'linker:b'));
    expect((await read(sha256, 'linker:a'))?.links.map((l) => l.entityId)).toEqual([ids.fox]);
    expect((await read(sha256, 'linker:b'))?.links.map((l) => l.entityId)).toEqual([ids.owl]);
  });
});
