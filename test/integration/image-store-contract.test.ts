import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ImageStoreUnavailableError, NotFoundError } from '../../src/errors.js';
import { sha256Hex, type ImageStore } from '../../src/images/image-store.js';
import { LocalImageStore } from '../../src/images/local-image-store.js';
import { S3ImageStore } from '../../src/images/s3-image-store.js';
import { createLogger } from '../../src/logger.js';
import {
  emptyStore,
  ensureTestBucket,
  testS3Server,
  testS3Settings,
} from '../helpers/s3-test-store.js';

// One contract, both backends: the local folder, and S3 on the SeaweedFS the test command runs.
const logger = createLogger('silent');

interface Backend {
  readonly name: string;
  create(): Promise<ImageStore>;
  /** Puts something under the store's root that is not an image of its (another tool's file). */
  putForeign(store: ImageStore): Promise<void>;
  /** A store of this kind that cannot work (its server or folder is unusable). */
  broken(): Promise<ImageStore>;
  dispose(store: ImageStore): Promise<void>;
}

const local: Backend = {
  name: 'local folder',
  async create() {
    return new LocalImageStore(await mkdtemp(path.join(os.tmpdir(), 'polylink-contract-')));
  },
  async putForeign(store) {
    const dir = (store as LocalImageStore).dir;
    await mkdir(path.join(dir, 'ab'), { recursive: true });
    await writeFile(path.join(dir, 'ab', 'notes.txt'), 'not an image');
    await writeFile(path.join(dir, 'README'), 'not an image');
  },
  async broken() {
    // A file where the folder should be: every write fails.
    const parent = await mkdtemp(path.join(os.tmpdir(), 'polylink-contract-broken-'));
    await writeFile(path.join(parent, 'images'), 'a file, not a folder');
    return new LocalImageStore(path.join(parent, 'images'));
  },
  async dispose(store) {
    await rm((store as LocalImageStore).dir, { recursive: true, force: true });
  },
};

let bucketReady: Promise<void> | null = null;
const s3: Backend = {
  name: 'S3 (SeaweedFS)',
  async create() {
    bucketReady ??= ensureTestBucket();
    await bucketReady;
    return new S3ImageStore(testS3Settings(), logger);
  },
  async putForeign(store) {
    const server = testS3Server();
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const prefix = (store as S3ImageStore).keyOf(ABC).slice(0, -(3 + 64));
    for (const key of [`${prefix}ab/notes.txt`, `${prefix}README`]) {
      await client.send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: 'x' }));
    }
    client.destroy();
  },
  async broken() {
    // Nothing listens on port 1.
    return new S3ImageStore(testS3Settings({ endpoint: 'http://127.0.0.1:1' }), logger);
  },
  async dispose(store) {
    await emptyStore(store);
    store.close();
  },
};

const ABC = sha256Hex(Buffer.from('abc'));
const abc = Buffer.from('abc');

describe.each([local, s3])('image store contract: $name', (backend) => {
  let store: ImageStore;
  beforeEach(async () => {
    store = await backend.create();
    await store.verify();
  });
  afterEach(async () => {
    await backend.dispose(store);
  });

  it('answers for a missing image: has false, read NOT_FOUND, no stream, remove a no-op', async () => {
    expect(await store.has(ABC)).toBe(false);
    const error = await store.read(ABC).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('NOT_FOUND');
    expect(await store.openStream(ABC)).toBeNull();
    await expect(store.remove(ABC)).resolves.toBeUndefined();
  });

  it('returns the bytes it stored, whole and as a stream', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256));
    const sha256 = sha256Hex(bytes);
    await store.put(sha256, bytes);
    expect(await store.has(sha256)).toBe(true);
    expect((await store.read(sha256)).equals(bytes)).toBe(true);
    const stream = await store.openStream(sha256);
    const chunks: Buffer[] = [];
    for await (const chunk of stream ?? []) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('stores the empty image too', async () => {
    const empty = new Uint8Array(0);
    await store.put(sha256Hex(empty), empty);
    expect((await store.read(sha256Hex(empty))).byteLength).toBe(0);
  });

  it('puts idempotently: again, concurrently, and never over what is stored', async () => {
    await store.put(ABC, abc);
    await store.put(ABC, abc);
    await Promise.all([store.put(ABC, abc), store.put(ABC, abc), store.put(ABC, abc)]);
    // Content addressing: what is under a hash is those bytes, so a second put has nothing to add.
    await store.put(ABC, Buffer.from('other'));
    expect((await store.read(ABC)).toString()).toBe('abc');
    const listed = [];
    for await (const image of store.list()) listed.push(image.sha256);
    expect(listed).toEqual([ABC]);
  });

  it('lists exactly its images, with the time each was first stored', async () => {
    const before = Date.now();
    const hashes = ['a', 'b', 'c', 'd', 'e'].map((letter) => sha256Hex(Buffer.from(letter)));
    for (const letter of ['a', 'b', 'c', 'd', 'e']) {
      await store.put(sha256Hex(Buffer.from(letter)), Buffer.from(letter));
    }
    await backend.putForeign(store);
    const listed = [];
    for await (const image of store.list()) listed.push(image);
    expect(listed.map((image) => image.sha256).sort()).toEqual([...hashes].sort());
    for (const image of listed) {
      // Whole seconds on S3 (Last-Modified), and clocks of two processes: allow a little slack.
      expect(image.modifiedAt.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(image.modifiedAt.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    }
  });

  it('removes an image, and lists it no more', async () => {
    await store.put(ABC, abc);
    await store.remove(ABC);
    expect(await store.has(ABC)).toBe(false);
    const listed = [];
    for await (const image of store.list()) listed.push(image.sha256);
    expect(listed).toEqual([]);
  });

  it('removes unreferenced images and puts back those the graph uses by the re-check', async () => {
    const other = sha256Hex(Buffer.from('other'));
    await store.put(ABC, abc);
    await store.put(other, Buffer.from('other'));
    const seen: boolean[] = [];
    const gone = await store.removeUnreferenced([ABC, other], async () => {
      seen.push(await store.has(ABC), await store.has(other));
      return new Set([ABC]);
    });
    expect(seen).toEqual([false, false]); // asked only once both were removed
    expect(gone).toEqual([other]);
    expect((await store.read(ABC)).toString()).toBe('abc');
    expect(await store.has(other)).toBe(false);
  });

  it('refuses a malformed hash (has is false; the rest throw)', async () => {
    expect(await store.has('../../etc/passwd')).toBe(false);
    await expect(store.put('ABC', abc)).rejects.toThrow(/sha256/);
    await expect(store.read('..')).rejects.toThrow(/sha256/);
    await expect(store.remove('..')).rejects.toThrow(/sha256/);
  });

  it('translates a store that cannot work into SERVICE_UNAVAILABLE', async () => {
    const broken = await backend.broken();
    try {
      const error = await broken.put(ABC, abc).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ImageStoreUnavailableError);
      expect((error as ImageStoreUnavailableError).code).toBe('SERVICE_UNAVAILABLE');
      await expect(broken.verify()).rejects.toBeInstanceOf(ImageStoreUnavailableError);
    } finally {
      broken.close();
    }
  });
});

describe('S3 store specifics', () => {
  const stores: ImageStore[] = [];
  beforeAll(async () => {
    await ensureTestBucket();
  });
  afterAll(async () => {
    for (const store of stores) await s3.dispose(store);
  });

  it('refuses wrong credentials and a missing bucket as SERVICE_UNAVAILABLE', async () => {
    const server = testS3Server();
    const wrongSecret = new S3ImageStore(
      testS3Settings({
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'not-the-secret' },
      }),
      logger,
    );
    const noBucket = new S3ImageStore(
      testS3Settings({ bucket: 'polylink-no-such-bucket' }),
      logger,
    );
    await expect(wrongSecret.put(ABC, abc)).rejects.toBeInstanceOf(ImageStoreUnavailableError);
    await expect(noBucket.verify()).rejects.toBeInstanceOf(ImageStoreUnavailableError);
    // Closed here: nothing was stored, and emptying them would fail the same way.
    wrongSecret.close();
    noBucket.close();
  });

  it('has the server check the bytes against their key (the sha256 travels as the checksum)', async () => {
    const store = new S3ImageStore(testS3Settings(), logger);
    stores.push(store);
    await expect(store.put(ABC, Buffer.from('not abc'))).rejects.toBeInstanceOf(
      ImageStoreUnavailableError,
    );
    expect(await store.has(ABC)).toBe(false);
  });

  it('keeps the folder layout under its prefix: <prefix><first two hex>/<sha256>', () => {
    const store = new S3ImageStore(testS3Settings({ prefix: 'kg/' }), logger);
    stores.push(store);
    expect(store.keyOf(ABC)).toBe(`kg/ba/${ABC}`);
  });

  it('signs a GET URL that serves the bytes with the type asked for, then expires', async () => {
    const store = new S3ImageStore(testS3Settings({ presignSeconds: 1 }), logger);
    stores.push(store);
    await store.put(ABC, abc);
    const url = await store.presignedUrl(ABC, {
      contentType: 'image/png',
      cacheControl: 'public, max-age=60',
    });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer()).toString()).toBe('abc');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await fetch(url)).status).toBe(403);
  });
});
