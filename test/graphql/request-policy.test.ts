import { describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../src/auth/api-keys.js';
import type { Services } from '../../src/backend.js';
import type { EntityRecord } from '../../src/neo4j/entity-repository.js';
import type { LinkedImageRecord } from '../../src/neo4j/link-repository.js';
import { createTestServer, errorCodes, executeAs } from '../helpers/graphql.js';

const READER: Principal = { keyId: 'r', keyName: 'reader', role: 'read' };
const LINKER: Principal = { keyId: 'l', keyName: 'linker', role: 'link' };
const NOBODY: Principal = { keyId: null, keyName: null, role: null };

const ENTITY: EntityRecord = {
  id: 'emoji:1F628',
  name: 'fearful face',
  aliases: [],
  description: '',
  domain: 'emoji',
  tags: [],
  contentHash: 'h',
  createdAt: '2026-11-25T10:00:00Z',
  updatedAt: '2026-11-25T10:00:00Z',
};

/** Every service call is a spy: a refused request must reach none of them. */
function spyServices() {
  const linked: LinkedImageRecord[] = [];
  const spies = {
    findByIds: vi.fn(() => Promise.resolve([ENTITY])),
    imagesOf: vi.fn(() => Promise.resolve(new Map())),
    linkedImagesOf: vi.fn(() => Promise.resolve(new Map([[ENTITY.id, linked]]))),
    link: vi.fn(() => Promise.reject(new Error('linkImage ran'))),
    register: vi.fn(() => Promise.reject(new Error('registerEntity ran'))),
    delete: vi.fn(() => Promise.resolve({ id: ENTITY.id, removedImages: [] })),
    generate: vi.fn(() => Promise.resolve([])),
  };
  const unexpected = () => Promise.reject(new Error('not expected in this test'));
  const services = {
    queries: {
      findByIds: spies.findByIds,
      imagesOf: spies.imagesOf,
      image: unexpected,
      domains: () => Promise.resolve([]),
      page: unexpected,
    },
    entities: {
      register: spies.register,
      registerMany: unexpected,
      update: unexpected,
      delete: spies.delete,
    },
    candidates: { generate: spies.generate },
    encoding: { status: unexpected, start: unexpected, run: unexpected },
    images: { read: unexpected },
    linking: { link: spies.link, linkedImage: unexpected, linkedImagesOf: spies.linkedImagesOf },
  } as unknown as Services;
  return { services, spies };
}

function nothingRan(spies: ReturnType<typeof spyServices>['spies']): void {
  for (const spy of Object.values(spies)) expect(spy).not.toHaveBeenCalled();
}

const LINK_FIELDS = '{ task }';
const linkCall = (alias: string) =>
  `${alias}: linkImage(input: { image: { sha256: "${'c'.repeat(64)}" }, caption: "x" }) ${LINK_FIELDS}`;

/** Finding 1 of issue 11: each level of entity -> linkedImages -> links -> entity doubles the work. */
function nestedLinkedImages(levels: number): string {
  let selection = '{ id }';
  for (let i = 0; i < levels; i += 1) {
    selection = `{ id linkedImages { links { entity ${selection} } } }`;
  }
  return `{ entity(id: "${ENTITY.id}") ${selection} }`;
}

describe('request policy: roles', () => {
  const server = createTestServer();

  it('lets a read key query but not register, link or delete', async () => {
    const { services, spies } = spyServices();
    const read = await executeAs(server, services, {
      query: `{ entity(id: "${ENTITY.id}") { id } }`,
      principal: READER,
    });
    expect(read.errors).toBeUndefined();
    for (const mutation of [
      `mutation { deleteEntity(id: "x") { id } }`,
      `mutation { registerEntity(input: { id: "a:b", name: "B" }) { status } }`,
      `mutation { ${linkCall('l')} }`,
    ]) {
      const refused = await executeAs(server, services, { query: mutation, principal: READER });
      expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
    }
    expect(spies.delete).not.toHaveBeenCalled();
    expect(spies.register).not.toHaveBeenCalled();
    expect(spies.link).not.toHaveBeenCalled();
  });

  it('lets a link key call linkImage but not delete, even through a fragment', async () => {
    const { services, spies } = spyServices();
    const linked = await executeAs(server, services, {
      query: `mutation { ${linkCall('l')} }`,
      principal: LINKER,
    });
    // The fake service fails: the point is that the policy let the call through.
    expect(spies.link).toHaveBeenCalledTimes(1);
    expect(errorCodes(linked)).toEqual(['INTERNAL_SERVER_ERROR']);
    const refused = await executeAs(server, services, {
      query: `mutation { ...Wipe } fragment Wipe on Mutation { deleteEntity(id: "x") { id } }`,
      principal: LINKER,
    });
    expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      field: 'deleteEntity',
      requiredRole: 'admin',
    });
    expect(spies.delete).not.toHaveBeenCalled();
  });

  it('refuses everything to a request without a role', async () => {
    const { services, spies } = spyServices();
    const result = await executeAs(server, services, {
      query: `{ entity(id: "${ENTITY.id}") { id } }`,
      principal: NOBODY,
    });
    expect(errorCodes(result)).toEqual(['UNAUTHENTICATED']);
    nothingRan(spies);
  });
});

describe('request policy: work limits', () => {
  const server = createTestServer();

  it('refuses the 50-deep linkedImages query of finding 1 before it runs', async () => {
    const { services, spies } = spyServices();
    const result = await executeAs(server, services, { query: nestedLinkedImages(16) });
    expect(errorCodes(result)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(result.errors?.[0]?.extensions?.limit).toBe('depth');
    expect(result.data).toBeUndefined();
    nothingRan(spies);
  });

  it('answers a query within the depth limit', async () => {
    const { services } = spyServices();
    const result = await executeAs(server, services, { query: nestedLinkedImages(2) });
    expect(result.errors).toBeUndefined();
  });

  it('refuses 500 aliases of linkImage or candidates (finding 3), and 30 aliases too', async () => {
    const { services, spies } = spyServices();
    const links = Array.from({ length: 500 }, (_, i) => linkCall(`l${i}`)).join(' ');
    // 500 aliases are over the token limit: parsing stops before validation.
    const linkResult = await executeAs(server, services, { query: `mutation { ${links} }` });
    expect(errorCodes(linkResult)).toEqual(['GRAPHQL_PARSE_FAILED']);
    const searches = (n: number) =>
      Array.from({ length: n }, (_, i) => `c${i}: candidates(mention: "France") { score }`).join(
        ' ',
      );
    const many = await executeAs(server, services, { query: `{ ${searches(500)} }` });
    expect(errorCodes(many)).toEqual(['GRAPHQL_PARSE_FAILED']);
    const thirty = await executeAs(server, services, { query: `{ ${searches(30)} }` });
    expect(errorCodes(thirty)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(thirty.errors?.[0]?.extensions?.limit).toBe('aliases');
    nothingRan(spies);
  });

  it('counts linkImage calls per request, fragments included', async () => {
    const { services, spies } = spyServices();
    const five = Array.from({ length: 5 }, (_, i) => linkCall(`l${i}`)).join(' ');
    const result = await executeAs(server, services, {
      query: `mutation { ...Links } fragment Links on Mutation { ${five} }`,
    });
    expect(errorCodes(result)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(result.errors?.[0]?.extensions).toMatchObject({ limit: 'linkImage', maxLinkImage: 4 });
    nothingRan(spies);
  });

  it('refuses a query whose estimated cost is over the limit', async () => {
    const { services, spies } = spyServices();
    const fields = 'id name aliases description domain tags createdAt updatedAt';
    const query = `{ entities(first: 200) { edges { node { ${fields}
      linkedImages(first: 200) { score links { triple kind score entity { ${fields} } } } } } } }`;
    const result = await executeAs(server, services, { query });
    expect(errorCodes(result)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(result.errors?.[0]?.extensions?.limit).toBe('cost');
    nothingRan(spies);
  });

  it('refuses a page size out of range before anything runs, rather than nulling the parent', async () => {
    const { services, spies } = spyServices();
    const result = await executeAs(server, services, {
      query: `{ entity(id: "${ENTITY.id}") { id linkedImages(first: -1) { score } } }`,
    });
    expect(errorCodes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.field).toBe('first');
    nothingRan(spies);
  });

  it('stops a document over the token limit at parse time', async () => {
    const { services, spies } = spyServices();
    const ids = Array.from({ length: 2500 }, () => 'id').join(' ');
    const result = await executeAs(server, services, {
      query: `{ entity(id: "${ENTITY.id}") { ${ids} } }`,
    });
    expect(errorCodes(result)).toEqual(['GRAPHQL_PARSE_FAILED']);
    nothingRan(spies);
  });
});

describe('request policy: operations the schema does not have', () => {
  it('answers a subscription with BAD_REQUEST, not an internal error (found by the fuzz)', async () => {
    const { services, spies } = spyServices();
    const result = await executeAs(createTestServer(), services, {
      query: 'subscription { __typename }',
    });
    expect(errorCodes(result)).toEqual(['BAD_REQUEST']);
    nothingRan(spies);
  });
});

describe('request policy: rate limits', () => {
  it('limits linkImage calls per key per minute, with the time to wait', async () => {
    const server = createTestServer({ POLYLINK_RATE_LINK_IMAGE: '2' });
    const { services, spies } = spyServices();
    const call = { query: `mutation { ${linkCall('l')} }`, principal: LINKER };
    await executeAs(server, services, call);
    await executeAs(server, services, call);
    const third = await executeAs(server, services, call);
    expect(errorCodes(third)).toEqual(['RATE_LIMITED']);
    expect(third.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    expect(spies.link).toHaveBeenCalledTimes(2);
    // Another key has its own budget.
    await executeAs(server, services, { ...call, principal: { ...LINKER, keyId: 'other' } });
    expect(spies.link).toHaveBeenCalledTimes(3);
  });
});

describe('production defaults', () => {
  it('turns introspection off unless asked for', async () => {
    const { services } = spyServices();
    const query = '{ __schema { queryType { name } } }';
    const off = await executeAs(createTestServer(), services, { query });
    expect(errorCodes(off)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const on = await executeAs(createTestServer({ POLYLINK_INTROSPECTION: 'true' }), services, {
      query,
    });
    expect(on.errors).toBeUndefined();
  });

  it('returns no stack trace for an unexpected error', async () => {
    const { services } = spyServices();
    const result = await executeAs(createTestServer(), services, {
      query: `mutation { ${linkCall('l')} }`,
    });
    expect(errorCodes(result)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(JSON.stringify(result.errors)).not.toMatch(/stacktrace|\/work\/|at /);
  });
});
