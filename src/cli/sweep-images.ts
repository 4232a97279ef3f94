import { parseArgs } from 'node:util';
import { ImageSweepService, type ImageSweepOptions } from '../services/image-sweep-service.js';
import { runCli } from './cli-app.js';

const USAGE = `usage: npm run sweep-images -- [--dry-run] [--min-age-minutes N] [--batch N]

Removes stored images that no Image node references (bytes written by a registration or a
linkImage call whose transaction then failed). Images younger than --min-age-minutes (default
60) are never touched: their write may still be in flight. Prints a JSON report on stdout.`;

/** A whole number within [min, max]. */
function wholeNumber(value: string, name: string, [min, max]: readonly [number, number]): number {
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

/** The sweep's options, or null once the usage text was printed (the exit code says why). */
function parseOptions(): ImageSweepOptions | null {
  try {
    const { values } = parseArgs({
      options: {
        'dry-run': { type: 'boolean', default: false },
        'min-age-minutes': { type: 'string', default: '60' },
        batch: { type: 'string', default: '500' },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return null;
    }
    return {
      dryRun: values['dry-run'],
      minAgeMs: wholeNumber(values['min-age-minutes'], 'min-age-minutes', [0, 525_600]) * 60_000,
      batchSize: wholeNumber(values.batch, 'batch', [1, 10_000]),
    };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exitCode = 2;
    return null;
  }
}

const options = parseOptions();
if (options) {
  await runCli(
    async ({ backend, logger }) => {
      const sweeper = new ImageSweepService({
        graph: backend.graph,
        imageStore: backend.imageStore,
        logger,
      });
      console.log(JSON.stringify(await sweeper.sweep(options), null, 2));
    },
    { withModels: false },
  );
}
