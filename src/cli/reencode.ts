import { Command } from 'commander';
import { runCli } from './cli-app.js';
import { integerOption } from './options.js';
import { createProgress } from './progress.js';

/**
 * `polylink reencode` (`npm run reencode`): recomputes every cached vector that is missing or was
 * made by another bundle, in batches (one transaction each). Safe to interrupt and run again: it
 * resumes.
 */
export function reencodeCommand(): Command {
  return new Command('reencode')
    .description('re-encode cached vectors that are missing or from another model bundle')
    .option('--batch <n>', 'entities or images per transaction', integerOption(1, 512), 32)
    .action((options: { batch: number }) =>
      runCli(async ({ services }) => {
        const before = await services.encoding.status();
        const total = before.staleEntities + before.staleImages + before.staleCandidateVectors;
        console.error(
          `bundle ${before.bundleId ?? 'none'}: ${before.staleEntities} text vectors, ${before.staleImages} image vectors, ${before.staleCandidateVectors} candidate vectors to encode`,
        );
        const progress = createProgress({ label: 'reencode', total });
        const job = await services.encoding
          .run(options.batch, (state) => {
            progress.update(
              state.encodedEntities + state.encodedImages + state.encodedCandidateVectors,
              {
                text: state.encodedEntities,
                images: state.encodedImages,
                candidates: state.encodedCandidateVectors,
              },
            );
          })
          .finally(() => progress.stop());
        console.log(
          `re-encoded ${job.encodedEntities} text vectors, ${job.encodedImages} image vectors, ${job.encodedCandidateVectors} candidate vectors`,
        );
      }),
    );
}
