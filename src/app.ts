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
import { createWebRouter } from './http/web-routes.js';
import { ErrorCode } from './errors.js';
import { createJsonErrorHandler, errorBody, notFoundHandler } from './http/json-errors.js';
import { answerClientErrorsInJson, multipartBoundaryGuard } from './http/request-guards.js';
import { createRequestScopeMiddleware, requestScopeOf } from './http/request-scope.js';
import {
  createBookmarksPlugin,
  createCausalConsistencyMiddleware,
} from './http/causal-consistency.js';
import { createReadinessHandler } from './http/readiness.js';
import { createRequestIdMiddleware } from './http/request-id.js';
import { CandidateVectorCache } from './linking/candidate-vector-cache.js';
import type { Logger } from './logger.js';
import { createServiceMetrics, type ServiceMetrics } from './observability/metrics.js';
import { BROWSER_GUIDE_MARKDOWN, BROWSER_STYLE_FILE, WEB_DIR } from './paths.js';

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
  const metrics = createServiceMetrics();
  const backend = await openBackend(config, logger, {
    onTransaction: (event) => metrics.observeTransaction(event),
  });
  try {
    return await startHttp({ backend, metrics }, config, logger);
  } catch (error) {
    await backend.close();
    throw error;
  }
}

async function startHttp(
  opened: { backend: Backend; metrics: ServiceMetrics },
  config: Config,
  logger: Logger,
): Promise<App> {
  const { backend, metrics } = opened;
  const expressApp = express();
  expressApp.disable('x-powered-by');
  // Express's own fallbacks (finalhandler) print stacks outside production; ours answer first anyway.
  expressApp.set('env', config.isDevelopment ? 'development' : 'production');
  const httpServer = http.createServer(expressApp);
  answerClientErrorsInJson(httpServer);
  // The server listens before its routes exist (with port 0 the URLs need the port): until they
  // are mounted, every request gets a JSON 503 rather than Express's HTML 404.
  const starting = { done: false };
  expressApp.use(createRequestIdMiddleware(logger), metrics.httpMiddleware);
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
    const app = await mountRoutes({
      expressApp,
      httpServer,
      url,
      backend,
      metrics,
      config,
      logger,
    });
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
  metrics: ServiceMetrics;
  config: Config;
  logger: Logger;
}): Promise<App> {
  const { expressApp, httpServer, url, backend, metrics, config, logger } = deps;
  const { graph } = backend;
  const candidateVectorCache = new CandidateVectorCache(config.models.candidateVectorCache);
  const services = metrics.instrument(
    createServices({
      backend,
      config,
      logger,
      publicBaseUrl: config.http.publicBaseUrl ?? url,
      candidateVectorCache,
    }),
  );
  const apiKeys = new ApiKeyService(graph, config.auth.keyCacheMs);
  metrics.attach({
    backend,
    maxPoolSize: config.neo4j.maxPoolSize,
    caches: {
      candidateVectors: candidateVectorCache,
      apiKeys: { stats: () => apiKeys.cacheStats() },
    },
  });
  const apollo = createGraphQLServer({
    config,
    logger,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      metrics.graphqlPlugin,
      createBookmarksPlugin(graph),
    ],
  });
  await apollo.start();

  expressApp.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  expressApp.get(
    '/readyz',
    createReadinessHandler({
      backend,
      logger,
      probeImageStore: () => backend.imageStore.verify(),
    }),
  );
  if (config.metrics) {
    // No key asked: the series hold counts and timings under bounded labels, nothing a client
    // sent; keep the path off the public load balancer (docs/deployment.md).
    expressApp.get('/metrics', async (_request, response) => {
      response.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  expressApp.use(createCausalConsistencyMiddleware(graph, backend.vectors));
  expressApp.use(
    createImageRouter({
      store: backend.imageStore,
      queries: services.queries,
      serve: config.imageStore.serve,
    }),
  );
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
  expressApp.use(
    createWebRouter({
      webDir: WEB_DIR,
      guideMarkdownFile: BROWSER_GUIDE_MARKDOWN,
      styleFile: BROWSER_STYLE_FILE,
      publicBaseUrl: config.http.publicBaseUrl ?? url,
      neo4jBrowserUrl: config.web.neo4jBrowserUrl,
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
