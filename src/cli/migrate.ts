import { applyMigrations } from '../neo4j/migrations.js';
import { MIGRATIONS_DIR } from '../paths.js';
import { runCli } from './cli-app.js';

/** `npm run db:migrate`: applies pending migrations from db/migrations. */
await runCli(
  async ({ backend, logger }) => {
    const report = await applyMigrations(backend.graph, MIGRATIONS_DIR);
    logger.info(report, 'schema is up to date');
  },
  { withModels: false },
);
