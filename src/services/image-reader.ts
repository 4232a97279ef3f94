import type { Config } from '../config.js';
import { BadInputError, NotFoundError } from '../errors.js';
import { inspectImage } from '../images/image-decoding.js';
import { decodeDataUrl, readUpload, type ImageSource } from '../images/image-source.js';
import { isSha256Hex, type ImageStore } from '../images/image-store.js';

/** Turns any image source into bytes, within the configured limits. */
export class ImageReader {
  constructor(
    private readonly store: ImageStore,
    private readonly limits: Config['images'],
  ) {}

  /** Bytes as sent by the client (upload, data URL, or bytes a command read from disk). */
  readSent(source: Exclude<ImageSource, { kind: 'stored' }>): Promise<Uint8Array> {
    switch (source.kind) {
      case 'upload':
        return readUpload(source.upload, this.limits.maxBytes);
      case 'dataUrl':
        return Promise.resolve(decodeDataUrl(source.dataUrl, this.limits.maxBytes));
      case 'bytes':
        return Promise.resolve(source.bytes);
    }
  }

  /** Checked bytes of any source, a stored image included: for queries, which store nothing. */
  async read(source: ImageSource): Promise<Uint8Array> {
    if (source.kind === 'stored') {
      const sha256 = source.sha256.toLowerCase();
      if (!isSha256Hex(sha256))
        throw new BadInputError('sha256 must be 64 hex digits', { field: 'sha256' });
      const bytes = await this.store.read(sha256).catch(() => null);
      if (bytes === null) throw new NotFoundError('Image', sha256);
      return bytes;
    }
    const bytes = await this.readSent(source);
    await inspectImage(bytes, this.limits);
    return bytes;
  }
}
