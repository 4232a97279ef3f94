import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import { ImageStoreUnavailableError } from '../../src/errors.js';
import { isSha256Hex, readIfStored, sha256Hex } from '../../src/images/image-store.js';
import { LocalImageStore } from '../../src/images/local-image-store.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('sha256Hex', () => {
  it('gives the lower-case hex SHA-256 digest', () => {
    expect(sha256Hex(new Uint8Array(0))).toBe(EMPTY_SHA256);
    expect(sha256Hex(Buffer.from('abc'))).toBe(ABC_SHA256);
  });
});

describe('isSha256Hex', () => {
  it('accepts 64 lower-case hex digits', () => {
    expect(isSha256Hex(ABC_SHA256)).toBe(true);
  });

  it.each([
    ['upper case', ABC_SHA256.toUpperCase()],
    ['63 digits', ABC_SHA256.slice(1)],
    ['65 digits', `${ABC_SHA256}0`],
    ['non-hex', `g${ABC_SHA256.slice(1)}`],
    ['path traversal', `../${ABC_SHA256.slice(3)}`],
    ['trailing newline', `${ABC_SHA256}\n`],
    ['empty', ''],
  ])('rejects %s', (_label, value) => {
    expect(isSha256Hex(value)).toBe(false);
  });
});

describe('LocalImageStore', () => {
  let dir: string;
  let store: LocalImageStore;
  const bytes = Buffer.from('abc');

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'polylink-image-store-'));
    store = new LocalImageStore(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('places a file under a folder named by the first two hex digits', () => {
    expect(store.pathOf(ABC_SHA256)).toBe(path.join(dir, 'ba', ABC_SHA256));
  });

  it('pathOf rejects anything that is not a sha256 hex digest', () => {
    expect(() => store.pathOf('../../etc/passwd')).toThrow(/sha256/);
    expect(() => store.pathOf(ABC_SHA256.toUpperCase())).toThrow(/sha256/);
  });

  it('has is false for an unknown or malformed hash', async () => {
    expect(await store.has(ABC_SHA256)).toBe(false);
    expect(await store.has('not-a-hash')).toBe(false);
  });

  it('put writes the bytes, after which has is true', async () => {
    await store.put(ABC_SHA256, bytes);
    expect(await store.has(ABC_SHA256)).toBe(true);
    expect(await readFile(store.pathOf(ABC_SHA256))).toEqual(bytes);
  });

  it('put is idempotent and leaves no temporary files', async () => {
    await store.put(ABC_SHA256, bytes);
    await store.put(ABC_SHA256, bytes);
    await Promise.all([
      store.put(EMPTY_SHA256, new Uint8Array(0)),
      store.put(EMPTY_SHA256, new Uint8Array(0)),
    ]);
    expect(await readdir(path.join(dir, 'ba'))).toEqual([ABC_SHA256]);
    expect(await readdir(path.join(dir, 'e3'))).toEqual([EMPTY_SHA256]);
    expect(await readFile(store.pathOf(ABC_SHA256))).toEqual(bytes);
  });

  it('put does not overwrite a file already stored under that hash', async () => {
    await store.put(ABC_SHA256, bytes);
    await store.put(ABC_SHA256, Buffer.from('other'));
    expect(await readFile(store.pathOf(ABC_SHA256), 'utf8')).toBe('abc');
  });

  it('put rejects a malformed hash without writing anything', async () => {
    await expect(store.put('ABC', bytes)).rejects.toThrow(/sha256/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('has is false when the path is a folder, not a file', async () => {
    await mkdir(store.pathOf(ABC_SHA256), { recursive: true });
    expect(await store.has(ABC_SHA256)).toBe(false);
  });

  it('remove deletes the file and is a no-op when it is absent', async () => {
    await store.put(ABC_SHA256, bytes);
    await store.remove(ABC_SHA256);
    expect(await store.has(ABC_SHA256)).toBe(false);
    await expect(store.remove(ABC_SHA256)).resolves.toBeUndefined();
  });

  it('remove rejects a malformed hash', async () => {
    await expect(store.remove('..')).rejects.toThrow(/sha256/);
  });

  it('readIfStored: null for a missing image, the bytes for a stored one', async () => {
    expect(await readIfStored(store, ABC_SHA256)).toBeNull();
    await store.put(ABC_SHA256, bytes);
    expect(await readIfStored(store, ABC_SHA256)).toEqual(bytes);
  });

  it('readIfStored: a store that cannot be read rejects rather than passing for missing', async () => {
    // A file where the shard folder should be: reading under it fails with ENOTDIR, not ENOENT.
    await writeFile(path.join(dir, ABC_SHA256.slice(0, 2)), 'not a folder');
    await expect(readIfStored(store, ABC_SHA256)).rejects.toBeInstanceOf(
      ImageStoreUnavailableError,
    );
  });

  describe('removeUnreferenced', () => {
    it('removes files no Image node uses, asking the graph only after they are gone', async () => {
      await store.put(ABC_SHA256, bytes);
      const seen: boolean[] = [];
      const gone = await store.removeUnreferenced([ABC_SHA256], async () => {
        seen.push(await store.has(ABC_SHA256));
        return new Set();
      });
      expect(gone).toEqual([ABC_SHA256]);
      expect(seen).toEqual([false]);
      expect(await store.has(ABC_SHA256)).toBe(false);
    });

    it('puts back the file of a hash an Image node uses by the time of the re-check', async () => {
      await store.put(ABC_SHA256, bytes);
      await store.put(EMPTY_SHA256, new Uint8Array(0));
      const gone = await store.removeUnreferenced(
        [ABC_SHA256, EMPTY_SHA256],
        async () => new Set([ABC_SHA256]),
      );
      expect(gone).toEqual([EMPTY_SHA256]);
      expect(await readFile(store.pathOf(ABC_SHA256))).toEqual(bytes);
      expect(await store.has(EMPTY_SHA256)).toBe(false);
    });

    it('puts every file back when the graph cannot be asked', async () => {
      await store.put(ABC_SHA256, bytes);
      const gone = await store.removeUnreferenced([ABC_SHA256], () =>
        Promise.reject(new Error('database unavailable')),
      );
      expect(gone).toEqual([]);
      expect(await readFile(store.pathOf(ABC_SHA256))).toEqual(bytes);
    });

    it('skips absent files without asking the graph', async () => {
      let asked = false;
      const gone = await store.removeUnreferenced([ABC_SHA256], async () => {
        asked = true;
        return new Set();
      });
      expect([gone, asked]).toEqual([[], false]);
    });
  });
});
