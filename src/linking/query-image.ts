import type { Config } from '../config.js';
import { inspectImage, type InspectedImage } from '../images/image-decoding.js';
import type { ImageSource } from '../images/image-source.js';
import { sha256Hex } from '../images/image-store.js';
import type { DecodedImage } from '../inference/vision/image-preprocess.js';
import type { ImageReader } from '../services/image-reader.js';
import type { DecodedImageEncoder } from '../inference/encoders.js';

/** The query image, read, checked and decoded once. */
export interface QueryImage {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly inspected: InspectedImage;
  readonly decoded: DecodedImage;
}

/** Reads a stored or sent query image, checks it against the image limits and decodes it. */
export async function readQueryImage(
  source: ImageSource,
  parts: {
    readonly reader: Pick<ImageReader, 'read' | 'readSent'>;
    readonly limits: Config['images'];
    readonly encoder: Pick<DecodedImageEncoder, 'decode'>;
  },
): Promise<QueryImage> {
  const bytes =
    source.kind === 'stored'
      ? await parts.reader.read(source)
      : await parts.reader.readSent(source);
  const inspected = await inspectImage(bytes, parts.limits);
  const decoded = await parts.encoder.decode(bytes);
  return { bytes, sha256: sha256Hex(bytes), inspected, decoded };
}
