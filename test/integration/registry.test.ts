import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureNation, readFixture, toDataUrl } from '../helpers/fixtures.js';
import { countNodes, postMultipart, startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const REGISTER = `mutation Register($input: EntityInput!) {
  registerEntity(input: $input) {
    status
    entity { id name aliases description domain tags images { sha256 url mime format width height byteSize } }
  }
}`;

const usaFlag = readFixture('test/fixtures/freeciv/flags/usa-large.png');
const romeFlag = readFixture('test/fixtures/freeciv/flags/rome-large.png');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Whether the app's image store (the local folder, or the S3 bucket in the integration-s3 run) holds it. */
const stored = (hash: string) => t.app.backend.imageStore.has(hash);

interface RegisterData {
  registerEntity: {
    status: string;
    entity: {
      id: string;
      images: { sha256: string; url: string; width: number; height: number; mime: string }[];
    };
  };
}

describe('registering over HTTP with a multipart upload', () => {
  const american = fixtureNation('american');

  it('stores the entity and its image, serves the image by hash, and is idempotent', async () => {
    const input = {
      id: `${t.prefix}american`,
      name: american.name,
      aliases: american.aliases,
      description: american.description,
      domain: t.domain,
      tags: american.tags,
      images: [{ upload: null }],
    };
    const files = {
      0: { path: 'variables.input.images.0.upload', bytes: usaFlag, type: 'image/png' },
    };
    const first = await postMultipart<RegisterData>(
      t,
      { query: REGISTER, variables: { input } },
      files,
    );
    expect(first.errors).toBeUndefined();
    expect(first.data?.registerEntity.status).toBe('CREATED');
    const [image] = first.data?.registerEntity.entity.images ?? [];
    expect(image).toMatchObject({
      sha256: sha256(usaFlag),
      mime: 'image/png',
      width: 44,
      height: 30,
    });

    const served = await fetch(image?.url ?? '');
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(usaFlag)).toBe(true);

    const before = await countNodes(t.graph);
    const again = await postMultipart<RegisterData>(
      t,
      { query: REGISTER, variables: { input } },
      files,
    );
    expect(again.data?.registerEntity.status).toBe('UNCHANGED');
    expect(await countNodes(t.graph)).toEqual(before);

    const changed = await postMultipart(
      t,
      { query: REGISTER, variables: { input: { ...input, description: 'Something else.' } } },
      files,
    );
    expect(changed.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('refuses a multipart request without the CSRF preflight header', async () => {
    const response = await postMultipart(
      t,
      {
        query: REGISTER,
        variables: { input: { id: `${t.prefix}csrf`, name: 'X', images: [{ upload: null }] } },
      },
      { 0: { path: 'variables.input.images.0.upload', bytes: usaFlag, type: 'image/png' } },
      {},
    );
    expect(response.status).toBe(400);
    const entity = await t.graphql<{ entity: unknown }>(
      'query ($id: ID!) { entity(id: $id) { id } }',
      {
        id: `${t.prefix}csrf`,
      },
    );
    expect(entity.data?.entity).toBeNull();
  });

  it('rejects a truncated image with INVALID_IMAGE and writes nothing', async () => {
    const before = await countNodes(t.graph);
    const truncated = usaFlag.subarray(0, Math.floor(usaFlag.length / 2));
    const response = await postMultipart(
      t,
      {
        query: REGISTER,
        variables: {
          input: {
            id: `${t.prefix}truncated`,
            name: 'Truncated',
            domain: t.domain,
            images: [{ dataUrl: toDataUrl(romeFlag) }, { upload: null }],
          },
        },
      },
      { 0: { path: 'variables.input.images.1.upload', bytes: truncated, type: 'image/png' } },
    );
    expect(response.errors?.[0]?.extensions).toMatchObject({
      code: 'INVALID_IMAGE',
      entityId: `${t.prefix}truncated`,
      imageIndex: 1,
    });
    expect(await countNodes(t.graph)).toEqual(before);
    // The valid first image was not stored either: checks run before any write.
    expect(await stored(sha256(romeFlag))).toBe(false);
  });

  it.each([
    ['not an image', Buffer.from('%PDF-1.4 definitely not pixels'), 'INVALID_IMAGE'],
    ['empty', Buffer.alloc(0), 'INVALID_IMAGE'],
  ])('rejects %s', async (_label, bytes, code) => {
    const before = await countNodes(t.graph);
    const response = await t.graphql(REGISTER, {
      input: { id: `${t.prefix}bad`, name: 'Bad', images: [{ dataUrl: toDataUrl(bytes) }] },
    });
    expect(response.errors?.[0]?.extensions?.code).toBe(code);
    expect(await countNodes(t.graph)).toEqual(before);
  });
});

describe('batches, updates and deletes', () => {
  const roman = fixtureNation('roman');
  const holyRoman = fixtureNation('holyroman');
  const REGISTER_MANY = `mutation ($inputs: [EntityInput!]!) { registerEntities(inputs: $inputs) { status entity { id } } }`;

  it('writes a batch all-or-nothing', async () => {
    const before = await countNodes(t.graph);
    const good = {
      id: `${t.prefix}roman`,
      name: roman.name,
      domain: t.domain,
      images: [{ dataUrl: toDataUrl(romeFlag) }],
    };
    const bad = {
      id: `${t.prefix}bad-batch`,
      name: 'Bad',
      images: [{ dataUrl: toDataUrl(Buffer.from('nope')) }],
    };
    const rejected = await t.graphql(REGISTER_MANY, { inputs: [good, bad] });
    expect(rejected.errors?.[0]?.extensions?.code).toBe('INVALID_IMAGE');
    expect(await countNodes(t.graph)).toEqual(before);

    const accepted = await t.graphql<{ registerEntities: { status: string }[] }>(REGISTER_MANY, {
      inputs: [good, { ...good }],
    });
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data?.registerEntities.map((r) => r.status)).toEqual(['CREATED']);
  });

  it('treats two concurrent registrations of one new id as one entity', async () => {
    const input = { id: `${t.prefix}concurrent`, name: 'Concurrent', domain: t.domain };
    const results = await Promise.all([
      t.graphql<RegisterData>(REGISTER, { input }),
      t.graphql<RegisterData>(REGISTER, { input }),
    ]);
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(results.map((r) => r.data?.registerEntity.status).sort()).toEqual([
      'CREATED',
      'UNCHANGED',
    ]);
  });

  it('updates fields and images, removing images nothing uses any more', async () => {
    const id = `${t.prefix}holyroman`;
    const usaHash = sha256(usaFlag);
    const otherFlag = readFixture('test/fixtures/freeciv/flags/hre-large.png');
    await t.graphql(REGISTER, {
      input: {
        id,
        name: holyRoman.name,
        domain: t.domain,
        images: [{ dataUrl: toDataUrl(otherFlag) }],
      },
    });
    const oldHash = sha256(otherFlag);
    expect(await stored(oldHash)).toBe(true);

    const updated = await t.graphql<{
      updateEntity: { description: string; images: { sha256: string }[] };
    }>(
      `mutation ($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { description images { sha256 } } }`,
      {
        id,
        patch: { description: holyRoman.description, images: [{ dataUrl: toDataUrl(usaFlag) }] },
      },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data?.updateEntity.description).toBe(holyRoman.description);
    expect(updated.data?.updateEntity.images).toEqual([{ sha256: usaHash }]);
    expect(await stored(oldHash)).toBe(false);
    const image = await t.graphql<{ image: unknown }>(
      'query ($h: ID!) { image(sha256: $h) { sha256 } }',
      { h: oldHash },
    );
    expect(image.data?.image).toBeNull();
  });

  it('deletes an entity and its orphaned images but keeps images other entities use', async () => {
    const shared = readFixture('test/fixtures/freeciv/flags/ddr-large.png');
    const own = readFixture('test/fixtures/freeciv/flags/central_america-large.png');
    const keep = `${t.prefix}keeper`;
    const doomed = `${t.prefix}doomed`;
    await t.graphql(REGISTER, {
      input: {
        id: keep,
        name: 'Keeper',
        domain: t.domain,
        images: [{ dataUrl: toDataUrl(shared) }],
      },
    });
    await t.graphql(REGISTER, {
      input: {
        id: doomed,
        name: 'Doomed',
        domain: t.domain,
        images: [{ dataUrl: toDataUrl(shared) }, { dataUrl: toDataUrl(own) }],
      },
    });
    const deleted = await t.graphql<{ deleteEntity: { id: string; removedImages: string[] } }>(
      'mutation ($id: ID!) { deleteEntity(id: $id) { id removedImages } }',
      { id: doomed },
    );
    expect(deleted.data?.deleteEntity).toEqual({ id: doomed, removedImages: [sha256(own)] });
    expect(await stored(sha256(own))).toBe(false);
    expect(await stored(sha256(shared))).toBe(true);
    const again = await t.graphql('mutation ($id: ID!) { deleteEntity(id: $id) { id } }', {
      id: doomed,
    });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('pages through a domain in id order', async () => {
    const page = async (after: string | null) =>
      t.graphql<{
        entities: {
          edges: { node: { id: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          totalCount: number;
        };
      }>(
        'query ($d: String, $a: String) { entities(first: 2, domain: $d, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } totalCount } }',
        { d: t.domain, a: after },
      );
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 20; guard += 1) {
      const result = await page(after);
      expect(result.errors).toBeUndefined();
      const connection = result.data?.entities;
      seen.push(...(connection?.edges.map((edge) => edge.node.id) ?? []));
      if (!connection?.pageInfo.hasNextPage) {
        expect(seen.length).toBe(connection?.totalCount);
        break;
      }
      after = connection.pageInfo.endCursor;
    }
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen).toEqual([...seen].sort());
    expect(seen.every((id) => id.startsWith(t.prefix))).toBe(true);
  });
});

describe('service endpoints', () => {
  it('reports readiness and 404 for unknown images', async () => {
    expect((await fetch(`${t.app.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${t.app.url}/images/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${t.app.url}/images/not-a-hash`)).status).toBe(400);
  });
});
