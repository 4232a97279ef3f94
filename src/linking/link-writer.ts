import { UniquenessViolationError } from '../errors.js';
import type { ImageStore } from '../images/image-store.js';
import type { Logger } from '../logger.js';
import type { Graph } from '../neo4j/driver.js';
import { findImagesBySha256, type ImageRecord } from '../neo4j/entity-repository.js';
import { writeLinkedImage, type LinkedImageWrite } from '../neo4j/link-repository.js';
import { domainOf } from './candidate-lists.js';
import { graphSidesOf } from './graph-sides.js';
import type { LinkRequest, LinkTask } from './link-input.js';
import type { LinkTriple } from './link-result.js';
import type { ReadyModels } from './linking-models.js';
import type { QueryImage } from './query-image.js';

const LINK_WRITE_RETRIES = 1;

/** Stores a request's query image and writes its LinkedImage with links and findings. */
export class LinkWriter {
  constructor(
    private readonly deps: {
      readonly graph: Graph;
      readonly imageStore: ImageStore;
      readonly logger: Logger;
      /** Where this service's GET /images/:sha256 is reachable from outside. */
      readonly publicBaseUrl: string;
    },
  ) {}

  /** Stores the image bytes, then the LinkedImage with its links and findings in one transaction. */
  async write(
    context: { image: QueryImage; request: LinkRequest; models: ReadyModels; task: LinkTask },
    result: { triples: readonly LinkTriple[]; threshold: number | null },
  ): Promise<{ linkedAt: string; image: ImageRecord }> {
    const { image, request, models, task } = context;
    const write: LinkedImageWrite = {
      sha256: image.sha256,
      model: models.linker.fingerprint,
      modelName: `${models.linker.name}@${models.linker.version}`,
      bundle: models.bundleId,
      caption: request.caption,
      task,
      nilThreshold: result.threshold,
      domain: domainOf(request),
      image: {
        sha256: image.sha256,
        mime: image.inspected.mime,
        format: image.inspected.format,
        width: image.inspected.width,
        height: image.inspected.height,
        byteSize: image.bytes.byteLength,
        url: `${this.deps.publicBaseUrl}/images/${image.sha256}`,
      },
      ...graphSidesOf(result.triples),
    };
    const { imageStore } = this.deps;
    const newlyStored = !(await imageStore.has(image.sha256));
    if (newlyStored) await imageStore.put(image.sha256, image.bytes);
    try {
      const written = await this.writeWithRetry(write);
      // A concurrent deletion may have removed the file between the check above and the commit
      // (it found the Image node unreferenced): put it back (ImageStore.removeUnreferenced).
      await imageStore.put(image.sha256, image.bytes).catch((error: unknown) => {
        this.deps.logger.error(
          { err: error, sha256: image.sha256 },
          'could not put back the file of a linked image',
        );
      });
      if (written.droppedLinks > 0) {
        this.deps.logger.warn(
          { sha256: image.sha256, dropped: written.droppedLinks },
          'entities deleted while linking: their links were not written',
        );
      }
      return written;
    } catch (error) {
      if (newlyStored) await this.discardIfUnused(image.sha256);
      throw error;
    }
  }

  /** Two concurrent first links of one image and model: the loser of the MERGE race runs again. */
  private async writeWithRetry(
    write: LinkedImageWrite,
  ): Promise<Awaited<ReturnType<typeof writeLinkedImage>>> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.deps.graph.write('linkImage', (tx) => writeLinkedImage(tx, write));
      } catch (error) {
        if (!(error instanceof UniquenessViolationError) || attempt >= LINK_WRITE_RETRIES) {
          throw error;
        }
      }
    }
  }

  /** Removes the file this call wrote unless an Image node (an entity's, or linked) uses it. */
  private async discardIfUnused(sha256: string): Promise<void> {
    try {
      await this.deps.imageStore.removeUnreferenced([sha256], async (hashes) => {
        const images = await this.deps.graph.read('images.find', (tx) =>
          findImagesBySha256(tx, hashes),
        );
        return new Set(images.map((found) => found.sha256));
      });
    } catch (error) {
      this.deps.logger.warn({ err: error, sha256 }, 'could not check an unused query image file');
    }
  }
}
