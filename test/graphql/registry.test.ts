import { describe, expect, it, vi } from 'vitest';
import {
  BadInputError,
  ConflictError,
  ErrorCode,
  ImageError,
  NotFoundError,
} from '../../src/errors.js';
import type { Services } from '../../src/backend.js';
import type { EntityRecord, ImageRecord } from '../../src/neo4j/entity-repository.js';
import { createTestServer, errorCodes, execute } from '../helpers/graphql.js';

const server = createTestServer();

const french: EntityRecord = {
  id: 'freeciv-nation:french',
  name: 'French',
  aliases: ['Frenchmen'],
  description: 'A nation of western Europe.',
  domain: 'freeciv-nations',
  tags: ['European'],
  contentHash: 'h1',
  createdAt: '2026-11-25T10:00:00Z',
  updatedAt: '2026-11-25T10:00:00Z',
};
const flag: ImageRecord = {
  sha256: 'a'.repeat(64),
  mime: 'image/png',
  format: 'png',
  width: 44,
  height: 30,
  byteSize: 812,
  url: `http://127.0.0.1:4000/images/${'a'.repeat(64)}`,
  createdAt: '2026-11-25T10:00:00Z',
};

function fakeServices(
  overrides: Partial<{ [K in keyof Services]: Partial<Services[K]> }> = {},
): Services {
  const unexpected = () => {
    throw new Error('not expected in this test');
  };
  return {
    entities: {
      register: vi.fn(unexpected),
      registerMany: vi.fn(unexpected),
      update: vi.fn(unexpected),
      delete: vi.fn(unexpected),
      ...overrides.entities,
    },
    queries: {
      findByIds: vi.fn(async (ids: readonly string[]) =>
        [french].filter((e) => ids.includes(e.id)),
      ),
      imagesOf: vi.fn(async (ids: readonly string[]) => new Map(ids.map((id) => [id, [flag]]))),
      image: vi.fn(unexpected),
      domains: vi.fn(unexpected),
      page: vi.fn(unexpected),
      ...overrides.queries,
    },
    candidates: { generate: vi.fn(unexpected), ...overrides.candidates },
    encoding: {
      status: vi.fn(unexpected),
      start: vi.fn(unexpected),
      run: vi.fn(unexpected),
      ...overrides.encoding,
    },
    images: { read: vi.fn(unexpected), ...overrides.images },
    linking: {
      link: vi.fn(unexpected),
      linkedImage: vi.fn(unexpected),
      linkedImagesOf: vi.fn(unexpected),
      ...overrides.linking,
    },
  };
}

describe('entity queries', () => {
  it('returns an entity with its images, batching image loads across entities', async () => {
    const services = fakeServices();
    const result = await execute(
      server,
      services,
      `{ a: entity(id: "freeciv-nation:french") { name aliases images { sha256 url width } }
         b: entity(id: "freeciv-nation:french") { id } missing: entity(id: "nope") { id } }`,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      a: {
        name: 'French',
        aliases: ['Frenchmen'],
        images: [{ sha256: flag.sha256, url: flag.url, width: 44 }],
      },
      b: { id: 'freeciv-nation:french' },
      missing: null,
    });
    // One DataLoader batch for all three entity fields.
    expect(services.queries.findByIds).toHaveBeenCalledTimes(1);
  });

  it('pages entities with opaque cursors', async () => {
    const page = vi.fn(async () => ({ entities: [french], hasNextPage: true, totalCount: 7 }));
    const result = await execute<{
      entities: { edges: { cursor: string }[]; pageInfo: unknown; totalCount: number };
    }>(
      server,
      fakeServices({ queries: { page } }),
      '{ entities(first: 1, domain: "freeciv-nations") { edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }',
    );
    expect(result.errors).toBeUndefined();
    expect(page).toHaveBeenCalledWith({ first: 1, domain: 'freeciv-nations' });
    const cursor = result.data?.entities.edges[0]?.cursor;
    expect(cursor).toBeTypeOf('string');
    expect(cursor).not.toContain('french');
    expect(result.data?.entities.pageInfo).toEqual({ hasNextPage: true, endCursor: cursor });
    expect(result.data?.entities.totalCount).toBe(7);
  });
});

describe('candidates', () => {
  it('returns candidates with provenance and passes arguments through', async () => {
    const generate = vi.fn(async () => [
      {
        entity: french,
        score: 0.93,
        generators: [
          { generator: 'BM25' as const, score: 1, rank: 1, matchedName: null },
          { generator: 'CONTAINMENT' as const, score: 1, rank: 1, matchedName: 'French' },
        ],
      },
    ]);
    const result = await execute(
      server,
      fakeServices({ candidates: { generate } }),
      '{ candidates(mention: "the French", limit: 5) { score entity { id } generators { generator score rank matchedName } } }',
    );
    expect(result.errors).toBeUndefined();
    expect(generate).toHaveBeenCalledWith({ mention: 'the French', limit: 5, image: null });
    expect(result.data).toEqual({
      candidates: [
        {
          score: 0.93,
          entity: { id: 'freeciv-nation:french' },
          generators: [
            { generator: 'BM25', score: 1, rank: 1, matchedName: null },
            { generator: 'CONTAINMENT', score: 1, rank: 1, matchedName: 'French' },
          ],
        },
      ],
    });
  });

  it('reads an image argument and passes its bytes and box on', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const read = vi.fn(async () => bytes);
    const generate = vi.fn(async () => []);
    const result = await execute(
      server,
      fakeServices({ candidates: { generate }, images: { read } }),
      `query ($image: ImageInput!) {
        candidates(image: $image, box: { x: 1, y: 2, width: 30, height: 40 }) { score }
      }`,
      { image: { sha256: flag.sha256 } },
    );
    expect(result.errors).toBeUndefined();
    expect(read).toHaveBeenCalledWith({ kind: 'stored', sha256: flag.sha256 });
    expect(generate).toHaveBeenCalledWith({
      limit: 20,
      image: { bytes, box: { x: 1, y: 2, width: 30, height: 40 } },
    });
  });

  it('reports invalid arguments as BAD_USER_INPUT with the field', async () => {
    const generate = vi.fn(async () => {
      throw new BadInputError('limit must be between 1 and 100', { field: 'limit' });
    });
    const result = await execute(
      server,
      fakeServices({ candidates: { generate } }),
      '{ candidates(mention: "x", limit: 0) { score } }',
    );
    expect(errorCodes(result)).toEqual([ErrorCode.BadUserInput]);
    expect(result.errors?.[0]?.extensions?.field).toBe('limit');
  });
});

describe('registration', () => {
  const mutation = `mutation ($input: EntityInput!) {
    registerEntity(input: $input) { status entity { id images { sha256 } } }
  }`;

  it('maps image inputs to sources and returns the status', async () => {
    const register = vi.fn(async () => ({ entity: french, status: 'CREATED' as const }));
    const result = await execute(server, fakeServices({ entities: { register } }), mutation, {
      input: {
        id: french.id,
        name: 'French',
        images: [{ dataUrl: 'data:image/png;base64,AAAA' }, { sha256: flag.sha256 }],
      },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({
      registerEntity: { status: 'CREATED', entity: { id: french.id } },
    });
    expect(register).toHaveBeenCalledWith(
      expect.objectContaining({
        id: french.id,
        images: [
          { kind: 'dataUrl', dataUrl: 'data:image/png;base64,AAAA' },
          { kind: 'stored', sha256: flag.sha256 },
        ],
      }),
      expect.any(AbortSignal),
    );
  });

  it('rejects an image input with two sources before calling the service', async () => {
    const register = vi.fn();
    const result = await execute(server, fakeServices({ entities: { register } }), mutation, {
      input: { id: 'x', name: 'X', images: [{ dataUrl: 'data:,', sha256: flag.sha256 }] },
    });
    expect(errorCodes(result)).toEqual([ErrorCode.BadUserInput]);
    expect(register).not.toHaveBeenCalled();
  });

  it.each([
    [
      'INVALID_IMAGE',
      new ImageError('images[0]: corrupt', ErrorCode.InvalidImage, { imageIndex: 0 }),
    ],
    ['IMAGE_TOO_LARGE', new ImageError('too large', ErrorCode.ImageTooLarge)],
    ['CONFLICT', new ConflictError('exists with different content')],
    ['NOT_FOUND', new NotFoundError('Image', 'abc')],
  ])('passes %s through with its message', async (code, error) => {
    const register = vi.fn(async () => {
      throw error;
    });
    const result = await execute(server, fakeServices({ entities: { register } }), mutation, {
      input: { id: 'x', name: 'X' },
    });
    expect(errorCodes(result)).toEqual([code]);
    expect(result.errors?.[0]?.message).toBe(error.message);
    expect(result.data).toBeNull();
  });

  it('masks unexpected errors', async () => {
    const register = vi.fn(async () => {
      throw new Error('Neo.DatabaseError.Something: secret internals');
    });
    const result = await execute(server, fakeServices({ entities: { register } }), mutation, {
      input: { id: 'x', name: 'X' },
    });
    expect(errorCodes(result)).toEqual([ErrorCode.InternalServerError]);
    expect(result.errors?.[0]?.message).toBe('Internal server error');
    expect(JSON.stringify(result.errors)).not.toContain('secret');
  });

  it('rejects a missing required field at validation', async () => {
    const result = await execute(server, fakeServices(), mutation, { input: { id: 'x' } });
    expect(errorCodes(result)).toEqual(['BAD_USER_INPUT']);
  });

  it('rejects an unknown field as a validation error', async () => {
    const result = await execute(server, fakeServices(), '{ entity(id: "x") { colour } }');
    expect(errorCodes(result)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('passes only the given patch fields to updateEntity', async () => {
    const update = vi.fn(async () => french);
    const result = await execute(
      server,
      fakeServices({ entities: { update } }),
      'mutation { updateEntity(id: "freeciv-nation:french", patch: { description: "New." }) { id } }',
    );
    expect(result.errors).toBeUndefined();
    expect(update).toHaveBeenCalledWith(
      'freeciv-nation:french',
      { description: 'New.', images: null },
      expect.any(AbortSignal),
    );
  });
});
