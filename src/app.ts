import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import { createServices, openBackend, type Backend, type Services } from './backend.js';
import { httpOrigin, type Config } from './config.js';
import { createContext } from './graphql/context.js';
import { ApiKeyService } from './auth/api-keys.js';
import { createGraphQLServer } from './graphql/server.js';
import { createImageRouter } from './http/image-routes.js';
import { ErrorCode } from './errors.js';
import { createJsonErrorHandler, errorBody, notFoundHandler } from './http/json-errors.js';
import { answerClientErrorsInJson, multipartBoundaryGuard } from './http/request-guards.js';
import { createRequestScopeMiddleware, requestScopeOf } from './http/request-scope.js';
import { ImageStore } from './images/image-store.js';
import type { Logger } from './logger.js';

export interface App {
  readonly url: string;
  readonly graphqlUrl: string;
  readonly services: Services;
  readonly backend: Backend;
  /** Ordered shutdown: stop taking requests, drain them, release the models, close the driver. */
  close(): Promise<void>;
}

/** Composition root: the backend (driver, models), one Apollo server, one HTTP server. */
export async function createApp(config: Config, logger: Logger): Promise<App> {
  const backend = await openBackend(config, logger);
  try {
    return await startHttp(backend, config, logger);
  } catch (error) {
    await backend.close();
    throw error;
  }
}

async function startHttp(backend: Backend, config: Config, logger: Logger): Promise<App> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  // Express's own fallbacks (finalhandler) print stacks outside production; ours answer first anyway.
  expressApp.set('env', config.isDevelopment ? 'development' : 'production');
  const httpServer = http.createServer(expressApp);
  answerClientErrorsInJson(httpServer);
  // The server listens before its routes exist (with port 0 the URLs need the port): until they
  // are mounted, every request gets a JSON 503 rather than Express's HTML 404.
  const starting = { done: false };
  expressApp.use((_request, response, next) => {
    if (starting.done) {
      next();
      return;
    }
    response
      .status(503)
      .json(errorBody('The service is starting; retry shortly', ErrorCode.ServiceUnavailable));
  });
  // Listen first: with port 0 the image URLs can only be known once the OS has picked the port.
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = httpOrigin(config.http.host, port);
  try {
    const app = await mountRoutes({ expressApp, httpServer, url, backend, config, logger });
    starting.done = true;
    return app;
  } catch (error) {
    httpServer.close();
    throw error;
  }
}

async function mountRoutes(deps: {
  expressApp: express.Express;
  httpServer: http.Server;
  url: string;
  backend: Backend;
  config: Config;
  logger: Logger;
}): Promise<App> {
  const { expressApp, httpServer, url, backend, config, logger } = deps;
  const { graph } = backend;
  const services = createServices({
    backend,
    config,
    logger,
    publicBaseUrl: config.http.publicBaseUrl ?? url,
  });
  const imageStore = new ImageStore(config.images.storeDir);
  const apiKeys = new ApiKeyService(graph, config.auth.keyCacheMs);
  const apollo = createGraphQLServer({
    config,
    logger,
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
    createRequestScopeMiddleware({
      apiKeys,
      auth: config.auth,
      budgetMs: config.limits.requestTimeoutMs,
    }),
    multipartBoundaryGuard,
    graphqlUploadExpress({
      maxFileSize: config.images.maxBytes,
      maxFiles: config.limits.maxBatchSize * config.images.maxPerEntity,
    }),
    express.json({ limit: config.http.maxRequestBytes }),
    expressMiddleware(apollo, {
      context: ({ res }) => Promise.resolve(createContext(services, requestScopeOf(res.locals))),
    }),
  );
  expressApp.use(notFoundHandler);
  expressApp.use(createJsonErrorHandler(logger));

  let closing: Promise<void> | null = null;
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    services,
    backend,
    close() {
      closing ??= (async () => {
        await apollo.stop(); // the drain plugin closes the HTTP server and waits for requests
        await backend.close();
      })();
      return closing;
    },
  };
}
