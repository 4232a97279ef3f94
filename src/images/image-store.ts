import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { NotFoundError } from '../errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

/** Throws on anything but a lowercase sha256: callers validate input, so this is a programming error. */
export function assertSha256Hex(sha256: string): void {
  if (!isSha256Hex(sha256)) throw new Error(`Not a sha256 hex digest: ${sha256}`);
}

/** One stored image, as a listing sees it (for the orphan sweep). */
export interface StoredImage {
  readonly sha256: string;
  /** When the bytes were first written: `put` never rewrites an image that is there. */
  readonly modifiedAt: Date;
}

/**
 * Content-addressed image bytes: the key is the sha256 of the bytes, so the same bytes always
 * land under the same key, writes are idempotent, and concurrent writers of one image cannot
 * corrupt it. Two backends: a local folder (src/images/local-image-store.ts) and an S3 bucket
 * (src/images/s3-image-store.ts); src/images/open-image-store.ts picks one from the config.
 *
 * Failures of the store itself reject with ImageStoreUnavailableError (SERVICE_UNAVAILABLE); an
 * image that is not there is `false`, `null` or a NotFoundError, as each method says.
 */
export interface ImageStore {
  /** Where the bytes live, for logs ("folder var/images", "s3://bucket/prefix"). */
  readonly location: string;
  /** False for a missing image and for anything that is not a sha256. */
  has(sha256: string): Promise<boolean>;
  /** A no-op when the image is there already (content addressing makes that the same bytes). */
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /** Rejects with NotFoundError('Image') when the image is not stored. */
  read(sha256: string): Promise<Buffer>;
  /** The bytes as a stream, or null when the image is not stored. */
  openStream(sha256: string): Promise<Readable | null>;
  /** A no-op when the image is not there. */
  remove(sha256: string): Promise<void>;
  /** Every stored image, in no particular order. */
  list(): AsyncIterable<StoredImage>;
  /** See removeUnreferencedImages. */
  removeUnreferenced(
    hashes: readonly string[],
    referenced: (hashes: readonly string[]) => Promise<ReadonlySet<string>>,
  ): Promise<string[]>;
  /** Throws ImageStoreUnavailableError when the store cannot be used (checked at start-up). */
  verify(): Promise<void>;
  close(): void;
}

/**
 * The stored bytes, or null when the image is not stored. Unlike `read(...).catch(() => null)`,
 * a store that cannot be reached still rejects (SERVICE_UNAVAILABLE) rather than passing for a
 * missing image.
 */
export function readIfStored(
  store: Pick<ImageStore, 'read'>,
  sha256: string,
): Promise<Buffer | null> {
  return store.read(sha256).catch((error: unknown) => {
    if (error instanceof NotFoundError) return null;
    throw error;
  });
}

/**
 * Removes the files of images a committed transaction found unreferenced, then asks the graph
 * again and puts back the file of every hash an Image node uses by now (or when it cannot tell).
 * Returns the hashes whose files stayed removed.
 *
 * Why no Image node is left without its file, without locks and across replicas sharing the
 * store ("check after act" on both sides): writers put the file before their transaction and
 * put it again, if missing, after it commits (`put` is a no-op when the file is there); this
 * function removes a file only after reading its bytes, and re-checks the graph after removing.
 * Take an Image node that exists at the end and the last removal R of its file. If R's re-check
 * saw the node, R put the file back after the last removal. If it did not, the node was committed
 * after the re-check, so after R; that writer's post-commit check came after R, found no file
 * (nothing removes after R) and put it. If no removal happened, the file put before the writer's
 * commit is still there. A process dying between removing and re-checking can still leave a
 * missing file; that needs a lock or a sweep, not this.
 */
export async function removeUnreferencedImages(
  store: Pick<ImageStore, 'read' | 'remove' | 'put'>,
  hashes: readonly string[],
  referenced: (hashes: readonly string[]) => Promise<ReadonlySet<string>>,
): Promise<string[]> {
  const removed = new Map<string, Buffer>();
  for (const sha256 of new Set(hashes)) {
    // A file that cannot be read is not removed: without its bytes it could not be put back.
    const bytes = await store.read(sha256).catch(() => null);
    if (bytes === null) continue;
    await store.remove(sha256);
    removed.set(sha256, bytes);
  }
  if (removed.size === 0) return [];
  const inUse = await referenced([...removed.keys()]).catch(() => null);
  const gone: string[] = [];
  for (const [sha256, bytes] of removed) {
    // Cannot tell (inUse null): a stray file is harmless, a missing one breaks an image.
    if (inUse === null || inUse.has(sha256)) await store.put(sha256, bytes);
    else gone.push(sha256);
  }
  return gone;
}
