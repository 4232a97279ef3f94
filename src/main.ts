import { createApp } from './app.js';
import { ConfigError, parseConfig } from './config.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`polylink: configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, { development: config.isDevelopment });
  const app = await createApp(config, logger);
  logger.info(
    { graphql: app.graphqlUrl, images: `${app.url}/images/<sha256>`, neo4j: config.neo4j.uri },
    `Polylink is serving GraphQL at ${app.graphqlUrl}`,
  );
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error('polylink: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
