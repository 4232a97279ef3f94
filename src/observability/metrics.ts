import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { Kind } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Backend } from '../backend.js';
import { DOCUMENTED_ERROR_CODES } from '../errors.js';
import type { Services } from '../backend.js';
import type { Context } from '../graphql/context.js';
import type { TransactionEvent } from '../neo4j/driver.js';
import type { StageTiming } from '../linking/stage-clock.js';
import type { CacheStats } from './cache-stats.js';
import { rootFieldsOf } from './root-fields.js';

/**
 * Every metric of the service, in one prom-client registry of its own (not the library's global
 * one: tests run several apps in one process). Label values come from closed sets only (schema
 * field names, documented error codes, stage names, route groups, repository operation names),
 * so a client cannot grow the series count, and no label carries an id, a key or a caption.
 */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly graphqlPlugin: ApolloServerPlugin<Context>;
  readonly httpMiddleware: RequestHandler;
  /** For the driver: called once per finished transaction. */
  observeTransaction(event: TransactionEvent): void;
  /** Reads the backend's gauges (models, index, pool) and the caches' counters at each scrape. */
  attach(sources: MetricSources): void;
  /** The services, with linkImage's stage timings recorded from each result. */
  instrument(services: Services): Services;
}

export interface MetricSources {
  readonly backend: Pick<Backend, 'graph' | 'models' | 'vectors' | 'modelLoadSeconds'>;
  readonly maxPoolSize: number;
  readonly caches: Readonly<Record<string, { stats(): CacheStats }>>;
}

/** 1 ms to 30 s: a stage of linkImage takes 0.1 ms (align) to seconds (a cold vision model). */
const SECONDS_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
const NO_OPERATION = '(none)';
const KNOWN_CODES = new Set(DOCUMENTED_ERROR_CODES);

/** The route groups of the HTTP label (a path is client input; a group is not). */
function routeOf(path: string): string {
  for (const route of ['/graphql', '/images', '/healthz', '/readyz', '/metrics']) {
    if (path === route || path.startsWith(`${route}/`)) return route;
  }
  return 'other';
}

export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpRequests = new Counter({
    name: 'polylink_http_requests_total',
    help: 'HTTP requests answered, by route group, method and status (aborted: the client left first)',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const httpSeconds = new Histogram({
    name: 'polylink_http_request_duration_seconds',
    help: 'HTTP request wall time, by route group',
    labelNames: ['route'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const operations = new Counter({
    name: 'polylink_graphql_operations_total',
    help: 'GraphQL root fields requested (a request selecting two counts once for each); (none): the document never resolved',
    labelNames: ['operation'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'polylink_graphql_errors_total',
    help: 'Errors in GraphQL responses, by the root field they belong to and their extensions.code',
    labelNames: ['operation', 'code'] as const,
    registers,
  });
  const stages = new Histogram({
    name: 'polylink_link_image_stage_seconds',
    help: 'Wall time of each linkImage stage per request (caption and image stages overlap; total is the request)',
    labelNames: ['stage'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const transactions = new Histogram({
    name: 'polylink_neo4j_transaction_seconds',
    help: 'Neo4j transactions, session open to close (retries included), by access mode and operation',
    labelNames: ['mode', 'operation'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const transactionErrors = new Counter({
    name: 'polylink_neo4j_transaction_errors_total',
    help: 'Neo4j transactions that failed after the driver’s retries, by access mode and Neo4j error code',
    labelNames: ['mode', 'code'] as const,
    registers,
  });

  let sources: MetricSources | null = null;
  const gauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    read: (set: (labels: Record<string, string>, value: number) => void) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((labels, value) => this.set(labels, value));
      },
    });

  gauge(
    'polylink_model_load_seconds',
    'Seconds the model bundle took to load: bundle (text, image, linker at start-up), vision (detector, faces, OCR on first use)',
    ['part'],
    (set) => {
      const loaded = sources?.backend.modelLoadSeconds;
      if (loaded?.bundle != null) set({ part: 'bundle' }, loaded.bundle);
      if (loaded?.vision != null) set({ part: 'vision' }, loaded.vision);
    },
  );
  gauge(
    'polylink_model_info',
    'The loaded bundle and the execution provider asked for (1 while loaded)',
    ['bundle', 'provider'],
    (set) => {
      const models = sources?.backend.models;
      if (models) set({ bundle: models.manifest.id, provider: models.runtime.provider }, 1);
    },
  );
  gauge('polylink_cache_entries', 'Entries in an in-process cache', ['cache'], (set) => {
    for (const [cache, source] of Object.entries(sources?.caches ?? {})) {
      set({ cache }, source.stats().entries);
    }
  });
  gauge(
    'polylink_cache_max_entries',
    'Capacity of an in-process cache (0: off)',
    ['cache'],
    (set) => {
      for (const [cache, source] of Object.entries(sources?.caches ?? {})) {
        set({ cache }, source.stats().maxEntries);
      }
    },
  );
  cacheCounter('hits', 'polylink_cache_hits_total', 'Lookups an in-process cache answered');
  cacheCounter(
    'misses',
    'polylink_cache_misses_total',
    'Lookups an in-process cache could not answer (absent, expired or stale)',
  );
  gauge(
    'polylink_neo4j_sessions_active',
    'Neo4j sessions open in this process, by access mode: each holds one pooled connection',
    ['mode'],
    (set) => {
      const active = sources?.backend.graph.activeSessions();
      if (!active) return;
      set({ mode: 'READ' }, active.READ);
      set({ mode: 'WRITE' }, active.WRITE);
    },
  );
  gauge(
    'polylink_neo4j_pool_max_connections',
    'The driver’s connection pool size per Neo4j server (NEO4J_MAX_POOL_SIZE)',
    [],
    (set) => {
      if (sources) set({}, sources.maxPoolSize);
    },
  );

  /** Only where the index exists: a series that reads 0 would say "empty", not "not used". */
  function registerVectorIndexGauges(vectors: NonNullable<Backend['vectors']>): void {
    gauge(
      'polylink_vector_index_entities',
      'Entities in the in-process dense index (POLYLINK_VECTOR_SEARCH=memory)',
      [],
      (set) => {
        set({}, vectors.stats().entities);
      },
    );
    gauge(
      'polylink_vector_index_rows',
      'Rows of the in-process dense index by vector kind, live or dead (awaiting compaction)',
      ['kind', 'state'],
      (set) => {
        for (const [kind, rows] of Object.entries(vectors.stats().rows)) {
          set({ kind, state: 'live' }, rows.live);
          set({ kind, state: 'dead' }, rows.dead);
        }
      },
    );
    gauge(
      'polylink_vector_index_bytes',
      'Bytes allocated by the in-process dense index (matrices and row bookkeeping)',
      [],
      (set) => {
        set({}, vectors.stats().matrixBytes);
      },
    );
    gauge(
      'polylink_vector_index_version',
      'The graph’s vector change clock this replica’s in-process index has applied',
      [],
      (set) => {
        set({}, vectors.appliedVersion);
      },
    );
  }

  /** A counter fed from a cache's own running count: each scrape adds what grew since the last. */
  function cacheCounter(field: 'hits' | 'misses', name: string, help: string): void {
    const counted = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: ['cache'] as const,
      registers,
      collect() {
        for (const [cache, source] of Object.entries(sources?.caches ?? {})) {
          const now = source.stats()[field];
          const grown = now - (counted.get(cache) ?? 0);
          if (grown > 0) this.inc({ cache }, grown);
          else if (!counted.has(cache)) this.inc({ cache }, 0);
          counted.set(cache, now);
        }
      },
    });
  }

  const graphqlPlugin: ApolloServerPlugin<Context> = {
    requestDidStart() {
      let roots = new Map<string, string>();
      return Promise.resolve({
        didResolveOperation({ operation, document }) {
          if (!operation) return Promise.resolve();
          const fragments = Object.fromEntries(
            document.definitions.flatMap((definition) =>
              definition.kind === Kind.FRAGMENT_DEFINITION
                ? [[definition.name.value, definition]]
                : [],
            ),
          );
          roots = rootFieldsOf(operation.selectionSet, fragments);
          return Promise.resolve();
        },
        willSendResponse({ response }) {
          const fields = new Set(roots.values());
          if (fields.size === 0) operations.inc({ operation: NO_OPERATION });
          for (const operation of fields) operations.inc({ operation });
          const sent = response.body.kind === 'single' ? response.body.singleResult.errors : [];
          for (const error of sent ?? []) {
            const key = error.path?.[0];
            const operation =
              (typeof key === 'string' ? roots.get(key) : undefined) ??
              (fields.size === 1 ? [...fields][0]! : NO_OPERATION);
            const code = error.extensions?.code;
            errors.inc({
              operation,
              code: typeof code === 'string' && KNOWN_CODES.has(code) ? code : 'OTHER',
            });
          }
          return Promise.resolve();
        },
      });
    },
  };

  const httpMiddleware: RequestHandler = (request, response, next) => {
    const started = performance.now();
    const route = routeOf(request.path);
    response.once('close', () => {
      const status = response.writableFinished ? String(response.statusCode) : 'aborted';
      httpRequests.inc({ route, method: request.method, status });
      httpSeconds.observe({ route }, (performance.now() - started) / 1000);
    });
    next();
  };

  return {
    registry,
    graphqlPlugin,
    httpMiddleware,
    observeTransaction({ mode, operation, seconds, errorCode }) {
      transactions.observe({ mode, operation }, seconds);
      if (errorCode !== null) transactionErrors.inc({ mode, code: errorCode });
    },
    attach(given) {
      sources = given;
      if (given.backend.vectors) registerVectorIndexGauges(given.backend.vectors);
    },
    instrument(services) {
      const { linking } = services;
      const observeStages = (timing: readonly StageTiming[]) => {
        for (const { stage, ms } of timing) stages.observe({ stage }, ms / 1000);
      };
      return {
        ...services,
        linking: {
          linkedImage: (...args) => linking.linkedImage(...args),
          linkedImagesOf: (...args) => linking.linkedImagesOf(...args),
          async link(...args) {
            const result = await linking.link(...args);
            observeStages(result.timing);
            return result;
          },
        },
      };
    },
  };
}
