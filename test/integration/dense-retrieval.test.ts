import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cropRgb } from '../../src/inference/vision/image-preprocess.js';
import { decodeRgb } from '../helpers/decode.js';
import { CandidateService } from '../../src/services/candidate-service.js';
import { loadFixtureNations, readFixture, toDataUrl } from '../helpers/fixtures.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import sharp from 'sharp';

let t: TestApp;

const REGISTER = `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`;
const CANDIDATES = `query ($mention: String, $image: ImageInput, $box: BoxInput, $domain: String) {
  candidates(mention: $mention, image: $image, box: $box, domain: $domain, limit: 5) {
    score entity { id } generators { generator score rank }
  }
}`;

interface CandidateData {
  candidates: {
    score: number;
    entity: { id: string };
    generators: { generator: string; score: number }[];
  }[];
}

const photos = {
  dog: 'test/fixtures/images/darknet-dog.jpg',
  eagle: 'test/fixtures/images/darknet-eagle-384.jpg',
  giraffe: 'test/fixtures/images/darknet-giraffe-384.jpg',
};

beforeAll(async () => {
  t = await startTestApp();
  for (const nation of loadFixtureNations().values()) {
    const result = await t.graphql(REGISTER, {
      input: {
        id: `${t.prefix}${nation.id}`,
        name: nation.name,
        aliases: nation.aliases,
        description: nation.description,
        domain: t.domain,
        images: nation.images.map((image) => ({ dataUrl: toDataUrl(readFixture(image.path)) })),
      },
    });
    expect(result.errors).toBeUndefined();
  }
  for (const [key, file] of Object.entries(photos)) {
    const result = await t.graphql(REGISTER, {
      input: {
        id: `${t.prefix}photo:${key}`,
        name: `Photo ${key}`,
        domain: t.domain,
        images: [{ dataUrl: toDataUrl(readFixture(file), 'image/jpeg') }],
      },
    });
    expect(result.errors).toBeUndefined();
  }
});

afterAll(async () => {
  await t?.close();
});

async function candidates(variables: Record<string, unknown>) {
  const result = await t.graphql<CandidateData>(CANDIDATES, { domain: t.domain, ...variables });
  expect(result.errors).toBeUndefined();
  return result.data?.candidates ?? [];
}

describe('cached vectors', () => {
  it('stores a text vector on every entity and a vector on every image at registration', async () => {
    const status = await t.graphql<{ encodingStatus: Record<string, unknown> }>(
      '{ encodingStatus { bundle textEncoder imageEncoder } }',
    );
    const { bundle, textEncoder, imageEncoder } = status.data?.encodingStatus ?? {};
    expect(bundle).toBe(t.app.backend.encoders?.bundleId);
    expect(bundle).toMatch(/^polylink-default@/);
    const robustDimension = t.app.backend.encoders?.image?.robustDimension ?? null;
    const rows = await t.graph.read('test.vectors', (tx) =>
      tx.query<{
        id: string;
        dims: number;
        encoder: string;
        imageDims: number[];
        robustDims: (number | null)[];
        imageEncoders: string[];
      }>(
        `MATCH (e:Entity) WHERE e.id STARTS WITH $prefix
         OPTIONAL MATCH (e)-[:HAS_IMAGE]->(i:Image)
         RETURN e.id AS id, size(e.textEmbedding) AS dims, e.textEncoder AS encoder,
                collect(size(i.embedding)) AS imageDims,
                collect(coalesce(size(i.robustEmbedding), -1)) AS robustDims,
                collect(i.imageEncoder) AS imageEncoders`,
        { prefix: t.prefix },
      ),
    );
    expect(rows).toHaveLength(9);
    for (const row of rows) {
      expect(row.dims).toBe(t.textDimension);
      expect(row.encoder).toBe(textEncoder);
      expect(row.imageDims.every((d) => d === t.imageDimension)).toBe(true);
      expect(row.imageEncoders.every((e) => e === imageEncoder)).toBe(true);
      // The style-robust vector sits next to the encoder's when the bundle has the head.
      expect(row.robustDims.every((d) => d === (robustDimension ?? -1))).toBe(true);
    }
  });
});

describe('dense candidate generation', () => {
  it('finds an entity from a paraphrase of its description that shares no name with it', async () => {
    // American's legend: independence from Great Britain, a constitution in 1789, expansion west.
    const list = await candidates({
      mention: 'the country that broke away from British rule in the late eighteenth century',
    });
    const american = list.find((c) => c.entity.id === `${t.prefix}freeciv-nation:american`);
    expect(american?.generators.map((g) => g.generator)).toContain('DENSE_TEXT');
    expect(list[0]?.entity.id).toBe(`${t.prefix}freeciv-nation:american`);
  });

  it('finds an entity from a crop of one of its images', async () => {
    const dog = await decodeRgb(readFixture(photos.dog));
    const crop = await cropRgb(dog, { x: 120, y: 200, width: 220, height: 340 });
    const png = await sharp(crop.rgb, {
      raw: { width: crop.width, height: crop.height, channels: 3 },
    })
      .png()
      .toBuffer();
    const list = await candidates({ image: { dataUrl: toDataUrl(png) } });
    expect(list[0]?.entity.id).toBe(`${t.prefix}photo:dog`);
    expect(list[0]?.generators.map((g) => g.generator)).toEqual(
      t.app.backend.encoders?.image?.robustDimension
        ? ['DENSE_IMAGE', 'DENSE_IMAGE_ROBUST']
        : ['DENSE_IMAGE'],
    );
  });

  it('gives linkImage the same lists with the key fields only', async () => {
    const encoders = t.app.backend.encoders!;
    const service = new CandidateService(t.app.backend.graph, t.config.limits, encoders);
    const query = {
      mention: 'dog nation',
      textVector: await encoders.text!.encodeQuery('dog nation'),
      imageVector: await encoders.image!.encodeImage(readFixture(photos.dog)),
      limit: 20,
      domain: t.domain,
    };
    const full = await service.search(query);
    const keys = await service.searchKeys(query);
    expect(full.length).toBeGreaterThan(3);
    expect(keys.map((c) => [c.entity.id, c.score, c.generators])).toEqual(
      full.map((c) => [c.entity.id, c.score, c.generators]),
    );
    expect(keys[0]?.entity).toEqual({
      id: full[0]!.entity.id,
      name: full[0]!.entity.name,
      aliases: full[0]!.entity.aliases,
      contentHash: full[0]!.entity.contentHash,
    });
  });

  it('takes a box of a stored image instead of a crop', async () => {
    const stored = await t.graphql<{ entity: { images: { sha256: string }[] } }>(
      'query ($id: ID!) { entity(id: $id) { images { sha256 } } }',
      { id: `${t.prefix}photo:eagle` },
    );
    const sha256 = stored.data?.entity.images[0]?.sha256;
    const list = await candidates({
      image: { sha256 },
      box: { x: 40, y: 20, width: 300, height: 220 },
    });
    expect(list[0]?.entity.id).toBe(`${t.prefix}photo:eagle`);
  });

  it('rejects a query with neither mention nor image', async () => {
    const result = await t.graphql(CANDIDATES, { domain: t.domain });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('re-encoding', () => {
  it('rejects a batch size out of range with BAD_USER_INPUT', async () => {
    const result = await t.graphql('mutation { reencodeEntities(batchSize: 0) { state } }');
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'batchSize',
    });
  });

  it('re-encodes stale vectors in the background and reports progress', async () => {
    const id = `${t.prefix}freeciv-nation:roman`;
    await t.graph.write('test.stale', (tx) =>
      tx.query("MATCH (e:Entity {id: $id}) SET e.textEncoder = 'text:from-an-old-bundle'", { id }),
    );
    const before = await t.graphql<{ encodingStatus: { staleEntities: number } }>(
      '{ encodingStatus { staleEntities } }',
    );
    expect(before.data?.encodingStatus.staleEntities).toBeGreaterThanOrEqual(1);
    const started = await t.graphql<{ reencodeEntities: { state: string; total: number } }>(
      'mutation { reencodeEntities(batchSize: 2) { state total } }',
    );
    expect(started.errors).toBeUndefined();
    expect(started.data?.reencodeEntities.total).toBeGreaterThanOrEqual(1);
    let state = started.data?.reencodeEntities.state;
    for (let attempt = 0; attempt < 100 && state === 'RUNNING'; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const status = await t.graphql<{ encodingStatus: { job: { state: string } } }>(
        '{ encodingStatus { job { state } } }',
      );
      state = status.data?.encodingStatus.job.state;
    }
    expect(state).toBe('SUCCEEDED');
    const after = await t.graphql<{
      encodingStatus: { staleEntities: number; textEncoder: string };
    }>('{ encodingStatus { staleEntities textEncoder } }');
    expect(after.data?.encodingStatus.staleEntities).toBe(0);
    const [row] = await t.graph.read('test.encoder', (tx) =>
      tx.query<{ encoder: string }>('MATCH (e:Entity {id: $id}) RETURN e.textEncoder AS encoder', {
        id,
      }),
    );
    expect(row?.encoder).toBe(after.data?.encodingStatus.textEncoder);
  });
});
