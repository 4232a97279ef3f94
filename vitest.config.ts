import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for Apollo and graphql-tools (the package has no
    // "exports"); Vite would give our sources its ESM build, and a schema from one realm fails
    // `instanceof` in the other. Tests resolve it as Node does in production.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'graphql', include: ['test/graphql/**/*.test.ts'] } },
      {
        extends: true,
        // Real ONNX models from the assembled bundle and real images; no database.
        test: { name: 'models', include: ['test/models/**/*.test.ts'], testTimeout: 120_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Community edition has one user database: test files must not interleave.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-s3',
          // The integration files that write, serve and remove image bytes, run again with the S3
          // image store on the test command's SeaweedFS (test/helpers/test-app.ts reads the switch).
          include: [
            'test/integration/registry.test.ts',
            'test/integration/image-files-race.test.ts',
            'test/integration/link-image.test.ts',
            // Two service processes on one Neo4j and one S3 bucket (issue 15).
            'test/integration/replica-processes.test.ts',
          ],
          env: { POLYLINK_TEST_IMAGE_STORE: 's3' },
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
