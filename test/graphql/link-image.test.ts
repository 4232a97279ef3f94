import { describe, expect, it, vi } from 'vitest';
import { BadInputError } from '../../src/errors.js';
import type { Services } from '../../src/backend.js';
import { InferenceError } from '../../src/inference/runtime/onnx-runtime.js';
import type { EntityRecord, ImageRecord } from '../../src/neo4j/entity-repository.js';
import type { LinkedImageRecord } from '../../src/neo4j/link-repository.js';
import type { LinkImageInput, LinkImageResult } from '../../src/linking/link-result.js';
import { createTestServer, errorCodes, execute } from '../helpers/graphql.js';

const server = createTestServer();

function entity(id: string, name: string): EntityRecord {
  return {
    id,
    name,
    aliases: [],
    description: '',
    domain: 'emoji',
    tags: [],
    contentHash: 'h',
    createdAt: '2026-11-25T10:00:00Z',
    updatedAt: '2026-11-25T10:00:00Z',
  };
}
const ENTITIES = [entity('emoji:1F628', 'fearful face'), entity('emoji:1F615', 'confused face')];

const image: ImageRecord = {
  sha256: 'b'.repeat(64),
  mime: 'image/jpeg',
  format: 'jpeg',
  width: 320,
  height: 160,
  byteSize: 9000,
  url: `http://127.0.0.1:4000/images/${'b'.repeat(64)}`,
  createdAt: '2026-11-25T10:00:00Z',
};

const RESULT: LinkImageResult = {
  image,
  task: 'V&T-KG',
  model: 'linker:0123456789abcdef',
  modelName: 'zemel-poly@1.0.0',
  nilThreshold: 12.9,
  nilThresholds: { pair: 12.9, mention: 12.9, region: 0.5 },
  linkedAt: '2026-11-25T11:00:00Z',
  triples: [
    {
      mention: { start: 2, end: 14, text: 'fearful face', source: 'GIVEN' },
      region: {
        box: { x: 1, y: 2, width: 30, height: 40 },
        source: 'GIVEN',
        label: null,
        score: null,
      },
      entityId: 'emoji:1F628',
      nil: false,
      nilThreshold: 12.9,
      score: 20.5,
      alternatives: [{ entityId: 'emoji:1F615', score: 11 }],
    },
    {
      mention: null,
      region: {
        box: { x: 50, y: 60, width: 10, height: 10 },
        source: 'DETECTOR',
        label: 'stop sign',
        score: 0.3,
      },
      entityId: null,
      nil: true,
      nilThreshold: 0.5,
      score: 7.1,
      alternatives: [
        { entityId: 'emoji:1F615', score: 7.1 },
        { entityId: 'emoji:1F628', score: 6 },
      ],
    },
  ],
  timing: [
    { stage: 'decode', ms: 3.2 },
    { stage: 'total', ms: 120.4 },
  ],
};

const LINKED: LinkedImageRecord = {
  sha256: image.sha256,
  model: RESULT.model,
  modelName: RESULT.modelName,
  bundle: 'polylink-default@1.0.0',
  caption: 'A fearful face in the sky.',
  task: 'V&T-KG',
  nilThreshold: 12.9,
  domain: null,
  linkedAt: RESULT.linkedAt,
  image,
  links: [
    {
      triple: 0,
      kind: 'MENTION',
      entityId: 'emoji:1F628',
      score: 20.5,
      mention: { start: 2, end: 14, text: 'fearful face', source: 'GIVEN' },
      region: null,
    },
    {
      triple: 0,
      kind: 'REGION',
      entityId: 'emoji:1F628',
      score: 20.5,
      mention: null,
      region: { x: 1, y: 2, width: 30, height: 40, label: null, source: 'GIVEN', score: null },
    },
    {
      triple: 2,
      kind: 'MENTION',
      entityId: 'emoji:1F615',
      score: 14,
      mention: { start: 20, end: 23, text: 'sky', source: 'NOUN_PHRASE' },
      region: null,
    },
  ],
  findings: [
    {
      triple: 1,
      kind: 'REGION',
      score: 7.1,
      mention: null,
      region: {
        x: 50,
        y: 60,
        width: 10,
        height: 10,
        label: 'stop sign',
        source: 'DETECTOR',
        score: 0.3,
      },
    },
  ],
};

function fakeServices(linking: Partial<Services['linking']> = {}) {
  const unexpected = () => {
    throw new Error('not expected in this test');
  };
  const findByIds = vi.fn(async (ids: readonly string[]) =>
    ENTITIES.filter((e) => ids.includes(e.id)),
  );
  const services: Services = {
    entities: {
      register: vi.fn(unexpected),
      registerMany: vi.fn(unexpected),
      update: vi.fn(unexpected),
      delete: vi.fn(unexpected),
    },
    queries: {
      findByIds,
      imagesOf: vi.fn(async (ids: readonly string[]) => new Map(ids.map((id) => [id, []]))),
      image: vi.fn(unexpected),
      domains: vi.fn(unexpected),
      page: vi.fn(unexpected),
    },
    candidates: { generate: vi.fn(unexpected) },
    encoding: { status: vi.fn(unexpected), start: vi.fn(unexpected), run: vi.fn(unexpected) },
    images: { read: vi.fn(unexpected) },
    linking: {
      link: vi.fn(async () => RESULT),
      linkedImage: vi.fn(async () => LINKED),
      linkedImagesOf: vi.fn(
        async (ids: readonly string[]) =>
          new Map(
            ids.map((id) => [id, LINKED.links.some((l) => l.entityId === id) ? [LINKED] : []]),
          ),
      ),
      ...linking,
    },
  };
  return { services, findByIds };
}

const LINK = `mutation ($input: LinkImageInput!) {
  linkImage(input: $input) {
    task model modelName nilThreshold linkedAt
    nilThresholds { pair mention region }
    image { sha256 url }
    triples {
      nil score nilThreshold
      mention { text start end source }
      region { x y width height label score source }
      entity { id name }
      alternatives { score entity { id name } }
    }
    timing { stage ms }
  }
}`;

const dataUrl = 'data:image/jpeg;base64,/9j/AAAA';

describe('linkImage', () => {
  it('passes the input on with its defaults and resolves every entity in one batch', async () => {
    const { services, findByIds } = fakeServices();
    const result = await execute<{ linkImage: Record<string, unknown> }>(server, services, LINK, {
      input: { image: { dataUrl }, caption: 'A fearful face.', pairs: [{ mention: 0, region: 0 }] },
    });
    expect(result.errors).toBeUndefined();
    const expected: LinkImageInput = {
      image: { kind: 'dataUrl', dataUrl },
      caption: 'A fearful face.',
      mentions: null,
      regions: null,
      pairs: [{ mention: 0, region: 0 }],
      candidates: 100,
      nilThreshold: null,
      domain: null,
    };
    expect(services.linking.link).toHaveBeenCalledWith(expected, expect.any(AbortSignal));
    expect(findByIds).toHaveBeenCalledTimes(1);
    expect(result.data?.linkImage).toEqual({
      task: 'V&T-KG',
      model: 'linker:0123456789abcdef',
      modelName: 'zemel-poly@1.0.0',
      nilThreshold: 12.9,
      nilThresholds: { pair: 12.9, mention: 12.9, region: 0.5 },
      linkedAt: '2026-11-25T11:00:00Z',
      image: { sha256: image.sha256, url: image.url },
      triples: [
        {
          nil: false,
          nilThreshold: 12.9,
          score: 20.5,
          mention: { text: 'fearful face', start: 2, end: 14, source: 'GIVEN' },
          region: { x: 1, y: 2, width: 30, height: 40, label: null, score: null, source: 'GIVEN' },
          entity: { id: 'emoji:1F628', name: 'fearful face' },
          alternatives: [{ score: 11, entity: { id: 'emoji:1F615', name: 'confused face' } }],
        },
        {
          nil: true,
          nilThreshold: 0.5,
          score: 7.1,
          mention: null,
          region: {
            x: 50,
            y: 60,
            width: 10,
            height: 10,
            label: 'stop sign',
            score: 0.3,
            source: 'DETECTOR',
          },
          entity: null,
          alternatives: [
            { score: 7.1, entity: { id: 'emoji:1F615', name: 'confused face' } },
            { score: 6, entity: { id: 'emoji:1F628', name: 'fearful face' } },
          ],
        },
      ],
      timing: [
        { stage: 'decode', ms: 3.2 },
        { stage: 'total', ms: 120.4 },
      ],
    });
  });

  it('passes given spans, boxes, candidates, threshold and domain as sent', async () => {
    const { services } = fakeServices();
    const input = {
      image: { sha256: 'c'.repeat(64) },
      caption: 'A fearful face.',
      mentions: [{ start: 2, end: 14 }],
      regions: [{ x: 1, y: 2, width: 3, height: 4 }],
      candidates: 5,
      nilThreshold: 3.5,
      domain: 'emoji',
    };
    const result = await execute(server, services, LINK, { input });
    expect(result.errors).toBeUndefined();
    expect(services.linking.link).toHaveBeenCalledWith(
      { ...input, image: { kind: 'stored', sha256: 'c'.repeat(64) }, pairs: null },
      expect.any(AbortSignal),
    );
  });

  it('needs exactly one image source', async () => {
    const { services } = fakeServices();
    const result = await execute(server, services, LINK, {
      input: { image: { dataUrl, sha256: 'c'.repeat(64) }, caption: 'x' },
    });
    expect(errorCodes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.field).toBe('image');
    expect(services.linking.link).not.toHaveBeenCalled();
  });

  it('passes the service’s documented errors through', async () => {
    const bad = fakeServices({
      link: vi.fn(async () => {
        throw new BadInputError('mentions[0] is not a span', { field: 'mentions' });
      }),
    });
    const badResult = await execute(server, bad.services, LINK, {
      input: { image: { dataUrl }, caption: 'x' },
    });
    expect(errorCodes(badResult)).toEqual(['BAD_USER_INPUT']);

    const noLinker = fakeServices({
      link: vi.fn(async () => {
        throw new InferenceError(
          'linkImage needs the trained linker, and the model bundle has no linker',
        );
      }),
    });
    const result = await execute(server, noLinker.services, LINK, {
      input: { image: { dataUrl }, caption: 'x' },
    });
    expect(errorCodes(result)).toEqual(['INFERENCE_FAILED']);
    expect(result.errors?.[0]?.message).toMatch(/the model bundle has no linker/);
  });

  it('rejects a wrongly typed input before the service is called', async () => {
    const { services } = fakeServices();
    const result = await execute(server, services, LINK, {
      input: { image: { dataUrl }, caption: 'x', pairs: [{ mention: 'a', region: 0 }] },
    });
    expect(errorCodes(result)).toEqual(['BAD_USER_INPUT']);
    expect(services.linking.link).not.toHaveBeenCalled();
  });
});

describe('stored links', () => {
  it('returns a linked image with its links, entities and findings', async () => {
    const { services } = fakeServices();
    const result = await execute<{ linkedImage: Record<string, unknown> }>(
      server,
      services,
      `{ linkedImage(sha256: "${image.sha256}") {
           sha256 model caption task linkedAt image { url }
           links { triple kind score entity { name } mention { text source } region { x label source } }
           findings { triple kind score mention { text } region { x y label score source } } } }`,
    );
    expect(result.errors).toBeUndefined();
    expect(services.linking.linkedImage).toHaveBeenCalledWith(image.sha256, null);
    expect(result.data?.linkedImage).toMatchObject({
      task: 'V&T-KG',
      links: [
        { triple: 0, kind: 'MENTION', entity: { name: 'fearful face' }, region: null },
        {
          triple: 0,
          kind: 'REGION',
          mention: null,
          region: { x: 1, label: null, source: 'GIVEN' },
        },
        { triple: 2, kind: 'MENTION', mention: { text: 'sky', source: 'NOUN_PHRASE' } },
      ],
      findings: [
        {
          triple: 1,
          kind: 'REGION',
          score: 7.1,
          mention: null,
          region: { x: 50, y: 60, label: 'stop sign', score: 0.3, source: 'DETECTOR' },
        },
      ],
    });
  });

  it('lists an entity’s linked images with its own links, batched across entities', async () => {
    const { services } = fakeServices();
    const result = await execute<{
      a: {
        linkedImages: {
          score: number;
          links: { kind: string }[];
          linkedImage: { caption: string };
        }[];
      };
      b: { linkedImages: { score: number; links: { kind: string }[] }[] };
    }>(
      server,
      services,
      `{ a: entity(id: "emoji:1F628") { linkedImages(first: 5) { score links { kind } linkedImage { caption } } }
         b: entity(id: "emoji:1F615") { linkedImages(first: 5) { score links { kind } } } }`,
    );
    expect(result.errors).toBeUndefined();
    expect(services.linking.linkedImagesOf).toHaveBeenCalledTimes(1);
    expect(services.linking.linkedImagesOf).toHaveBeenCalledWith(['emoji:1F628', 'emoji:1F615'], 5);
    expect(result.data?.a.linkedImages).toEqual([
      {
        score: 20.5,
        links: [{ kind: 'MENTION' }, { kind: 'REGION' }],
        linkedImage: { caption: LINKED.caption },
      },
    ]);
    expect(result.data?.b.linkedImages).toEqual([{ score: 14, links: [{ kind: 'MENTION' }] }]);
  });
});
