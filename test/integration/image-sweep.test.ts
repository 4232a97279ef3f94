import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, type ImageStore } from '../../src/images/image-store.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import {
  ImageSweepService,
  type ImageSweepReport,
} from '../../src/services/image-sweep-service.js';
import { toDataUrl } from '../helpers/fixtures.js';
import { ensureTestBucket, s3SettingsEnv, testS3Settings } from '../helpers/s3-test-store.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

const run = promisify(execFile);

const REGISTER = `mutation Register($input: EntityInput!) {
  registerEntity(input: $input) { status entity { id images { sha256 } } }
}`;

/** A small PNG of its own per seed, so no two tests share bytes. */
function pngOf(seed: number): Promise<Buffer> {
  const background = { r: seed % 256, g: Math.floor(seed / 256) % 256, b: 77 };
  return sharp({ create: { width: 9, height: 7, channels: 3, background } })
    .png()
    .toBuffer();
}

// Both stores: the local folder, and S3 on the SeaweedFS the test command runs.
describe.each(['local', 's3'] as const)('sweeping orphaned images from the %s store', (kind) => {
  let t: TestApp;
  let storeEnv: Record<string, string>;
  const seed = kind === 'local' ? 10_000 : 20_000;

  beforeAll(async () => {
    if (kind === 's3') {
      await ensureTestBucket();
      storeEnv = s3SettingsEnv(testS3Settings());
    } else {
      storeEnv = { POLYLINK_IMAGE_STORE: 'local' };
    }
    // No models: registration then stores bytes and nodes only, which is all a sweep looks at.
    t = await startTestApp({ ...storeEnv, POLYLINK_MODELS: 'false' });
    if (kind === 'local') storeEnv.POLYLINK_IMAGE_DIR = t.config.images.storeDir;
  });
  afterAll(async () => {
    await t?.close();
  });

  const store = () => t.app.backend.imageStore;
  const sweeper = () =>
    new ImageSweepService({
      graph: t.app.backend.graph,
      imageStore: store(),
      logger: createLogger('silent'),
    });
  const served = async (sha256: string) => {
    const response = await fetch(`${t.app.url}/images/${sha256}`);
    await response.arrayBuffer();
    return response.status;
  };
  const register = async (id: string, images: Buffer[]) => {
    const response = await t.graphql<{ registerEntity: { status: string } }>(REGISTER, {
      input: {
        id: `${t.prefix}${id}`,
        name: id,
        domain: t.domain,
        images: images.map((bytes) => ({ dataUrl: toDataUrl(bytes) })),
      },
    });
    return response;
  };

  it('removes an orphan, after a dry run and the minimum age, and nothing referenced', async () => {
    const [shared, own, orphan, refused] = await Promise.all(
      [1, 2, 3, 4].map((n) => pngOf(seed + n)),
    );
    expect((await register('a', [shared!])).errors).toBeUndefined();
    expect((await register('b', [own!, shared!])).errors).toBeUndefined();
    // A failed transaction (a content CONFLICT, after the bytes were written) cleans up itself...
    const conflict = await register('a', [refused!]);
    expect(conflict.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await store().has(sha256Hex(refused!))).toBe(false);
    // ...unless its process dies first: then the bytes stay without an Image node. This is that state.
    await store().put(sha256Hex(orphan!), orphan!);

    const referenced = [shared!, own!].map(sha256Hex);
    const young = await sweeper().sweep({ minAgeMs: 60 * 60_000, dryRun: false });
    expect(young).toMatchObject({ scanned: 3, tooRecent: 3, orphans: [], removed: [] });

    const dry = await sweeper().sweep({ minAgeMs: 0, dryRun: true });
    expect(dry).toMatchObject({ scanned: 3, referenced: 2, removed: [], dryRun: true });
    expect(dry.orphans).toEqual([sha256Hex(orphan!)]);
    expect(await store().has(sha256Hex(orphan!))).toBe(true);

    const swept = await sweeper().sweep({ minAgeMs: 0, dryRun: false, batchSize: 2 });
    expect(swept.orphans).toEqual([sha256Hex(orphan!)]);
    expect(swept.removed).toEqual([sha256Hex(orphan!)]);
    expect(await store().has(sha256Hex(orphan!))).toBe(false);
    for (const sha256 of referenced) expect(await served(sha256)).toBe(200);
  });

  it('never removes the image of a registration that commits while it sweeps', async () => {
    const missing: string[] = [];
    for (let round = 0; round < 12; round += 1) {
      const bytes = await pngOf(seed + 100 + round);
      const sha256 = sha256Hex(bytes);
      // An earlier attempt's orphan of the same bytes: the registration finds them stored.
      await store().put(sha256, bytes);
      const offset = Math.random() * 60;
      const [registered] = await Promise.all([
        register(`race-${round}`, [bytes]),
        sleep(offset).then(() => sweeper().sweep({ minAgeMs: 0, dryRun: false })),
      ]);
      expect(registered.errors).toBeUndefined();
      if ((await served(sha256)) !== 200) missing.push(`round ${round} at ${offset} ms`);
    }
    expect(missing).toEqual([]);
  });

  it('puts back an image whose registration commits between its graph check and its removal', async () => {
    const bytes = await pngOf(seed + 300);
    const sha256 = sha256Hex(bytes);
    await store().put(sha256, bytes); // an earlier attempt's orphan of the same bytes
    const real = store();
    let registration: Awaited<ReturnType<typeof register>> | null = null;
    // The real store, with one interleaving forced: the registration runs to its end (commit and
    // post-commit check, which finds the bytes still there) after the sweep saw no Image node and
    // before the sweep removes the bytes. Only the sweep's re-check can save them then.
    const interleaved = Object.assign(Object.create(real) as ImageStore, {
      async remove(hash: string) {
        if (hash === sha256 && registration === null)
          registration = await register('late', [bytes]);
        await real.remove(hash);
      },
    });
    const report = await new ImageSweepService({
      graph: t.app.backend.graph,
      imageStore: interleaved,
      logger: createLogger('silent'),
    }).sweep({ minAgeMs: 0, dryRun: false });
    expect(registration).not.toBeNull();
    expect(registration!.errors).toBeUndefined();
    expect(report.orphans).toContain(sha256);
    expect(report.removed).not.toContain(sha256);
    expect(await served(sha256)).toBe(200);
  });

  it('runs as `polylink sweep-images`: a dry run, then the sweep', async () => {
    const orphan = await pngOf(seed + 500);
    await store().put(sha256Hex(orphan), orphan);
    const env = {
      ...process.env,
      ...storeEnv,
      POLYLINK_MODELS: 'false',
      POLYLINK_CLI_FROM_SOURCE: '1',
      LOG_LEVEL: 'silent',
    };
    const command = (...args: string[]) =>
      run(process.execPath, ['bin/polylink.js', 'sweep-images', ...args], {
        cwd: PROJECT_ROOT,
        env,
      });
    const dry = JSON.parse(
      (await command('--dry-run', '--min-age-minutes', '0')).stdout,
    ) as ImageSweepReport;
    expect(dry.orphans).toContain(sha256Hex(orphan));
    expect(dry.removed).toEqual([]);
    expect(await store().has(sha256Hex(orphan))).toBe(true);

    const swept = JSON.parse((await command('--min-age-minutes', '0')).stdout) as ImageSweepReport;
    expect(swept.removed).toContain(sha256Hex(orphan));
    expect(await store().has(sha256Hex(orphan))).toBe(false);

    const refused = await command('--min-age-minutes', 'soon').catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 2 });
  });
});
