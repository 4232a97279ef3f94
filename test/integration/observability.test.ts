import { mkdir, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadedBundle, loadFixtureNations, readFixture, toDataUrl } from '../helpers/fixtures.js';
import { sampleValue, scrape, type Sample } from '../helpers/prometheus.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

// /metrics, /readyz and request ids on the real app: real Neo4j, the assembled bundle.
const { hasLinker } = loadedBundle();

const REGISTER = `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`;
const LINK = `mutation ($input: LinkImageInput!) {
  linkImage(input: $input) { triples { entity { id } } timing { stage ms } }
}`;

let t: TestApp;
const nation = [...loadFixtureNations().values()][0]!;
const picture = readFixture(nation.images[0]!.path);

beforeAll(async () => {
  t = await startTestApp();
  const registered = await t.graphql(REGISTER, {
    input: {
      id: `${t.prefix}${nation.id}`,
      name: nation.name,
      description: nation.description,
      domain: t.domain,
      images: [{ dataUrl: toDataUrl(picture) }],
    },
  });
  expect(registered.errors).toBeUndefined();
});

afterAll(async () => {
  await t?.close();
});

describe.skipIf(!hasLinker)('/metrics after linkImage', () => {
  let samples: Sample[];
  let timing: { stage: string; ms: number }[];
  let before: Sample[];

  beforeAll(async () => {
    before = await scrape(t.app.url);
    const linked = await t.graphql<{ linkImage: { timing: typeof timing } }>(LINK, {
      input: {
        image: { dataUrl: toDataUrl(picture) },
        caption: `The flag of ${nation.name}`,
        regions: [{ x: 0, y: 0, width: 8, height: 8 }],
        domain: t.domain,
      },
    });
    expect(linked.errors).toBeUndefined();
    timing = linked.data!.linkImage.timing;
    // One refused linkImage: an error by operation and code.
    const refused = await t.graphql(LINK, {
      input: { image: { dataUrl: toDataUrl(picture) }, caption: 'x', candidates: 0 },
    });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    samples = await scrape(t.app.url);
  });

  const grew = (name: string, labels: Record<string, string>) =>
    (sampleValue(samples, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);

  it('counts the operations and the error by root field and code', () => {
    expect(grew('polylink_graphql_operations_total', { operation: 'linkImage' })).toBe(2);
    expect(
      grew('polylink_graphql_errors_total', { operation: 'linkImage', code: 'BAD_USER_INPUT' }),
    ).toBe(1);
    expect(
      grew('polylink_http_requests_total', { route: '/graphql', method: 'POST', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('records each stage of the request as the response reported it', () => {
    for (const { stage, ms } of timing) {
      expect(grew('polylink_link_image_stage_seconds_count', { stage }), stage).toBe(1);
      expect(grew('polylink_link_image_stage_seconds_sum', { stage })).toBeCloseTo(ms / 1000, 4);
    }
    const total = timing.find((entry) => entry.stage === 'total')!.ms / 1000;
    // The whole request falls into the buckets at or above its total, none below.
    expect(grew('polylink_link_image_stage_seconds_bucket', { stage: 'total', le: '+Inf' })).toBe(
      1,
    );
    expect(grew('polylink_link_image_stage_seconds_bucket', { stage: 'total', le: '0.001' })).toBe(
      total <= 0.001 ? 1 : 0,
    );
  });

  it('reports model load time, caches, the vector mode and Neo4j use', () => {
    const bundleSeconds = sampleValue(samples, 'polylink_model_load_seconds', { part: 'bundle' });
    expect(bundleSeconds).toBeGreaterThan(0);
    expect(bundleSeconds).toBeLessThan(600);
    // The region proposals were given, so the vision models may not have loaded: no claim.
    expect(
      sampleValue(samples, 'polylink_model_info', { bundle: t.app.backend.models!.manifest.id }),
    ).toBe(1);
    // The first link read every candidate's vector from the graph and kept it.
    const entries = sampleValue(samples, 'polylink_cache_entries', { cache: 'candidateVectors' })!;
    expect(entries).toBeGreaterThan(0);
    expect(grew('polylink_cache_misses_total', { cache: 'candidateVectors' })).toBeGreaterThan(0);
    expect(sampleValue(samples, 'polylink_cache_max_entries', { cache: 'candidateVectors' })).toBe(
      t.config.models.candidateVectorCache,
    );
    expect(sampleValue(samples, 'polylink_cache_hits_total', { cache: 'apiKeys' })).toBeGreaterThan(
      0,
    );
    // neo4j vector mode here: no in-process index series.
    expect(sampleValue(samples, 'polylink_vector_index_entities')).toBeUndefined();
    expect(
      grew('polylink_neo4j_transaction_seconds_count', { mode: 'WRITE', operation: 'linkImage' }),
    ).toBe(1);
    expect(sampleValue(samples, 'polylink_neo4j_sessions_active', { mode: 'READ' })).toBe(0);
    expect(sampleValue(samples, 'polylink_neo4j_pool_max_connections')).toBe(100);
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('/readyz', () => {
  it('reports each part, and 503 naming the part that fails', async () => {
    const ready = await fetch(`${t.app.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as {
      status: string;
      parts: Record<string, { status: string; bundle?: string; code?: string }>;
    };
    expect(body.status).toBe('ready');
    expect(body.parts.neo4j?.status).toBe('ok');
    expect(body.parts.imageStore?.status).toBe('ok');
    expect(body.parts.models).toMatchObject({
      status: 'ok',
      bundle: t.app.backend.models!.manifest.id,
    });
    expect(body.parts.vectors?.status).toBe('off');

    // A missing folder is fine (the first write creates it); a file where the folder should be
    // is a store that can neither serve nor take images.
    await rm(t.config.images.storeDir, { recursive: true, force: true });
    await writeFile(t.config.images.storeDir, 'not a folder');
    try {
      const unready = await fetch(`${t.app.url}/readyz`);
      expect(unready.status).toBe(503);
      const failed = (await unready.json()) as typeof body;
      expect(failed.status).toBe('unavailable');
      expect(failed.parts.imageStore).toEqual({ status: 'failed', code: 'SERVICE_UNAVAILABLE' });
      expect(failed.parts.neo4j?.status).toBe('ok');
    } finally {
      await rm(t.config.images.storeDir, { force: true });
      await mkdir(t.config.images.storeDir, { recursive: true });
    }
  });
});

describe('x-request-id', () => {
  const post = (headers: Record<string, string>) =>
    fetch(t.app.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${t.adminKey}`,
        ...headers,
      },
      body: JSON.stringify({ query: '{ __typename }' }),
    });

  it('keeps a sane incoming id, replaces any other, and answers errors with one too', async () => {
    expect((await post({ 'x-request-id': 'lb-7f3a.42:1' })).headers.get('x-request-id')).toBe(
      'lb-7f3a.42:1',
    );
    for (const insane of ['a'.repeat(129), 'two words', '-leading-dash', '']) {
      const id = (await post({ 'x-request-id': insane })).headers.get('x-request-id');
      expect(id, insane).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const refused = await post({ authorization: 'Bearer nonsense' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('POLYLINK_METRICS=off', () => {
  it('serves no /metrics (the JSON 404), and everything else as before', async () => {
    const off = await startTestApp({ POLYLINK_METRICS: 'off' });
    try {
      const metrics = await fetch(`${off.app.url}/metrics`);
      expect(metrics.status).toBe(404);
      const body = (await metrics.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]?.extensions.code).toBe('NOT_FOUND');
      expect((await fetch(`${off.app.url}/readyz`)).status).toBe(200);
    } finally {
      await off.close();
    }
  });
});
