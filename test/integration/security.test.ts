import net from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/auth/api-keys.js';
import { readFixture, toDataUrl } from '../helpers/fixtures.js';
import { countNodes, startTestApp, type TestApp } from '../helpers/test-app.js';

/** Issue 11's findings as regression tests, over real HTTP against a real Neo4j. */

const usaFlag = readFixture('test/fixtures/freeciv/flags/usa-large.png');
const REGISTER = `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`;
const REGISTER_MANY = `mutation ($inputs: [EntityInput!]!) { registerEntities(inputs: $inputs) { status } }`;
const DELETE = `mutation ($id: ID!) { deleteEntity(id: $id) { id } }`;
const ENTITY = `query ($id: ID!) { entity(id: $id) { id } }`;

async function entityExists(t: TestApp, id: string): Promise<boolean> {
  const response = await t.graphql<{ entity: unknown }>(ENTITY, { id });
  expect(response.errors).toBeUndefined();
  return response.data?.entity !== null;
}

/** Distinct noise images: each must be decoded and encoded, so a batch of them takes real time. */
async function noiseImages(count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const pixels = Buffer.alloc(192 * 192 * 3);
      for (let p = 0; p < pixels.length; p += 1) pixels[p] = (p * 7919 + i * 104_729) % 251;
      const png = await sharp(pixels, { raw: { width: 192, height: 192, channels: 3 } })
        .png()
        .toBuffer();
      return toDataUrl(png);
    }),
  );
}

function batchOf(t: TestApp, name: string, images: readonly string[]) {
  return images.map((dataUrl, i) => ({
    id: `${t.prefix}${name}-${i}`,
    name: `${name} ${i}`,
    description: `A test entity whose registration is stopped part-way, number ${i}.`,
    domain: t.domain,
    images: [{ dataUrl }],
  }));
}

describe('authentication and roles over HTTP (finding 2)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ POLYLINK_API_KEY_CACHE_MS: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses anonymous reads and writes with 401 UNAUTHENTICATED and writes nothing', async () => {
    const id = `${t.prefix}anonymous`;
    const before = await countNodes(t.graph);
    for (const [query, variables] of [
      [REGISTER, { input: { id, name: 'Anonymous', images: [{ dataUrl: toDataUrl(usaFlag) }] } }],
      [DELETE, { id }],
      ['mutation { reencodeEntities { state } }', {}],
      [ENTITY, { id }],
    ] as const) {
      const response = await t.graphql(query, variables, { key: null });
      expect(response.status).toBe(401);
      expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    expect(await countNodes(t.graph)).toEqual(before);
  });

  it('refuses a malformed, unknown or revoked key with 401', async () => {
    const keys = new ApiKeyService(t.graph, 0);
    const { key, record } = await keys.create('admin', `${t.prefix}revoked`);
    expect((await t.graphql(ENTITY, { id: 'x:y' }, { key })).status).toBe(200);
    await keys.revoke(record.id);
    const forged = `${key.slice(0, -4)}AAAA`;
    for (const bad of [key, forged, 'not-a-key']) {
      const response = await t.graphql(ENTITY, { id: 'x:y' }, { key: bad });
      expect(response.status).toBe(401);
      expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('lets a read key query but answers 403 FORBIDDEN to its writes', async () => {
    const id = `${t.prefix}guarded`;
    expect((await t.graphql(REGISTER, { input: { id, name: 'Guarded' } })).errors).toBeUndefined();
    const reader = await t.createKey('read');
    expect(await entityExists(t, id)).toBe(true);
    const response = await t.graphql(DELETE, { id }, { key: reader });
    expect(response.status).toBe(403);
    expect(response.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requiredRole: 'admin',
    });
    expect(await entityExists(t, id)).toBe(true);
  });
});

describe('anonymous reads, when turned on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ POLYLINK_ANONYMOUS_READ: 'true' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers queries without a key but still refuses writes', async () => {
    const read = await t.graphql(ENTITY, { id: `${t.prefix}x` }, { key: null });
    expect(read.errors).toBeUndefined();
    const write = await t.graphql(DELETE, { id: `${t.prefix}x` }, { key: null });
    expect(write.status).toBe(401);
    expect(write.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('work that outlives its budget or its client (finding 3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ POLYLINK_REQUEST_TIMEOUT_MS: '100' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stops a registration past its budget with REQUEST_TIMEOUT and writes none of it', async () => {
    const inputs = batchOf(t, 'slow', await noiseImages(40));
    const response = await t.graphql(REGISTER_MANY, { inputs });
    expect(response.errors?.[0]?.extensions?.code).toBe('REQUEST_TIMEOUT');
    for (const input of inputs.slice(0, 3)) expect(await entityExists(t, input.id)).toBe(false);
  });
});

describe('a client that goes away (finding 3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('writes nothing of a registration whose client disconnected', async () => {
    const inputs = batchOf(t, 'gone', await noiseImages(40));
    const controller = new AbortController();
    const sent = fetch(t.app.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({ query: REGISTER_MANY, variables: { inputs } }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 250);
    await expect(sent).rejects.toThrow();
    // Long enough for the whole batch to have been written had the work gone on (about 1 s here).
    await new Promise((resolve) => setTimeout(resolve, 4000));
    for (const input of inputs) expect(await entityExists(t, input.id)).toBe(false);
  });
});

describe('production errors on every route (finding 5)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ POLYLINK_MAX_REQUEST_BYTES: '4096' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: string) =>
    fetch(t.app.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body,
    });

  it('answers a malformed JSON body, an oversized body and an unknown route in JSON, without stacks', async () => {
    const cases = [
      { response: await post('{"query": '), status: 400, code: 'BAD_REQUEST' },
      {
        response: await post(
          JSON.stringify({ query: `{ entity(id: "${'x'.repeat(8000)}") { id } }` }),
        ),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      { response: await fetch(`${t.app.url}/no/such/route`), status: 404, code: 'NOT_FOUND' },
      {
        response: await fetch(`${t.app.url}/images/not-a-hash`),
        status: 400,
        code: 'BAD_USER_INPUT',
      },
    ];
    for (const { response, status, code } of cases) {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      const text = await response.text();
      expect(text).not.toMatch(/<html|<pre>|\bat \S+:\d+|node_modules|\/work\//i);
      expect(
        (JSON.parse(text) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions
          .code,
      ).toBe(code);
    }
  });

  it('answers a multipart request without a boundary and an oversized URL in JSON, at once (found by the fuzz)', async () => {
    const multipart = await fetch(t.app.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'multipart/form-data',
        'apollo-require-preflight': 'true',
        authorization: `Bearer ${t.adminKey}`,
      },
      body: '--XyZ\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--XyZ--\r\n',
      signal: AbortSignal.timeout(5000),
    });
    expect(multipart.status).toBe(400);
    expect(((await multipart.json()) as { errors: unknown[] }).errors).toHaveLength(1);

    const truncated = await fetch(t.app.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'multipart/form-data; boundary=XyZ',
        'apollo-require-preflight': 'true',
        authorization: `Bearer ${t.adminKey}`,
      },
      body: '--XyZ\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":',
      signal: AbortSignal.timeout(5000),
    });
    expect(truncated.status).toBe(400);
    expect(JSON.parse(await truncated.text())).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST' } }],
    });

    const { port } = new URL(t.app.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text)).on('error', reject);
      socket.write(`GET /graphql?query=${'%7B'.repeat(30_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 431/);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('keeps introspection off and errors free of stack traces', async () => {
    const response = await t.graphql('{ __schema { queryType { name } } }');
    expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(response)).not.toMatch(/stacktrace/);
  });
});

/**
 * A TCP relay between the app and the real Neo4j that can be cut and restored: Neo4j "goes down"
 * for this app alone, without stopping the server the other test files share.
 */
async function startRelay(target: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
    async restore() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) =>
        server.listening ? server.close(() => resolve()) : resolve(),
      );
    },
  };
}

describe('Neo4j down (smaller finding: /readyz took 30.7 s, a read 56.7 s)', () => {
  let t: TestApp;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  beforeAll(async () => {
    const target = Number(new URL(process.env.NEO4J_URI ?? 'bolt://127.0.0.1:7687').port || 7687);
    relay = await startRelay(target);
    t = await startTestApp({
      NEO4J_URI: `bolt://127.0.0.1:${relay.port}`,
      NEO4J_TIMEOUT_MS: '2000',
      POLYLINK_API_KEY_CACHE_MS: '60000',
    });
  });
  afterAll(async () => {
    await relay?.restore().catch(() => undefined);
    await t?.close();
    await relay?.close();
  });

  it('answers 503 and DATABASE_UNAVAILABLE within seconds, and recovers by itself', async () => {
    expect((await fetch(`${t.app.url}/readyz`)).status).toBe(200);
    expect(await entityExists(t, `${t.prefix}warm`)).toBe(false); // the key is now cached
    await relay.cut();

    let started = performance.now();
    expect((await fetch(`${t.app.url}/readyz`)).status).toBe(503);
    expect(performance.now() - started).toBeLessThan(6000);

    started = performance.now();
    const read = await t.graphql(ENTITY, { id: `${t.prefix}x` });
    expect(read.errors?.[0]?.extensions?.code).toBe('DATABASE_UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(6000);

    await relay.restore();
    const deadline = performance.now() + 20_000;
    let ready = false;
    while (!ready && performance.now() < deadline) {
      ready = (await fetch(`${t.app.url}/readyz`)).status === 200;
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(ready).toBe(true);
    expect(await entityExists(t, `${t.prefix}x`)).toBe(false);
  });
});
