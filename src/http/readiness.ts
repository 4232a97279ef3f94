import type { RequestHandler } from 'express';
import type { Backend } from '../backend.js';
import { AppError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

type PartStatus = 'ok' | 'off' | 'failed';

export interface PartReport {
  readonly status: PartStatus;
  readonly [detail: string]: unknown;
}

export interface Readiness {
  readonly status: 'ready' | 'unavailable';
  readonly parts: Readonly<Record<string, PartReport>>;
}

export interface ReadinessSources {
  readonly backend: Pick<Backend, 'graph' | 'models' | 'vectors' | 'modelLoadSeconds'>;
  /** Resolves when the image store can be read and written; rejects with the reason otherwise. */
  readonly probeImageStore: () => Promise<void>;
  readonly logger: Logger;
}

async function timed(
  part: string,
  probe: () => Promise<void>,
  logger: Logger,
): Promise<PartReport> {
  const started = performance.now();
  try {
    await probe();
    return { status: 'ok', ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    // Readiness is answered without authentication: a documented code, never a host name or path.
    logger.warn({ err: error, part }, 'not ready');
    return {
      status: 'failed',
      code: error instanceof AppError ? error.code : ErrorCode.ServiceUnavailable,
    };
  }
}

/**
 * What a load balancer needs to decide whether to send traffic here: Neo4j answers a query, the
 * image store is reachable, the model bundle is loaded (or deliberately off), and the in-process
 * vector index, where used, is loaded. Vision models load on first use and are reported, not required.
 */
export async function checkReadiness(sources: ReadinessSources): Promise<Readiness> {
  const { backend, logger } = sources;
  const [neo4j, imageStore] = await Promise.all([
    timed('neo4j', () => backend.graph.ping(), logger),
    timed('imageStore', sources.probeImageStore, logger),
  ]);
  const { models, vectors, modelLoadSeconds } = backend;
  const parts: Record<string, PartReport> = {
    neo4j,
    imageStore,
    models: models
      ? {
          status: 'ok',
          bundle: models.manifest.id,
          provider: models.runtime.provider,
          loadSeconds: modelLoadSeconds.bundle,
          vision: modelLoadSeconds.vision === null ? 'not loaded' : 'loaded',
        }
      : { status: 'off' },
    vectors: vectors
      ? { status: 'ok', entities: vectors.stats().entities, version: vectors.appliedVersion }
      : { status: 'off', search: 'neo4j' },
  };
  const ready = Object.values(parts).every((part) => part.status !== 'failed');
  return { status: ready ? 'ready' : 'unavailable', parts };
}

export function createReadinessHandler(sources: ReadinessSources): RequestHandler {
  return async (_request, response) => {
    const readiness = await checkReadiness(sources);
    response.status(readiness.status === 'ready' ? 200 : 503).json(readiness);
  };
}
