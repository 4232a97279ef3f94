import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDataUrl } from '../helpers/fixtures.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const REGISTER = `mutation Register($input: EntityInput!) {
  registerEntity(input: $input) { status entity { id images { sha256 } } }
}`;
const DELETE = `mutation Delete($id: ID!) { deleteEntity(id: $id) { id removedImages } }`;
const UPDATE = `mutation Update($id: ID!, $patch: EntityPatch!) {
  updateEntity(id: $id, patch: $patch) { id images { sha256 } }
}`;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A small PNG unique to the round, so rounds do not share files. */
function roundImage(round: number): Promise<Buffer> {
  const background = { r: round % 256, g: (round * 37) % 256, b: 200 };
  return sharp({ create: { width: 16, height: 12, channels: 3, background } })
    .png()
    .toBuffer();
}

async function register(id: string, image: Buffer): Promise<string | undefined> {
  const response = await t.graphql<{ registerEntity: { status: string } }>(REGISTER, {
    input: {
      id,
      name: id,
      domain: t.domain,
      images: [{ dataUrl: toDataUrl(image) }],
    },
  });
  expect(response.errors).toBeUndefined();
  return response.data?.registerEntity.status;
}

async function served(hash: string): Promise<number> {
  const response = await fetch(`${t.app.url}/images/${hash}`);
  await response.arrayBuffer();
  return response.status;
}

/** Every Image node that hangs off an entity of this file, with whether its file is stored. */
async function imagesOfTestEntities(): Promise<{ sha256: string; stored: boolean }[]> {
  const rows = await t.graph.read('test.images', (tx) =>
    tx.query<{ sha256: string }>(
      `MATCH (e:Entity)-[:HAS_IMAGE]->(i:Image) WHERE e.id STARTS WITH $prefix
       RETURN DISTINCT i.sha256 AS sha256`,
      { prefix: t.prefix },
    ),
  );
  return Promise.all(
    rows.map(async ({ sha256: hash }) => ({ sha256: hash, stored: (await served(hash)) === 200 })),
  );
}

// The finding of issue #11: registering B with A's image bytes while A is deleted 0-150 ms later
// left B's Image node without a file (registration skipped the existing file, deletion then
// removed it after its own commit). Each round replays that race at a random offset.
describe('image files under concurrent register and delete of the same bytes', () => {
  const ROUNDS = 40;

  it('keeps the file of every Image node an entity references', { timeout: 240_000 }, async () => {
    const missing: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const image = await roundImage(round);
      const a = `${t.prefix}race-a-${round}`;
      const b = `${t.prefix}race-b-${round}`;
      expect(await register(a, image)).toBe('CREATED');
      const offset = Math.random() * 150;
      const [status, deleted] = await Promise.all([
        register(b, image),
        sleep(offset).then(() => t.graphql<{ deleteEntity: { id: string } }>(DELETE, { id: a })),
      ]);
      expect(status).toBe('CREATED');
      expect(deleted.errors).toBeUndefined();
      if ((await served(sha256(image))) !== 200) missing.push(`round ${round} at ${offset} ms`);
    }
    // Nothing was lost: every B is there with its image, and every Image node has its file.
    const images = await imagesOfTestEntities();
    expect(images).toHaveLength(ROUNDS);
    expect(missing).toEqual([]);
    expect(images.filter((image) => !image.stored)).toEqual([]);
  });

  it('keeps the file when an update drops the image another registration is adding', async () => {
    const missing: string[] = [];
    for (let round = 0; round < 15; round += 1) {
      const image = await roundImage(1000 + round);
      const a = `${t.prefix}update-a-${round}`;
      const b = `${t.prefix}update-b-${round}`;
      expect(await register(a, image)).toBe('CREATED');
      const offset = Math.random() * 150;
      const [status, updated] = await Promise.all([
        register(b, image),
        sleep(offset).then(() => t.graphql(UPDATE, { id: a, patch: { images: [] } })),
      ]);
      expect(status).toBe('CREATED');
      expect(updated.errors).toBeUndefined();
      if ((await served(sha256(image))) !== 200) missing.push(`round ${round} at ${offset} ms`);
    }
    expect(missing).toEqual([]);
  });
});
