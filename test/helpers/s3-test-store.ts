import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../src/config.js';
import type { ImageStore } from '../../src/images/image-store.js';

/**
 * The S3 server of the integration tests: the SeaweedFS that db/seaweedfs/start.sh runs (the
 * test command starts it beside Neo4j). The same variables configure both; the defaults are
 * db/seaweedfs/lib.sh's.
 */
export function testS3Server(): {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
} {
  return {
    endpoint: `http://127.0.0.1:${process.env.SEAWEED_S3_PORT ?? '8333'}`,
    accessKeyId: process.env.SEAWEED_ACCESS_KEY ?? 'polylink-dev',
    secretAccessKey: process.env.SEAWEED_SECRET_KEY ?? 'polylink-dev-secret',
    bucket: process.env.SEAWEED_BUCKET ?? 'polylink-test',
  };
}

/** S3 settings on the test server, under a prefix of their own (so listings see only theirs). */
export function testS3Settings(overrides: Partial<S3Settings> = {}): S3Settings {
  const server = testS3Server();
  return {
    bucket: server.bucket,
    prefix: `test-${randomUUID()}/`,
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    forcePathStyle: true,
    presignSeconds: 300,
    ...overrides,
  };
}

/** The same settings as the app's environment variables (for startTestApp and the CLI). */
export function s3SettingsEnv(settings: S3Settings): Record<string, string> {
  return {
    POLYLINK_IMAGE_STORE: 's3',
    POLYLINK_S3_BUCKET: settings.bucket,
    POLYLINK_S3_PREFIX: settings.prefix,
    POLYLINK_S3_ENDPOINT: settings.endpoint ?? '',
    POLYLINK_S3_REGION: settings.region,
    POLYLINK_S3_ACCESS_KEY_ID: settings.credentials?.accessKeyId ?? '',
    POLYLINK_S3_SECRET_ACCESS_KEY: settings.credentials?.secretAccessKey ?? '',
    POLYLINK_S3_PATH_STYLE: String(settings.forcePathStyle),
    POLYLINK_S3_PRESIGN_SECONDS: String(settings.presignSeconds),
  };
}

/** Creates the test bucket unless it is there (start.sh creates it when SEAWEED_BUCKET is set). */
export async function ensureTestBucket(): Promise<void> {
  const server = testS3Server();
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: server.bucket }));
  } catch (error) {
    const name = error instanceof S3ServiceException ? error.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  } finally {
    client.destroy();
  }
}

/** Removes everything a store lists (a test's own prefix or folder), for clean-up. */
export async function emptyStore(store: ImageStore): Promise<void> {
  const hashes: string[] = [];
  for await (const image of store.list()) hashes.push(image.sha256);
  for (const sha256 of hashes) await store.remove(sha256);
}
