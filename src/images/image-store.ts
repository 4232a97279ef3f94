import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

/**
 * Content-addressed image bytes on disk: `<dir>/<first two hex>/<sha256>`.
 * The same bytes always land in the same file, so writes are idempotent and
 * concurrent writers of one image cannot corrupt it (write to a temp file, then rename).
 */
export class ImageStore {
  constructor(readonly dir: string) {}

  pathOf(sha256: string): string {
    if (!isSha256Hex(sha256)) throw new Error(`Not a sha256 hex digest: ${sha256}`);
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
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, target);
  }

  read(sha256: string): Promise<Buffer> {
    return readFile(this.pathOf(sha256));
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  /**
   * Removes the files of images a committed transaction found unreferenced, then asks the graph
   * again and puts back the file of every hash an Image node uses by now (or when it cannot tell).
   * Returns the hashes whose files stayed removed.
   *
   * Why no Image node is left without its file, without locks and across replicas sharing the
   * directory ("check after act" on both sides): writers put the file before their transaction and
   * put it again, if missing, after it commits (`put` is a no-op when the file is there); this
   * method removes a file only after reading its bytes, and re-checks the graph after removing.
   * Take an Image node that exists at the end and the last removal R of its file. If R's re-check
   * saw the node, R put the file back after the last removal. If it did not, the node was committed
   * after the re-check, so after R; that writer's post-commit check came after R, found no file
   * (nothing removes after R) and put it. If no removal happened, the file put before the writer's
   * commit is still there. A process dying between removing and re-checking can still leave a
   * missing file; that needs a lock or a sweep, not this.
   */
  async removeUnreferenced(
    hashes: readonly string[],
    referenced: (hashes: readonly string[]) => Promise<ReadonlySet<string>>,
  ): Promise<string[]> {
    const removed = new Map<string, Buffer>();
    for (const sha256 of new Set(hashes)) {
      // A file that cannot be read is not removed: without its bytes it could not be put back.
      const bytes = await this.read(sha256).catch(() => null);
      if (bytes === null) continue;
      await this.remove(sha256);
      removed.set(sha256, bytes);
    }
    if (removed.size === 0) return [];
    const inUse = await referenced([...removed.keys()]).catch(() => null);
    const gone: string[] = [];
    for (const [sha256, bytes] of removed) {
      // Cannot tell (inUse null): a stray file is harmless, a missing one breaks an image.
      if (inUse === null || inUse.has(sha256)) await this.put(sha256, bytes);
      else gone.push(sha256);
    }
    return gone;
  }
}
