import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import { httpOrigin, type Config } from './config.js';
import { createContext, type Context, type Services } from './graphql/context.js';
import { createFormatError } from './graphql/format-error.js';
import { createSchema } from './graphql/schema.js';
import { createImageRouter } from './http/image-routes.js';
import { ImageStore } from './images/image-store.js';
import type { Logger } from './logger.js';
import { createGraph, type Graph } from './neo4j/driver.js';
import { applyMigrations } from './neo4j/migrations.js';
import { MIGRATIONS_DIR } from './paths.js';
import { CandidateService } from './services/candidate-service.js';
import { EntityQueries } from './services/entity-queries.js';
import { EntityService } from './services/entity-service.js';

export interface App {
  readonly url: string;
  readonly graphqlUrl: string;
  readonly services: Services;
  /** Ordered shutdown: stop taking requests, drain them, then close the driver. */
  close(): Promise<void>;
}

/** The services every entry point (HTTP, CLI) builds on one graph. */
export function createServices(
  graph: Graph,
  config: Config,
  logger: Logger,
  publicBaseUrl: string,
): Services {
  const queries = new EntityQueries(graph, config.limits);
  return {
    queries,
    entities: new EntityService({
      graph,
      imageStore: new ImageStore(config.images.storeDir),
      config,
      logger,
      publicBaseUrl,
    }),
    candidates: new CandidateService(graph, config.limits),
  };
}

/** Composition root: one driver, one Apollo server, one HTTP server. */
export async function createApp(config: Config, logger: Logger): Promise<App> {
  const graph = await createGraph(config.neo4j);
  try {
    if (config.migrateOnStart) {
      const report = await applyMigrations(graph, MIGRATIONS_DIR);
      logger.info(report, 'migrations checked');
    }
    return await startHttp(graph, config, logger);
  } catch (error) {
    await graph.close();
    throw error;
  }
}

async function startHttp(graph: Graph, config: Config, logger: Logger): Promise<App> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  const httpServer = http.createServer(expressApp);
  // Listen first: with port 0 the image URLs can only be known once the OS has picked the port.
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = httpOrigin(config.http.host, port);
  try {
    return await mountRoutes({ expressApp, httpServer, url, graph, config, logger });
  } catch (error) {
    httpServer.close();
    throw error;
  }
}

async function mountRoutes(deps: {
  expressApp: express.Express;
  httpServer: http.Server;
  url: string;
  graph: Graph;
  config: Config;
  logger: Logger;
}): Promise<App> {
  const { expressApp, httpServer, url, graph, config, logger } = deps;
  const services = createServices(graph, config, logger, config.http.publicBaseUrl ?? url);
  const imageStore = new ImageStore(config.images.storeDir);
  const apollo = new ApolloServer<Context>({
    schema: createSchema(),
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: config.isDevelopment,
    // Multipart requests are CSRF-able "simple" requests; Apollo's preflight check stays on.
    csrfPrevention: true,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
  });
  await apollo.start();

  expressApp.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  expressApp.get('/readyz', async (_request, response) => {
    try {
      await graph.ping();
      response.json({ status: 'ready' });
    } catch {
      response.status(503).json({ status: 'unavailable', reason: 'neo4j' });
    }
  });
  expressApp.use(createImageRouter(imageStore, services.queries));
  expressApp.use(
    '/graphql',
    graphqlUploadExpress({
      maxFileSize: config.images.maxBytes,
      maxFiles: config.limits.maxBatchSize * config.images.maxPerEntity,
    }),
    express.json({ limit: config.http.maxRequestBytes }),
    expressMiddleware(apollo, { context: () => Promise.resolve(createContext(services)) }),
  );

  let closing: Promise<void> | null = null;
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    services,
    close() {
      closing ??= (async () => {
        await apollo.stop(); // the drain plugin closes the HTTP server and waits for requests
        await graph.close();
      })();
      return closing;
    },
  };
}
