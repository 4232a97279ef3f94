import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApiKeyService, ROLES } from '../auth/api-keys.js';
import { AppError } from '../errors.js';
import { runCli } from './cli-app.js';

const USAGE = `usage:
  api-keys create --role ${ROLES.join('|')} --name NAME [--out FILE]   prints the new key (or writes it to FILE, mode 600)
  api-keys ensure --role ROLE --name NAME --file FILE                 creates a key into FILE unless FILE holds a working one
  api-keys list                                                       id, name, role, created, revoked
  api-keys revoke ID                                                  the key stops working (within POLYLINK_API_KEY_CACHE_MS on running services)`;

class UsageError extends Error {}

/** Writes a key where only this user can read it, as start.sh does for the Neo4j password. */
async function writeSecret(file: string, key: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
}

/**
 * `npm run api-keys -- <command>`: API keys are managed here, never through the API, so a leaked
 * admin key cannot mint more keys. Keys are shown once; only their hashes are stored in Neo4j.
 */
await runCli(
  async ({ backend }) => {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        name: { type: 'string' },
        out: { type: 'string' },
        file: { type: 'string' },
      },
    });
    const keys = new ApiKeyService(backend.graph, 0);
    const [command, argument] = positionals;
    try {
      switch (command) {
        case 'create': {
          const created = await keys.create(values.role ?? '', values.name ?? '');
          if (values.out) {
            await writeSecret(values.out, created.key);
            console.error(
              `created ${created.record.role} key ${created.record.id} in ${values.out}`,
            );
          } else {
            console.log(created.key);
          }
          return;
        }
        case 'ensure': {
          const file = values.file;
          const role = values.role ?? '';
          if (!file) throw new UsageError('ensure needs --file');
          const existing = await readFile(file, 'utf8').catch(() => null);
          if (existing !== null) {
            const principal = await keys.authenticate(existing.trim()).catch(() => null);
            if (principal?.role === role) {
              console.error(`kept the ${role} key ${principal.keyId} in ${file}`);
              return;
            }
          }
          const created = await keys.create(role, values.name ?? `${role} key`);
          await writeSecret(file, created.key);
          console.error(`created ${role} key ${created.record.id} in ${file}`);
          return;
        }
        case 'list': {
          for (const key of await keys.list()) {
            console.log(
              [key.id, key.role, key.createdAt, key.revokedAt ?? 'active', key.name].join('\t'),
            );
          }
          return;
        }
        case 'revoke': {
          if (!argument) throw new UsageError('revoke needs the key id');
          if (!(await keys.revoke(argument))) throw new UsageError(`no key with id ${argument}`);
          console.error(`revoked key ${argument}`);
          return;
        }
        default:
          console.error(USAGE);
          process.exitCode = 2;
      }
    } catch (error) {
      // A bad role or name, or a bad command line: say so; anything else is a real failure.
      if (!(error instanceof AppError || error instanceof UsageError)) throw error;
      console.error(`api-keys: ${error.message}`);
      process.exitCode = 2;
    }
  },
  { withModels: false },
);
