import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { ApiKeyService, type Role } from '../../src/auth/api-keys.js';
import { parseConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createGraph, type Graph } from '../../src/neo4j/driver.js';
import { emptyStore, ensureTestBucket, s3SettingsEnv, testS3Settings } from './s3-test-store.js';

export interface TestApp {
  readonly app: App;
  readonly config: Config;
  /** A second handle on the same database, for asserting what was really written. */
  readonly graph: Graph;
  /** Unique per test file: ids and domains under it are this file's alone. */
  readonly prefix: string;
  readonly domain: string;
  /** Widths of the loaded bundle's vectors (0 when running without models). */
  readonly textDimension: number;
  readonly imageDimension: number;
  /** An admin key of this test file's, sent by `graphql` unless told otherwise. */
  readonly adminKey: string;
  /** Another key of this file's (revoked at close). */
  createKey(role: Role): Promise<string>;
  /** A GraphQL POST with the admin key, or with `options.key` (null: no Authorization header). */
  graphql<Data = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { key?: string | null },
  ): Promise<GraphQLResponse<Data>>;
  close(): Promise<void>;
}

export interface GraphQLResponse<Data> {
  readonly status: number;
  readonly data?: Data | null;
  readonly errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/**
 * Starts the real app on an ephemeral port against the Neo4j named by NEO4J_URI
 * (the test command starts a throw-away instance), with a private image folder, or, where
 * POLYLINK_TEST_IMAGE_STORE=s3 (the integration-s3 project), a private prefix in the test
 * S3 server's bucket.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const imageDir = await mkdtemp(path.join(os.tmpdir(), 'polylink-images-'));
  let storeEnv: Record<string, string> = {};
  if (process.env.POLYLINK_TEST_IMAGE_STORE === 's3') {
    await ensureTestBucket();
    storeEnv = s3SettingsEnv(testS3Settings());
  }
  const config = parseConfig({
    ...process.env,
    POLYLINK_PORT: '0',
    POLYLINK_IMAGE_DIR: imageDir,
    ...storeEnv,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    NODE_ENV: 'test',
    // The suites send many requests from one key in seconds; rate limits have tests of their own.
    POLYLINK_RATE_LINK_IMAGE: '0',
    POLYLINK_RATE_REGISTRATIONS: '0',
    ...env,
  });
  const app = await createApp(config, createLogger(config.logLevel));
  const graph = await createGraph(config.neo4j);
  const tag = randomUUID().slice(0, 8);
  const prefix = `it-${tag}:`;
  const keys = new ApiKeyService(graph, 0);
  const createKey = async (role: Role) => (await keys.create(role, `${prefix}${role}`)).key;
  const adminKey = await createKey('admin');
  return {
    app,
    config,
    graph,
    prefix,
    domain: `it-${tag}`,
    textDimension: app.backend.encoders?.text?.dimension ?? 0,
    imageDimension: app.backend.encoders?.image?.dimension ?? 0,
    adminKey,
    createKey,
    async graphql<Data>(
      query: string,
      variables: Record<string, unknown> = {},
      options: { key?: string | null } = {},
    ): Promise<GraphQLResponse<Data>> {
      const key = options.key === undefined ? adminKey : options.key;
      const response = await fetch(app.graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as Omit<GraphQLResponse<Data>, 'status'>;
      return { status: response.status, ...body };
    },
    async close() {
      await removeTestData(graph, prefix);
      if (config.imageStore.backend === 's3') await emptyStore(app.backend.imageStore);
      await graph.close();
      await app.close();
      await rm(imageDir, { recursive: true, force: true });
    },
  };
}

/** Deletes what a test created: its entities, and the images left without relationships. */
export async function removeTestData(graph: Graph, prefix: string): Promise<void> {
  await graph.write('test.cleanup', async (tx) => {
    await tx.query(
      `MATCH (e:Entity) WHERE e.id STARTS WITH $prefix
       OPTIONAL MATCH (e)-[:HAS_IMAGE]->(i:Image)
       DETACH DELETE e
       WITH DISTINCT i WHERE i IS NOT NULL AND NOT (i)--()
       DELETE i`,
      { prefix },
    );
    await tx.query(`MATCH (k:ApiKey) WHERE k.name STARTS WITH $prefix DELETE k`, { prefix });
  });
}

/**
 * Removes what `linkImage` wrote under domains starting with `domainPrefix` (each test file's
 * random tag): the LinkedImages, their findings, and the query images nothing else references.
 */
export async function removeLinkedImages(graph: Graph, domainPrefix: string): Promise<void> {
  await graph.write('test.linkedImagesCleanup', (tx) =>
    tx.query(
      `MATCH (l:LinkedImage) WHERE l.domain STARTS WITH $domainPrefix
       OPTIONAL MATCH (l)-[:OF_IMAGE]->(i:Image)
       OPTIONAL MATCH (l)-[:HAS_FINDING]->(f:Finding)
       DETACH DELETE l, f
       WITH DISTINCT i WHERE i IS NOT NULL AND NOT (i)--()
       DELETE i`,
      { domainPrefix },
    ),
  );
}

/** Node counts, to prove a rejected write left the graph as it was. */
export async function countNodes(graph: Graph): Promise<{ entities: number; images: number }> {
  const [row] = await graph.read('test.count', (tx) =>
    tx.query<{ entities: number; images: number }>(
      `CALL { MATCH (e:Entity) RETURN count(e) AS entities }
       CALL { MATCH (i:Image) RETURN count(i) AS images }
       RETURN entities, images`,
    ),
  );
  return row ?? { entities: 0, images: 0 };
}

/** A GraphQL multipart request (the community spec) with the CSRF preflight header. */
export async function postMultipart<Data>(
  t: Pick<TestApp, 'app' | 'adminKey'>,
  operation: { query: string; variables: Record<string, unknown> },
  files: Record<string, { path: string; bytes: Uint8Array; type: string }>,
  headers: Record<string, string> = { 'apollo-require-preflight': 'true' },
): Promise<GraphQLResponse<Data>> {
  const url = t.app.graphqlUrl;
  const { query, variables } = operation;
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables }));
  form.set(
    'map',
    JSON.stringify(Object.fromEntries(Object.entries(files).map(([key, f]) => [key, [f.path]]))),
  );
  for (const [key, file] of Object.entries(files)) {
    form.set(key, new Blob([file.bytes], { type: file.type }), `${key}.bin`);
  }
  const response = await fetch(url, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${t.adminKey}`, ...headers },
  });
  const text = await response.text();
  let body: object;
  try {
    body = JSON.parse(text) as object;
  } catch {
    body = { errors: [{ message: text }] };
  }
  return { status: response.status, ...body };
}
