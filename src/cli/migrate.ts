import { applyMigrations } from '../neo4j/migrations.js';
import { MIGRATIONS_DIR } from '../paths.js';
import { runCli } from './cli-app.js';

/** `npm run db:migrate`: applies pending migrations from db/migrations. */
await runCli(async ({ graph, logger }) => {
  const report = await applyMigrations(graph, MIGRATIONS_DIR);
  logger.info(report, report.applied.length > 0 ? 'migrations applied' : 'schema is up to date');
});
