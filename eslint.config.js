// Type-checked lint rules, plus the module boundaries: one module owns each runtime dependency.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const boundary = (name, owner) => ({
  name,
  message: `Only ${owner} may import ${name}; go through it.`,
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'var/**',
      'models/**',
      'scripts/**',
      // Written by `npm run codegen` from schema.graphql (its own style, `any` in generic resolver
      // signatures); `npm run codegen:check` keeps it current and tsc checks it.
      'src/graphql/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'max-params': ['error', 4],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            boundary('neo4j-driver', 'src/neo4j/driver.ts'),
            boundary(
              'sharp',
              'src/images/image-decoding.ts and src/inference/vision/image-preprocess.ts',
            ),
            boundary('onnxruntime-node', 'src/inference/runtime/onnx-runtime.ts'),
            boundary('@aws-sdk/client-s3', 'src/images/s3-image-store.ts'),
            boundary('@aws-sdk/s3-request-presigner', 'src/images/s3-image-store.ts'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/images/s3-image-store.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            boundary('neo4j-driver', 'src/neo4j/driver.ts'),
            boundary(
              'sharp',
              'src/images/image-decoding.ts and src/inference/vision/image-preprocess.ts',
            ),
            boundary('onnxruntime-node', 'src/inference/runtime/onnx-runtime.ts'),
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/neo4j/driver.ts',
      'src/inference/runtime/onnx-runtime.ts',
      // The worker thread onnx-runtime.ts starts; nothing else imports it.
      'src/inference/runtime/onnx-worker.ts',
    ],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: [
      'src/images/image-decoding.ts',
      'src/inference/vision/image-preprocess.ts',
      'test/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [boundary('neo4j-driver', 'src/neo4j/driver.ts')] },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Fakes and vi.fn() mocks are loosely typed by nature.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  {
    // The page (web/): plain ES modules run by the browser.
    files: ['web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'sessionStorage',
          'fetch',
          'XMLHttpRequest',
          'FormData',
          'File',
          'URL',
          'CustomEvent',
          'performance',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
