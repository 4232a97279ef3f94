import { Command } from 'commander';
import { applyMigrations } from '../neo4j/migrations.js';
import { MIGRATIONS_DIR } from '../paths.js';
import { runCli } from './cli-app.js';

/** `polylink migrate` (`npm run db:migrate`): applies pending migrations from db/migrations. */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('apply pending schema migrations from db/migrations')
    .action(() =>
      runCli(
        async ({ backend }) => {
          const report = await applyMigrations(backend.graph, MIGRATIONS_DIR);
          console.log(
            report.applied.length > 0
              ? `applied ${report.applied.join(', ')}; ${report.alreadyApplied} already applied`
              : `schema is up to date (${report.alreadyApplied} migrations applied)`,
          );
        },
        // The backend would apply them before the task runs; the task reports what it applied.
        { withModels: false, migrate: false },
      ),
    );
}
