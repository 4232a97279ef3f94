import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/auth/api-keys.js';
import { parseConfig } from '../../src/config.js';
import { sha256Hex } from '../../src/images/image-store.js';
import { createGraph, type Graph } from '../../src/neo4j/driver.js';
import { loadedBundle, loadFixtureNations, readFixture, toDataUrl } from '../helpers/fixtures.js';
import { sampleValue, scrape } from '../helpers/prometheus.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';
import { ensureTestBucket, s3SettingsEnv, testS3Settings } from '../helpers/s3-test-store.js';
import { removeTestData } from '../helpers/test-app.js';

/**
 * Two replicas as deployed: two service processes on one Neo4j and one image store (a shared
 * folder here; the store is configured only through the environment, so another backend is a
 * matter of other variables). Both keep their vectors in process and never poll
 * (POLYLINK_VECTOR_POLL_MS=0), so the only way `reader` can know of `writer`'s writes is the
 * bookmarks its client passes back: each check below fails without them.
 */
const { hasLinker } = loadedBundle();
const BOOKMARKS = 'polylink-bookmarks';

const REGISTER = `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`;
const UPDATE = `mutation ($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { id } }`;
const DELETE = `mutation ($id: ID!) { deleteEntity(id: $id) { id } }`;
const CANDIDATES = `query ($image: ImageInput, $domain: String) {
  candidates(image: $image, domain: $domain, limit: 20) { entity { id } generators { generator } }
}`;
const LINK = `mutation ($input: LinkImageInput!) {
  linkImage(input: $input) {
    triples { score mention { text } entity { id } alternatives { score entity { id } } }
  }
}`;

interface Reply<Data> {
  readonly status: number;
  readonly headers: Headers;
  readonly data?: Data;
  readonly errors?: { message: string; extensions?: { code?: string } }[];
}
interface Triple {
  score: number | null;
  mention: { text: string } | null;
  entity: { id: string } | null;
  alternatives: { score: number; entity: { id: string } }[];
}

let writer: ServiceProcess;
let reader: ServiceProcess;
let graph: Graph;
let imageDir: string;
let adminKey: string;
const tag = randomUUID().slice(0, 8);
const prefix = `it-${tag}:`;
const domain = `it-${tag}`;

beforeAll(async () => {
  imageDir = await mkdtemp(path.join(os.tmpdir(), 'polylink-replicas-'));
  // One shared store: a folder both processes see, or (integration-s3) the test S3 bucket.
  let storeEnv: Record<string, string> = {};
  if (process.env.POLYLINK_TEST_IMAGE_STORE === 's3') {
    await ensureTestBucket();
    storeEnv = s3SettingsEnv(testS3Settings());
  }
  const env = {
    // The routing scheme a cluster needs; a single server answers its routing requests itself.
    NEO4J_URI: parseConfig(process.env).neo4j.uri.replace(/^bolt(\+s|\+ssc)?:/, 'neo4j$1:'),
    POLYLINK_IMAGE_DIR: imageDir,
    ...storeEnv,
    POLYLINK_VECTOR_SEARCH: 'memory',
    POLYLINK_VECTOR_POLL_MS: '0',
    POLYLINK_RATE_LINK_IMAGE: '0',
    POLYLINK_RATE_REGISTRATIONS: '0',
  };
  // One after the other: both would otherwise check the migrations at the same moment.
  writer = await startServiceProcess(env);
  reader = await startServiceProcess(env);
  graph = await createGraph(parseConfig(process.env).neo4j);
  adminKey = (await new ApiKeyService(graph, 0).create('admin', `${prefix}admin`)).key;
}, 400_000);

afterAll(async () => {
  await Promise.all([writer?.stop(), reader?.stop()]);
  if (graph) {
    await removeTestData(graph, prefix);
    await graph.close();
  }
  await rm(imageDir, { recursive: true, force: true });
});

async function send<Data>(
  replica: ServiceProcess,
  operation: { query: string; variables: Record<string, unknown> },
  headers: Record<string, string> = {},
): Promise<Reply<Data>> {
  const response = await fetch(replica.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${adminKey}`,
      ...headers,
    },
    body: JSON.stringify(operation),
  });
  const body = (await response.json()) as Omit<Reply<Data>, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...body };
}

/** A write, checked, and the bookmarks its response carried. */
async function write(query: string, variables: Record<string, unknown>): Promise<string> {
  const reply = await send(writer, { query, variables });
  expect(reply.errors).toBeUndefined();
  const bookmarks = reply.headers.get(BOOKMARKS);
  expect(bookmarks).toMatch(/^[A-Za-z0-9+/=:_.-]+(,[A-Za-z0-9+/=:_.-]+)*$/);
  return bookmarks!;
}

async function denseImageIds(replica: ServiceProcess, bookmarks: string | null): Promise<string[]> {
  const reply = await send<{
    candidates: { entity: { id: string }; generators: { generator: string }[] }[];
  }>(
    replica,
    { query: CANDIDATES, variables: { image: { dataUrl: toDataUrl(picture) }, domain } },
    bookmarks === null ? {} : { [BOOKMARKS]: bookmarks },
  );
  expect(reply.errors).toBeUndefined();
  return reply
    .data!.candidates.filter((c) => c.generators.some((g) => g.generator === 'DENSE_IMAGE'))
    .map((c) => c.entity.id);
}

const nation = [...loadFixtureNations().values()][0]!;
const picture = readFixture(nation.images[0]!.path);
const pictureSha = sha256Hex(picture);
const entityId = `${prefix}${nation.id}`;

describe('two service processes on one graph and one image store', () => {
  let registered: string;

  it('return bookmarks from a write and read it on the other replica when given them', async () => {
    for (const replica of [writer, reader]) {
      expect(replica.logs.find((line) => 'neo4j' in line)?.neo4j).toMatch(/^neo4j(\+s|\+ssc)?:/);
    }
    // The reader loaded its index before the entity existed.
    expect(await denseImageIds(reader, null)).not.toContain(entityId);
    registered = await write(REGISTER, {
      input: {
        id: entityId,
        name: nation.name,
        aliases: nation.aliases,
        description: nation.description,
        domain,
        images: [{ dataUrl: toDataUrl(picture) }],
      },
    });
    // Without the bookmarks the reader's in-process index has not heard of the write (no poll);
    // with them it catches up first, and the image, stored by the writer, is read from the store.
    expect(await denseImageIds(reader, null)).not.toContain(entityId);
    expect((await denseImageIds(reader, registered))[0]).toBe(entityId);
  });

  it('refuses malformed bookmarks and bookmarks of no transaction with BAD_USER_INPUT', async () => {
    const variables = { image: { sha256: pictureSha }, domain };
    for (const bookmarks of ['not a bookmark', 'FB:AAAA']) {
      const reply = await send(
        reader,
        { query: CANDIDATES, variables },
        { [BOOKMARKS]: bookmarks },
      );
      expect(reply.errors?.[0]?.extensions?.code, bookmarks).toBe('BAD_USER_INPUT');
    }
  });

  describe.skipIf(!hasLinker)('linkImage on the other replica', () => {
    const box = { x: 0, y: 0, width: 16, height: 16 };
    const linkInput = (caption: string) => ({
      image: { sha256: pictureSha },
      caption,
      regions: [box],
      domain,
    });
    const scoreOf = (triples: Triple[]) =>
      triples
        .flatMap((t) => [
          ...(t.entity?.id === entityId && t.score !== null ? [t.score] : []),
          ...t.alternatives.filter((a) => a.entity.id === entityId).map((a) => a.score),
        ])
        .sort((a, b) => b - a)[0];

    async function link(replica: ServiceProcess, caption: string, bookmarks: string) {
      const reply = await send<{ linkImage: { triples: Triple[] } }>(
        replica,
        { query: LINK, variables: { input: linkInput(caption) } },
        { [BOOKMARKS]: bookmarks },
      );
      expect(reply.errors).toBeUndefined();
      return reply.data!.linkImage.triples;
    }

    it('links to an entity registered through the writer, and re-reads it after the writer changes it', async () => {
      // The reader links first, so its candidate-vector cache holds the entity's vector.
      const before = await link(reader, `A picture of ${nation.name}`, registered);
      expect(scoreOf(before)).toBeDefined();

      // The writer renames the entity: its content hash, candidate vector and names change. The
      // reader's candidate-vector cache holds the old vector, its gazetteer knows nothing.
      const renamed = `Zorblatt ${tag}`;
      const updated = await write(UPDATE, {
        id: entityId,
        patch: { name: renamed, description: `The ${renamed} people of the northern marches` },
      });
      const onReader = await link(reader, `A picture of ${renamed}`, updated);
      const onWriter = await link(writer, `A picture of ${renamed}`, updated);
      expect(onReader.some((t) => t.mention?.text === renamed)).toBe(true);
      // Same graph, same models: the same answer on both replicas. The writer never linked
      // before, so its answer is from fresh vectors; a stale cache on the reader would differ.
      expect(scoreOf(onReader)).toBeCloseTo(scoreOf(onWriter)!, 5);
      expect(onReader.map((t) => t.entity?.id ?? null)).toEqual(
        onWriter.map((t) => t.entity?.id ?? null),
      );
    });
  });

  it('drops an entity deleted through the writer from the reader’s index when given the bookmarks', async () => {
    expect((await denseImageIds(reader, registered))[0]).toBe(entityId);
    const indexed = async () =>
      sampleValue(await scrape(reader.url), 'polylink_vector_index_entities');
    const before = await indexed();
    const deleted = await write(DELETE, { id: entityId });
    // Without the bookmarks the reader's index still holds the entity (candidate lists drop it
    // anyway: they read the entities from the graph); with them it applies the delete first.
    expect(await indexed()).toBe(before);
    expect(await denseImageIds(reader, deleted)).not.toContain(entityId);
    expect(await indexed()).toBe(before! - 1);
  });

  it('names each request in its response and in every log line written for it', async () => {
    const requestId = `replica-test-${tag}`;
    const response = await fetch(`${reader.url}/readyz`, {
      headers: { 'x-request-id': requestId },
    });
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const reply = await send(
      reader,
      { query: CANDIDATES, variables: { image: { sha256: pictureSha }, domain } },
      { 'x-request-id': 'spaces; and "quotes" are not an id' },
    );
    const generated = reply.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    // The access line is written when the response closes, just after the client has it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = reader.logs.filter((line) => line.requestId === generated);
    expect(lines.map((line) => line.msg)).toContain('request');
    expect(
      reader.logs.some((line) => line.requestId === requestId && line.path === '/readyz'),
    ).toBe(true);
    // Lines written outside any request (start-up) carry none.
    expect(reader.logs[0]?.requestId).toBeUndefined();
  });

  it('keeps the bytes in the one shared store the processes were given', async () => {
    // With S3 the shared folder stays empty (the bytes went to the bucket); without, it holds them.
    const files = await readdir(imageDir, { recursive: true });
    if (process.env.POLYLINK_TEST_IMAGE_STORE === 's3') expect(files).toEqual([]);
    else expect(files.some((file) => file.endsWith(pictureSha))).toBe(true);
  });
});
