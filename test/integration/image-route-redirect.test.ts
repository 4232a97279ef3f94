import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { sha256Hex } from '../../src/images/image-store.js';
import { createLogger } from '../../src/logger.js';
import { readFixture, toDataUrl } from '../helpers/fixtures.js';
import { ensureTestBucket, s3SettingsEnv, testS3Settings } from '../helpers/s3-test-store.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

// GET /images/:sha256 with POLYLINK_IMAGE_SERVE=redirect: a 302 to a presigned URL of the bucket
// (SeaweedFS here), so the bytes bypass the service.
let t: TestApp;
beforeAll(async () => {
  await ensureTestBucket();
  t = await startTestApp({
    ...s3SettingsEnv(testS3Settings()),
    POLYLINK_IMAGE_SERVE: 'redirect',
    POLYLINK_MODELS: 'false',
  });
});
afterAll(async () => {
  await t?.close();
});

const flag = readFixture('test/fixtures/freeciv/flags/rome-large.png');

describe('image route in redirect mode', () => {
  it('redirects to a presigned URL that serves the registered bytes with their type', async () => {
    const registered = await t.graphql<{
      registerEntity: { entity: { images: { url: string }[] } };
    }>(
      `mutation ($input: EntityInput!) { registerEntity(input: $input) { entity { images { url } } } }`,
      {
        input: {
          id: `${t.prefix}rome`,
          name: 'Rome',
          domain: t.domain,
          images: [{ dataUrl: toDataUrl(flag) }],
        },
      },
    );
    expect(registered.errors).toBeUndefined();
    const [image] = registered.data?.registerEntity.entity.images ?? [];
    expect(image?.url).toBe(`${t.app.url}/images/${sha256Hex(flag)}`);

    const redirect = await fetch(image?.url ?? '', { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('cache-control')).toBe('no-store');
    const location = redirect.headers.get('location') ?? '';
    expect(location).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/polylink-test\/test-[^/]+\/[0-9a-f]{2}\//,
    );
    expect(location).toContain('X-Amz-Signature=');

    const bucketAnswer = await fetch(location);
    expect(bucketAnswer.status).toBe(200);
    expect(bucketAnswer.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await bucketAnswer.arrayBuffer()).equals(flag)).toBe(true);
  });

  it('answers 404 for an image the graph does not know, and 404 when its bytes are gone', async () => {
    expect(
      (await fetch(`${t.app.url}/images/${'0'.repeat(64)}`, { redirect: 'manual' })).status,
    ).toBe(404);
    const sha256 = sha256Hex(flag);
    await t.app.backend.imageStore.remove(sha256);
    expect((await fetch(`${t.app.url}/images/${sha256}`, { redirect: 'manual' })).status).toBe(404);
  });
});

describe('start-up against an S3 store that cannot be used', () => {
  it('fails fast, naming the store', async () => {
    const config = parseConfig({
      ...process.env,
      ...s3SettingsEnv(testS3Settings({ bucket: 'polylink-no-such-bucket' })),
      POLYLINK_PORT: '0',
      POLYLINK_MODELS: 'false',
      LOG_LEVEL: 'silent',
    });
    await expect(createApp(config, createLogger('silent'))).rejects.toThrow(
      /The image store \(s3:\/\/polylink-no-such-bucket\/test-[^ ]+ at http:\/\/127\.0\.0\.1:\d+\) cannot be used/,
    );
  });
});
