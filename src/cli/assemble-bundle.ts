import path from 'node:path';
import { Command } from 'commander';
import { createLogger } from '../logger.js';
import { assembleBundle, fileHashes } from '../models/bundle-assembler.js';
import { PROJECT_ROOT } from '../paths.js';
import { ExitCode } from './exit-codes.js';

interface AssembleOptions {
  readonly spec: string;
  readonly out: string;
  readonly cache: string;
  readonly hashes?: string;
}

/**
 * `polylink models assemble` (`npm run models:assemble`): builds the model bundle from its
 * committed spec, offline-safe. With `--hashes models/zemel/release` it assembles nothing: it
 * prints the spec `files` block (repository path and sha256 of every file) of that folder, to paste
 * into the spec when its files change. Needs no Neo4j.
 */
export function modelsCommand(): Command {
  const command = new Command('models').description('the model bundle');
  command
    .command('assemble')
    .description('fetch, check and copy the bundle files into var/models (idempotent)')
    .option(
      '--spec <file>',
      'bundle spec',
      path.join(PROJECT_ROOT, 'models/bundles/polylink-default.json'),
    )
    .option('--out <dir>', 'where bundles are assembled', path.join(PROJECT_ROOT, 'var/models'))
    .option('--cache <dir>', 'download cache', path.join(PROJECT_ROOT, 'var/cache'))
    .option('--hashes <folder>', "print the spec's files block of a release folder instead")
    .action(async (options: AssembleOptions) => {
      const logger = createLogger(process.env.LOG_LEVEL ?? 'info', { stderr: true });
      try {
        if (options.hashes !== undefined) {
          const block = await fileHashes(path.resolve(options.hashes), PROJECT_ROOT);
          console.log(JSON.stringify({ files: block }, null, 2));
        } else {
          await assembleBundle({
            specFile: path.resolve(options.spec),
            outDir: path.resolve(options.out),
            cacheDir: path.resolve(options.cache),
            projectRoot: PROJECT_ROOT,
            logger,
          });
        }
      } catch (error) {
        logger.error({ err: error }, error instanceof Error ? error.message : 'assembly failed');
        process.exitCode = ExitCode.Failed;
      }
    });
  return command;
}
