import { createServices } from '../app.js';
import { ConfigError, httpOrigin, parseConfig, type Config } from '../config.js';
import type { Services } from '../graphql/context.js';
import { createLogger, type Logger } from '../logger.js';
import { createGraph, type Graph } from '../neo4j/driver.js';

export interface CliApp {
  readonly config: Config;
  readonly logger: Logger;
  readonly graph: Graph;
  readonly services: Services;
}

/** The URL the HTTP service will serve images under, for images a command registers. */
function imageBaseUrl(config: Config): string {
  return config.http.publicBaseUrl ?? httpOrigin(config.http.host, config.http.port);
}

/** Runs a command-line task on the same services as the HTTP app, closing the driver afterwards. */
export async function runCli(task: (app: CliApp) => Promise<void>): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const graph = await createGraph(config.neo4j);
  try {
    await task({
      config,
      logger,
      graph,
      services: createServices(graph, config, logger, imageBaseUrl(config)),
    });
  } catch (error) {
    logger.error({ err: error }, error instanceof Error ? error.message : 'command failed');
    process.exitCode = 1;
  } finally {
    await graph.close();
  }
}
