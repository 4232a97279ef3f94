import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ErrorCode } from '../../src/errors.js';
import { LocalImageStore } from '../../src/images/local-image-store.js';
import { createLogger } from '../../src/logger.js';
import type { Graph } from '../../src/neo4j/driver.js';
import { graphSidesOf } from '../../src/linking/graph-sides.js';
import { nilThresholds, type LinkTriple } from '../../src/linking/link-result.js';
import type { LinkingModels } from '../../src/linking/linking-models.js';
import { LinkingService } from '../../src/linking/linking-service.js';

function service(models: LinkingModels | null): LinkingService {
  const unused = () => {
    throw new Error('not expected in this test');
  };
  return new LinkingService({
    graph: { read: unused, write: unused } as unknown as Graph,
    candidates: { searchKeys: unused, searchKeysMany: unused },
    imageStore: new LocalImageStore('/nonexistent'),
    imageReader: { read: unused, readSent: unused },
    config: {
      images: {
        storeDir: '/nonexistent',
        maxBytes: 1024,
        maxPixels: 100,
        maxSide: 100,
        svg: 'rasterize',
        maxSvgPixels: 100,
        decodeTimeoutMs: 1000,
        maxPerEntity: 1,
      },
      limits: { ...parseConfig({}).limits, maxBatchSize: 1, maxPageSize: 10, maxCandidates: 100 },
      models: { candidateVectorCache: 0 },
      linking: {
        mentionOverlap: 'longest-first',
        maxProposedRegions: 5,
        contrastProposals: true,
        proposalOcrMinSide: 320,
      },
    },
    publicBaseUrl: 'http://127.0.0.1:4000',
    logger: createLogger('silent'),
    models,
  });
}

const input = {
  image: { kind: 'dataUrl' as const, dataUrl: 'data:image/png;base64,AAAA' },
  caption: 'A fearful face.',
  mentions: null,
  regions: null,
  pairs: null,
  candidates: 100,
  nilThreshold: null,
  domain: null,
};

describe('LinkingService without a linker', () => {
  it('fails with INFERENCE_FAILED, saying the bundle has no linker, before reading the image', async () => {
    for (const models of [
      null,
      {
        bundleId: 'b@1',
        linker: null,
        tokens: null,
        text: null,
        image: null,
        vision: () => Promise.reject(new Error('unused')),
      },
    ]) {
      const failure = service(models).link(input);
      await expect(failure).rejects.toMatchObject({
        extensions: { code: ErrorCode.InferenceFailed },
      });
      await expect(failure).rejects.toThrow(/the model bundle has no linker/);
    }
  });

  it('checks the request first: BAD_USER_INPUT beats the missing linker', async () => {
    await expect(
      service(null).link({ ...input, mentions: [{ start: 0, end: 99 }] }),
    ).rejects.toMatchObject({ extensions: { code: ErrorCode.BadUserInput, field: 'mentions' } });
  });

  it('refuses a malformed sha256 and an out-of-range first', async () => {
    await expect(service(null).linkedImage('abc', null)).rejects.toMatchObject({
      extensions: { code: ErrorCode.BadUserInput, field: 'sha256' },
    });
    await expect(service(null).linkedImagesOf(['x'], 0)).rejects.toMatchObject({
      extensions: { field: 'first' },
    });
  });
});

describe('graphSidesOf', () => {
  const mention = { start: 2, end: 14, text: 'fearful face', source: 'GIVEN' as const };
  const region = {
    box: { x: 1, y: 2, width: 3, height: 4 },
    source: 'DETECTOR' as const,
    label: 'person',
    score: 0.4,
  };
  const decided = { nil: false, score: 15, alternatives: [], nilThreshold: 12 };
  const triples: LinkTriple[] = [
    { mention, region, entityId: 'e1', ...decided },
    { mention, region: null, entityId: 'e2', ...decided },
    {
      mention: null,
      region,
      entityId: null,
      nil: true,
      score: 3,
      alternatives: [],
      nilThreshold: 12,
    },
    { mention, region, entityId: null, nil: true, score: null, alternatives: [], nilThreshold: 12 },
  ];

  it('turns a linked pair into a MENTIONS and a DEPICTS link, a NIL triple into one Finding', () => {
    const { links, findings } = graphSidesOf(triples);
    const storedMention = { start: 2, end: 14, text: 'fearful face', source: 'GIVEN' };
    const storedRegion = { x: 1, y: 2, width: 3, height: 4, label: 'person', source: 'DETECTOR' };
    expect(links).toEqual([
      {
        triple: 0,
        kind: 'MENTION',
        entityId: 'e1',
        score: 15,
        mention: storedMention,
        region: null,
      },
      {
        triple: 0,
        kind: 'REGION',
        entityId: 'e1',
        score: 15,
        mention: null,
        region: { ...storedRegion, score: 0.4 },
      },
      {
        triple: 1,
        kind: 'MENTION',
        entityId: 'e2',
        score: 15,
        mention: storedMention,
        region: null,
      },
    ]);
    expect(findings).toEqual([
      {
        triple: 2,
        kind: 'REGION',
        score: 3,
        mention: null,
        region: { ...storedRegion, score: 0.4 },
      },
      {
        triple: 3,
        kind: 'PAIR',
        score: null,
        mention: storedMention,
        region: { ...storedRegion, score: 0.4 },
      },
    ]);
  });
});

describe('nilThresholds', () => {
  const linker = { thresholds: { 'VT-KG': 12.9, 'V&T-KG': 12.9 }, calibration: null };

  it("takes the request's threshold for every kind, else the linker's for the task", () => {
    expect(nilThresholds(linker, 'VT-KG', 3)).toEqual({ pair: 3, mention: 3, region: 3 });
    expect(nilThresholds(linker, 'VT-KG', null)).toEqual({
      pair: 12.9,
      mention: 12.9,
      region: 12.9,
    });
  });

  it('takes a calibrated kind where the release has one', () => {
    const calibrated = {
      ...linker,
      calibration: {
        regionDenseImageWeight: 10,
        thresholds: { 'VT-KG': { region: 9.5 } },
        chosenOn: 'test',
      },
    };
    expect(nilThresholds(calibrated, 'VT-KG', null)).toEqual({
      pair: 12.9,
      mention: 12.9,
      region: 9.5,
    });
    expect(nilThresholds(calibrated, 'V&T-KG', null).region).toBe(12.9);
  });
});
