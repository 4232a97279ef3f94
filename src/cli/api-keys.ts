import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { ApiKeyService, ROLES } from '../auth/api-keys.js';
import { AppError } from '../errors.js';
import { runCli, type CliApp } from './cli-app.js';
import { UsageError } from './exit-codes.js';

/** Writes a key where only this user can read it, as start.sh does for the Neo4j password. */
async function writeSecret(file: string, key: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
}

/** Runs a key task; a bad role or name (AppError) is a usage error, anything else a failure. */
function withKeys(task: (keys: ApiKeyService, app: CliApp) => Promise<void>): Promise<void> {
  return runCli(
    async (app) => {
      try {
        await task(new ApiKeyService(app.backend.graph, 0), app);
      } catch (error) {
        if (error instanceof AppError) throw new UsageError(`api-keys: ${error.message}`);
        throw error;
      }
    },
    { withModels: false },
  );
}

interface KeyOptions {
  readonly role: string;
  readonly name?: string;
}

/**
 * `polylink api-keys ...` (`npm run api-keys -- ...`): API keys are managed here, never through
 * the API, so a leaked admin key cannot mint more keys. Keys are shown once; only their hashes are
 * stored in Neo4j.
 */
export function apiKeysCommand(): Command {
  const command = new Command('api-keys').description(
    `create, list and revoke API keys (roles: ${ROLES.join(', ')})`,
  );
  command
    .command('create')
    .description('create a key and print it once (or write it to --out, mode 600)')
    .requiredOption('--role <role>', ROLES.join('|'))
    .requiredOption('--name <name>', 'what the key is for')
    .option('--out <file>', 'write the key to this file instead of printing it')
    .action((options: KeyOptions & { out?: string }) =>
      withKeys(async (keys) => {
        const created = await keys.create(options.role, options.name ?? '');
        if (options.out) {
          await writeSecret(options.out, created.key);
          console.error(
            `created ${created.record.role} key ${created.record.id} in ${options.out}`,
          );
        } else {
          console.log(created.key);
        }
      }),
    );
  command
    .command('ensure')
    .description('create a key into --file unless it holds a working key of that role')
    .requiredOption('--role <role>', ROLES.join('|'))
    .requiredOption('--file <file>', 'where the key is kept')
    .option('--name <name>', 'what the key is for (default: "<role> key")')
    .action((options: KeyOptions & { file: string }) =>
      withKeys(async (keys) => {
        const existing = await readFile(options.file, 'utf8').catch(() => null);
        if (existing !== null) {
          const principal = await keys.authenticate(existing.trim()).catch(() => null);
          if (principal?.role === options.role) {
            console.error(`kept the ${options.role} key ${principal.keyId} in ${options.file}`);
            return;
          }
        }
        const created = await keys.create(options.role, options.name ?? `${options.role} key`);
        await writeSecret(options.file, created.key);
        console.error(`created ${options.role} key ${created.record.id} in ${options.file}`);
      }),
    );
  command
    .command('list')
    .description('id, role, created, revoked, name (tab-separated)')
    .action(() =>
      withKeys(async (keys) => {
        for (const key of await keys.list()) {
          console.log(
            [key.id, key.role, key.createdAt, key.revokedAt ?? 'active', key.name].join('\t'),
          );
        }
      }),
    );
  command
    .command('revoke')
    .description(
      'revoke a key (running services stop accepting it within POLYLINK_API_KEY_CACHE_MS)',
    )
    .argument('<id>', 'the key id (see list)')
    .action((id: string) =>
      withKeys(async (keys) => {
        if (!(await keys.revoke(id))) throw new UsageError(`api-keys: no key with id ${id}`);
        console.error(`revoked key ${id}`);
      }),
    );
  return command;
}
