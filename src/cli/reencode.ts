import { parseArgs } from 'node:util';
import { runCli } from './cli-app.js';

/**
 * `npm run reencode`: recomputes every cached vector that is missing or was made by another
 * bundle, in batches (one transaction each). Safe to interrupt and run again: it resumes.
 */
await runCli(async ({ services, logger }) => {
  const { values } = parseArgs({ options: { batch: { type: 'string', default: '32' } } });
  const before = await services.encoding.status();
  logger.info(
    {
      bundle: before.bundleId,
      staleEntities: before.staleEntities,
      staleImages: before.staleImages,
      staleCandidateVectors: before.staleCandidateVectors,
    },
    'encoding stale vectors',
  );
  let lastLogged = 0;
  const job = await services.encoding.run(Number(values.batch), (progress) => {
    const done =
      progress.encodedEntities + progress.encodedImages + progress.encodedCandidateVectors;
    if (done - lastLogged >= 256 || progress.state !== 'RUNNING') {
      lastLogged = done;
      logger.info({ done, total: progress.total, state: progress.state }, 're-encoding progress');
    }
  });
  logger.info(
    {
      entities: job.encodedEntities,
      images: job.encodedImages,
      candidateVectors: job.encodedCandidateVectors,
    },
    're-encoding finished',
  );
});
