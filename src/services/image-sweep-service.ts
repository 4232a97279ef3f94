import type { ImageStore } from '../images/image-store.js';
import type { Logger } from '../logger.js';
import type { Graph } from '../neo4j/driver.js';
import { findImagesBySha256 } from '../neo4j/entity-repository.js';

export interface ImageSweepOptions {
  /**
   * Images stored more recently than this are left alone, whatever the graph says: their
   * registration or linkImage call may still be between writing the bytes and committing.
   */
  readonly minAgeMs: number;
  /** Report the orphans, remove nothing. */
  readonly dryRun: boolean;
  /** Hashes asked about per read transaction. */
  readonly batchSize?: number;
  /** The sweep's clock (tests pass their own). */
  readonly now?: Date;
}

export interface ImageSweepReport {
  /** Images the store listed. */
  readonly scanned: number;
  /** Younger than the minimum age: not looked at. */
  readonly tooRecent: number;
  /** Old enough, and an Image node uses them. */
  readonly referenced: number;
  /** Old enough and no Image node uses them (removed unless a dry run). */
  readonly orphans: readonly string[];
  /** The orphans whose bytes are gone now (empty in a dry run). */
  readonly removed: readonly string[];
  readonly dryRun: boolean;
}

/**
 * Collects image bytes that no Image node references: what a registration or linkImage left when
 * its transaction failed and its own clean-up could not run (the process died, the store or the
 * graph was down at that moment). An image is referenced when an Image node has its sha256; such
 * an image is never removed. Removal goes through ImageStore.removeUnreferenced, which asks the
 * graph again after removing and puts back anything a concurrent write committed meanwhile.
 */
export class ImageSweepService {
  constructor(
    private readonly deps: {
      readonly graph: Graph;
      readonly imageStore: ImageStore;
      readonly logger: Logger;
    },
  ) {}

  async sweep(options: ImageSweepOptions): Promise<ImageSweepReport> {
    const { minAgeMs, dryRun, batchSize = 500 } = options;
    const cutoff = (options.now ?? new Date()).getTime() - minAgeMs;
    let scanned = 0;
    let tooRecent = 0;
    let referenced = 0;
    const orphans: string[] = [];
    const removed: string[] = [];
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const inUse = await this.referencedAmong(batch);
      const unreferenced = batch.filter((sha256) => !inUse.has(sha256));
      referenced += batch.length - unreferenced.length;
      orphans.push(...unreferenced);
      if (!dryRun && unreferenced.length > 0) {
        removed.push(
          ...(await this.deps.imageStore.removeUnreferenced(unreferenced, (hashes) =>
            this.referencedAmong(hashes),
          )),
        );
      }
      batch = [];
    };
    for await (const image of this.deps.imageStore.list()) {
      scanned += 1;
      if (image.modifiedAt.getTime() > cutoff) {
        tooRecent += 1;
        continue;
      }
      batch.push(image.sha256);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    const report = { scanned, tooRecent, referenced, orphans, removed, dryRun };
    this.deps.logger.info(
      { ...report, orphans: orphans.length, removed: removed.length },
      dryRun ? 'image sweep (dry run) finished' : 'image sweep finished',
    );
    return report;
  }

  private async referencedAmong(hashes: readonly string[]): Promise<ReadonlySet<string>> {
    const images = await this.deps.graph.read('images.sweep', (tx) =>
      findImagesBySha256(tx, hashes),
    );
    return new Set(images.map((image) => image.sha256));
  }
}
