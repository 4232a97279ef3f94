import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ImageStoreUnavailableError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  assertSha256Hex,
  isSha256Hex,
  removeUnreferencedImages,
  type ImageStore,
  type StoredImage,
} from './image-store.js';

export interface S3ImageStoreOptions {
  readonly bucket: string;
  /** Prepended to every key; empty or ending in "/". */
  readonly prefix: string;
  /** Null: AWS's own endpoint for the region. */
  readonly endpoint: string | null;
  readonly region: string;
  /** Null: the AWS SDK's default chain (AWS_* variables, profile, instance or pod role). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | null;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`: what self-hosted servers expect. */
  readonly forcePathStyle: boolean;
  /** How long a presigned GET URL is valid. */
  readonly presignSeconds: number;
}

/** What a presigned GET URL makes the bucket answer with (S3's response-* overrides). */
export interface PresignedResponse {
  readonly contentType: string;
  readonly cacheControl: string;
}

/** HEAD answers 404 without a body, so its error is named NotFound rather than NoSuchKey. */
function isMissing(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' || error.name === 'NotFound') &&
    error.$metadata.httpStatusCode === 404
  );
}

/**
 * Image bytes in an S3 bucket (AWS, or a self-hosted server: SeaweedFS in this project's tests),
 * under `<prefix><first two hex>/<sha256>`: the local folder's layout, so a folder copied into
 * the bucket as it is (`aws s3 sync var/images s3://bucket/prefix`) is found.
 */
export class S3ImageStore implements ImageStore {
  private readonly client: S3Client;

  constructor(
    private readonly options: S3ImageStoreOptions,
    private readonly logger: Logger,
  ) {
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      // A copy: the SDK marks the credentials object it is given, and the config is frozen.
      ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    });
  }

  get location(): string {
    const where = this.options.endpoint ? ` at ${this.options.endpoint}` : '';
    return `s3://${this.options.bucket}/${this.options.prefix}${where}`;
  }

  keyOf(sha256: string): string {
    assertSha256Hex(sha256);
    return `${this.options.prefix}${sha256.slice(0, 2)}/${sha256}`;
  }

  /** The one place an SDK error becomes an app error; the cause is logged here, once. */
  private unavailable(error: unknown, action: string, sha256?: string): ImageStoreUnavailableError {
    this.logger.warn({ err: error, action, sha256, store: this.location }, 'image store failed');
    return new ImageStoreUnavailableError(error);
  }

  async has(sha256: string): Promise<boolean> {
    if (!isSha256Hex(sha256)) return false;
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(sha256) }),
      );
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw this.unavailable(error, 'head', sha256);
    }
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    const key = this.keyOf(sha256);
    if (await this.has(sha256)) return;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: 'application/octet-stream',
          // The key is the bytes' sha256, so the server can check what arrived against it.
          ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
        }),
      );
    } catch (error) {
      throw this.unavailable(error, 'put', sha256);
    }
  }

  async read(sha256: string): Promise<Buffer> {
    const body = await this.openStream(sha256);
    if (body === null) throw new NotFoundError('Image', sha256);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(chunk as Buffer);
    } catch (error) {
      throw this.unavailable(error, 'read', sha256);
    }
    return Buffer.concat(chunks);
  }

  async openStream(sha256: string): Promise<Readable | null> {
    const key = this.keyOf(sha256);
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
      );
      // In Node the SDK's body is the HTTP response itself, a Readable.
      if (!(object.Body instanceof Readable)) throw new Error('GetObject gave no readable body');
      return object.Body;
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.unavailable(error, 'get', sha256);
    }
  }

  async remove(sha256: string): Promise<void> {
    const key = this.keyOf(sha256);
    try {
      // S3 answers 204 for a key that is not there: removing is idempotent.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
    } catch (error) {
      throw this.unavailable(error, 'delete', sha256);
    }
  }

  async *list(): AsyncIterable<StoredImage> {
    const pages = paginateListObjectsV2(
      { client: this.client },
      { Bucket: this.options.bucket, Prefix: this.options.prefix },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const sha256 = object.Key?.slice(this.options.prefix.length + 3) ?? '';
          // Anything else under the prefix (another tool's files) is not ours to report.
          if (!isSha256Hex(sha256) || object.Key !== this.keyOf(sha256)) continue;
          if (object.LastModified) yield { sha256, modifiedAt: object.LastModified };
        }
      }
    } catch (error) {
      throw this.unavailable(error, 'list');
    }
  }

  removeUnreferenced(
    hashes: readonly string[],
    referenced: (hashes: readonly string[]) => Promise<ReadonlySet<string>>,
  ): Promise<string[]> {
    return removeUnreferencedImages(this, hashes, referenced);
  }

  /** A URL the client can GET the bytes from directly, valid for `presignSeconds`. */
  async presignedUrl(sha256: string, response: PresignedResponse): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.options.bucket,
      Key: this.keyOf(sha256),
      ResponseContentType: response.contentType,
      ResponseCacheControl: response.cacheControl,
    });
    try {
      // Signing is local, but resolving the SDK's default credentials may not be.
      return await getSignedUrl(this.client, command, { expiresIn: this.options.presignSeconds });
    } catch (error) {
      throw this.unavailable(error, 'presign', sha256);
    }
  }

  /** The bucket exists and these credentials may use it. */
  async verify(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (error) {
      throw this.unavailable(error, 'head bucket');
    }
  }

  close(): void {
    this.client.destroy();
  }
}
