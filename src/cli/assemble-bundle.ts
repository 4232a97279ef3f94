import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { assembleBundle } from '../models/bundle-assembler.js';
import { PROJECT_ROOT } from '../paths.js';

/** `npm run models:assemble`: builds the model bundle from its committed spec, offline-safe. */
const { values } = parseArgs({
  options: {
    spec: {
      type: 'string',
      default: path.join(PROJECT_ROOT, 'models/bundles/polylink-default.json'),
    },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'var/models') },
    cache: { type: 'string', default: path.join(PROJECT_ROOT, 'var/cache') },
  },
});
const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
try {
  await assembleBundle({
    specFile: path.resolve(values.spec),
    outDir: path.resolve(values.out),
    cacheDir: path.resolve(values.cache),
    projectRoot: PROJECT_ROOT,
    logger,
  });
} catch (error) {
  logger.error({ err: error }, error instanceof Error ? error.message : 'assembly failed');
  process.exitCode = 1;
}
