import { Command } from 'commander';
import { ImageSweepService } from '../services/image-sweep-service.js';
import { runCli } from './cli-app.js';
import { integerOption } from './options.js';

/**
 * `polylink sweep-images` (`npm run sweep-images`): removes stored images that no Image node
 * references (bytes written by a registration or a linkImage call whose transaction then failed).
 * Images younger than --min-age-minutes are never touched: their write may still be in flight.
 * Prints a JSON report on stdout.
 */
export function sweepImagesCommand(): Command {
  return new Command('sweep-images')
    .description('remove stored images no Image node references (orphans of failed writes)')
    .option('--dry-run', 'list the orphans, remove nothing', false)
    .option(
      '--min-age-minutes <n>',
      'leave images younger than this alone (their write may be in flight)',
      integerOption(0, 525_600),
      60,
    )
    .option(
      '--batch <n>',
      'stored images checked against the graph per query',
      integerOption(1, 10_000),
      500,
    )
    .action((options: { dryRun: boolean; minAgeMinutes: number; batch: number }) =>
      runCli(
        async ({ backend, logger }) => {
          const sweeper = new ImageSweepService({
            graph: backend.graph,
            imageStore: backend.imageStore,
            logger,
          });
          const report = await sweeper.sweep({
            dryRun: options.dryRun,
            minAgeMs: options.minAgeMinutes * 60_000,
            batchSize: options.batch,
          });
          console.log(JSON.stringify(report, null, 2));
        },
        { withModels: false },
      ),
    );
}
