import type { Config } from '../config.js';
import { BadInputError, NotFoundError } from '../errors.js';
import { checkDeclaredType, inspectImage } from '../images/image-decoding.js';
import {
  dataUrlType,
  decodeDataUrl,
  readUpload,
  type ImageSource,
} from '../images/image-source.js';
import { isSha256Hex, readIfStored, type ImageStore } from '../images/image-store.js';

/** Turns any image source into bytes, within the configured limits. */
export class ImageReader {
  constructor(
    private readonly store: ImageStore,
    private readonly limits: Config['images'],
  ) {}

  /**
   * Bytes as sent by the client (upload, data URL, or bytes a command read from disk), refused
   * when the type the client declared names another image format than the bytes are.
   */
  async readSent(source: Exclude<ImageSource, { kind: 'stored' }>): Promise<Uint8Array> {
    switch (source.kind) {
      case 'upload': {
        const bytes = await readUpload(source.upload, this.limits.maxBytes);
        // readUpload has settled the promise: it rejects only if reading failed, handled there.
        await checkDeclaredType(bytes, (await source.upload).mimetype);
        return bytes;
      }
      case 'dataUrl': {
        const bytes = decodeDataUrl(source.dataUrl, this.limits.maxBytes);
        await checkDeclaredType(bytes, dataUrlType(source.dataUrl));
        return bytes;
      }
      case 'bytes':
        return source.bytes;
    }
  }

  /** Checked bytes of any source, a stored image included: for queries, which store nothing. */
  async read(source: ImageSource): Promise<Uint8Array> {
    if (source.kind === 'stored') {
      const sha256 = source.sha256.toLowerCase();
      if (!isSha256Hex(sha256))
        throw new BadInputError('sha256 must be 64 hex digits', { field: 'sha256' });
      const bytes = await readIfStored(this.store, sha256);
      if (bytes === null) throw new NotFoundError('Image', sha256);
      return bytes;
    }
    const bytes = await this.readSent(source);
    await inspectImage(bytes, this.limits);
    return bytes;
  }
}
