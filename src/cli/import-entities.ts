import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../paths.js';
import { runCli } from './cli-app.js';
import { importLineToEntityInput, readImportBatches } from './import-file.js';

const USAGE = 'usage: import-entities --file entities.jsonl [--batch 25] [--base-dir DIR]';

/**
 * Registers every entity of a JSON-lines file through the same service as `registerEntities`,
 * a batch per transaction. Idempotent: re-running reports the entities as unchanged.
 */
await runCli(async ({ services, logger, config }) => {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      batch: { type: 'string', default: '25' },
      'base-dir': { type: 'string', default: PROJECT_ROOT },
    },
  });
  const batchSize = Number(values.batch);
  if (!values.file || !Number.isInteger(batchSize) || batchSize < 1) throw new Error(USAGE);
  const counts = { CREATED: 0, UNCHANGED: 0 };
  for await (const batch of readImportBatches(
    values.file,
    Math.min(batchSize, config.limits.maxBatchSize),
  )) {
    const inputs = await Promise.all(
      batch.map((line) => importLineToEntityInput(line, values['base-dir'])),
    );
    for (const result of await services.entities.registerMany(inputs)) counts[result.status] += 1;
    logger.info({ ...counts, file: values.file }, 'imported a batch');
  }
  logger.info({ created: counts.CREATED, unchanged: counts.UNCHANGED }, 'import finished');
});
