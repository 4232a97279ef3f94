import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { assembleBundle, fileHashes } from '../models/bundle-assembler.js';
import { PROJECT_ROOT } from '../paths.js';

/**
 * `npm run models:assemble`: builds the model bundle from its committed spec, offline-safe.
 * `npm run models:assemble -- --hashes models/zemel/release` assembles nothing: it prints the
 * spec `files` block (repository path and sha256 of every file) of that folder, to paste into the
 * spec when its files change.
 */
const { values } = parseArgs({
  options: {
    spec: {
      type: 'string',
      default: path.join(PROJECT_ROOT, 'models/bundles/polylink-default.json'),
    },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'var/models') },
    cache: { type: 'string', default: path.join(PROJECT_ROOT, 'var/cache') },
    hashes: { type: 'string' },
  },
});
const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
try {
  if (values.hashes !== undefined) {
    const block = await fileHashes(path.resolve(values.hashes), PROJECT_ROOT);
    console.log(JSON.stringify({ files: block }, null, 2));
  } else {
    await assembleBundle({
      specFile: path.resolve(values.spec),
      outDir: path.resolve(values.out),
      cacheDir: path.resolve(values.cache),
      projectRoot: PROJECT_ROOT,
      logger,
    });
  }
} catch (error) {
  logger.error({ err: error }, error instanceof Error ? error.message : 'assembly failed');
  process.exitCode = 1;
}
