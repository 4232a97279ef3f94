import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ImageStore } from './image-store.js';
import { LocalImageStore } from './local-image-store.js';
import { S3ImageStore } from './s3-image-store.js';

/**
 * The image store the config names, checked before anything uses it (an S3 bucket that is not
 * there or refuses the credentials stops start-up with the store's location in the log).
 */
export async function openImageStore(
  config: Pick<Config, 'imageStore' | 'images'>,
  logger: Logger,
): Promise<ImageStore> {
  const store: ImageStore =
    config.imageStore.backend === 's3'
      ? new S3ImageStore(config.imageStore.s3, logger)
      : new LocalImageStore(config.images.storeDir);
  try {
    await store.verify();
  } catch (error) {
    store.close();
    throw new Error(`The image store (${store.location}) cannot be used`, { cause: error });
  }
  logger.info({ store: store.location }, 'image store ready');
  return store;
}
