import { createServices, openBackend, type Backend } from '../backend.js';
import { ConfigError, httpOrigin, parseConfig, type Config } from '../config.js';
import type { Services } from '../backend.js';
import { createLogger, type Logger } from '../logger.js';
import { ExitCode, UsageError } from './exit-codes.js';

export interface CliApp {
  readonly config: Config;
  readonly logger: Logger;
  readonly backend: Backend;
  readonly services: Services;
}

/** The URL the HTTP service will serve images under, for images a command registers. */
function imageBaseUrl(config: Config): string {
  return config.http.publicBaseUrl ?? httpOrigin(config.http.host, config.http.port);
}

/**
 * Runs a command-line task (a `polylink` subcommand's action) on the same backend and services as the HTTP app, closing them
 * afterwards. `withModels: false` skips loading the model bundle (commands that need no encoder);
 * `migrate: false` leaves pending migrations alone (the migrate command applies them itself).
 */
export async function runCli(
  task: (app: CliApp) => Promise<void>,
  options: { readonly withModels?: boolean; readonly migrate?: boolean } = {},
): Promise<void> {
  let config: Config;
  try {
    const parsed = parseConfig(process.env);
    // Commands write or re-encode; none serves searches, so none loads the in-process vectors.
    const commandConfig: Config = {
      ...parsed,
      vectors: { ...parsed.vectors, search: 'neo4j' },
      migrateOnStart: parsed.migrateOnStart && options.migrate !== false,
    };
    config =
      options.withModels === false
        ? { ...commandConfig, models: { ...commandConfig.models, enabled: false } }
        : commandConfig;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exitCode = ExitCode.Usage;
      return;
    }
    throw error;
  }
  // Standard output is the command's own (a key, a table); logs go to standard error.
  const logger = createLogger(config.logLevel, {
    stderr: true,
    development: config.isDevelopment,
  });
  let backend: Backend;
  try {
    backend = await openBackend(config, logger);
  } catch (error) {
    logger.error({ err: error }, error instanceof Error ? error.message : 'start-up failed');
    process.exitCode = ExitCode.Failed;
    return;
  }
  try {
    const services = createServices({
      backend,
      config,
      logger,
      publicBaseUrl: imageBaseUrl(config),
    });
    await task({ config, logger, backend, services });
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`polylink: ${error.message}`);
      process.exitCode = ExitCode.Usage;
    } else {
      logger.error({ err: error }, error instanceof Error ? error.message : 'command failed');
      process.exitCode = ExitCode.Failed;
    }
  } finally {
    await backend.close();
  }
}
