import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, opendir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ImageStoreUnavailableError, NotFoundError } from '../errors.js';
import {
  assertSha256Hex,
  isSha256Hex,
  removeUnreferencedImages,
  type ImageStore,
  type StoredImage,
} from './image-store.js';

const SHARD = /^[0-9a-f]{2}$/;

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : null;
}

/**
 * Image bytes on disk: `<dir>/<first two hex>/<sha256>`. A write goes to a temporary file that is
 * then renamed, so a reader never sees half an image.
 */
export class LocalImageStore implements ImageStore {
  constructor(readonly dir: string) {}

  get location(): string {
    return `folder ${this.dir}`;
  }

  pathOf(sha256: string): string {
    assertSha256Hex(sha256);
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile();
    } catch {
      return false;
    }
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    if (await this.has(sha256)) return;
    const target = this.pathOf(sha256);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      const temporary = `${target}.${randomUUID()}.tmp`;
      await writeFile(temporary, bytes);
      await rename(temporary, target);
    } catch (error) {
      throw new ImageStoreUnavailableError(error);
    }
  }

  async read(sha256: string): Promise<Buffer> {
    const file = this.pathOf(sha256);
    try {
      return await readFile(file);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new NotFoundError('Image', sha256);
      throw new ImageStoreUnavailableError(error);
    }
  }

  async openStream(sha256: string): Promise<Readable | null> {
    if (!(await this.has(sha256))) return null;
    return createReadStream(this.pathOf(sha256));
  }

  async remove(sha256: string): Promise<void> {
    const file = this.pathOf(sha256);
    try {
      await rm(file, { force: true });
    } catch (error) {
      throw new ImageStoreUnavailableError(error);
    }
  }

  async *list(): AsyncIterable<StoredImage> {
    let shards;
    try {
      shards = await opendir(this.dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return; // nothing stored yet
      throw new ImageStoreUnavailableError(error);
    }
    for await (const shard of shards) {
      if (!shard.isDirectory() || !SHARD.test(shard.name)) continue;
      for await (const entry of await opendir(path.join(this.dir, shard.name))) {
        // Temporary files of writes in progress (or of a crashed one) are not images yet.
        if (!entry.isFile() || !isSha256Hex(entry.name)) continue;
        const file = path.join(this.dir, shard.name, entry.name);
        const modifiedAt = await stat(file).then(
          (stats) => stats.mtime,
          () => null, // removed meanwhile
        );
        if (modifiedAt) yield { sha256: entry.name, modifiedAt };
      }
    }
  }

  removeUnreferenced(
    hashes: readonly string[],
    referenced: (hashes: readonly string[]) => Promise<ReadonlySet<string>>,
  ): Promise<string[]> {
    return removeUnreferencedImages(this, hashes, referenced);
  }

  /** The folder is created on the first write; nothing to check before. */
  async verify(): Promise<void> {
    try {
      const stats = await stat(this.dir);
      if (!stats.isDirectory()) throw new Error(`${this.dir} is not a folder`);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw new ImageStoreUnavailableError(error);
    }
  }

  close(): void {}
}
