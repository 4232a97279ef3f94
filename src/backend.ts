import type { Config } from './config.js';
import type { ImageStore } from './images/image-store.js';
import { openImageStore } from './images/open-image-store.js';
import { imageVectorEncoderFactory } from './inference/vision/image-vector-encoder.js';
import { createModelRegistry, type ModelRegistry } from './inference/model-registry.js';
import type { Logger } from './logger.js';
import { CandidateVectorCache } from './linking/candidate-vector-cache.js';
import { createGraph, type Graph, type GraphOptions } from './neo4j/driver.js';
import { applyMigrations } from './neo4j/migrations.js';
import { countStale, ensureVectorIndexes } from './neo4j/vector-repository.js';
import { MIGRATIONS_DIR } from './paths.js';
import { CandidateService } from './services/candidate-service.js';
import type { EntityEncoders } from './inference/encoders.js';
import { EncodingService } from './services/encoding-service.js';
import { EntityQueries } from './services/entity-queries.js';
import { EntityService } from './services/entity-service.js';
import { ImageReader } from './services/image-reader.js';
import { LinkingService } from './linking/linking-service.js';
import type { LinkingModels } from './linking/linking-models.js';
import { onnxMatMulScorer } from './vectors/row-scorer.js';
import { VectorSync } from './vectors/vector-sync.js';

/**
 * Live rows from which the image vectors are searched in two stages (an int8 scan, then exact
 * float32 rescoring; same hits). Below it one float32 scan is as fast (bench/results/knn-scale.md).
 * Only the 1,280-d image kind: its int8 copy costs ~1.3 KB a row of resident memory, and the
 * 384-d text and 256-d robust scans are 3-5x cheaper to begin with.
 */
const TWO_STAGE_MIN_ROWS = 20_000;

/** What every entry point (HTTP service, CLI commands) runs on: one driver, one set of models. */
export interface Backend {
  readonly graph: Graph;
  /** Image bytes: the local folder or the S3 bucket of POLYLINK_IMAGE_STORE. */
  readonly imageStore: ImageStore;
  readonly models: ModelRegistry | null;
  readonly encoders: EntityEncoders | null;
  /** The in-process vector index (POLYLINK_VECTOR_SEARCH=memory with encoders), else null. */
  readonly vectors: VectorSync | null;
  /** Seconds each part of the bundle took to load; null until loaded (vision loads on first use). */
  readonly modelLoadSeconds: { readonly bundle: number | null; readonly vision: number | null };
  /** Models first, then the driver: nothing may still be writing vectors when the driver closes. */
  close(): Promise<void>;
}

/**
 * Connects to Neo4j, opens the image store, applies migrations, loads the model bundle and makes sure the vector
 * indexes fit its encoders. Anything opened is closed again when a later step fails.
 */
export async function openBackend(
  config: Config,
  logger: Logger,
  options: GraphOptions = {},
): Promise<Backend> {
  const graph = await createGraph(config.neo4j, options);
  let imageStore: ImageStore;
  try {
    imageStore = await openImageStore(config, logger);
  } catch (error) {
    await graph.close();
    throw error;
  }
  const modelLoadSeconds: { bundle: number | null; vision: number | null } = {
    bundle: null,
    vision: null,
  };
  let models: ModelRegistry | null = null;
  let vectors: VectorSync | null = null;
  try {
    if (config.migrateOnStart) {
      logger.info(await applyMigrations(graph, MIGRATIONS_DIR), 'migrations checked');
    }
    if (config.models.enabled) {
      const loadStarted = performance.now();
      models = await createModelRegistry(config.models, logger, {
        imageEncoder: imageVectorEncoderFactory(config.images),
      });
      modelLoadSeconds.bundle = (performance.now() - loadStarted) / 1000;
      models = withTimedVision(models, modelLoadSeconds);
      const { text, image, candidate } = models.encoders;
      await ensureVectorIndexes(graph, {
        ...(text ? { entityText: text.dimension } : {}),
        ...(image ? { image: image.dimension } : {}),
        ...(image?.robustDimension ? { imageRobust: image.robustDimension } : {}),
      });
      const stale = await graph.read('encoding.count', (tx) =>
        countStale(tx, {
          text: text?.fingerprint ?? null,
          image: image?.fingerprint ?? null,
          candidate: candidate?.fingerprint ?? null,
        }),
      );
      if (stale.entities + stale.images + stale.candidates > 0) {
        logger.warn(
          stale,
          'some cached vectors are missing or from another bundle; run reencodeEntities (polylink reencode)',
        );
      }
      if (config.vectors.search === 'memory' && (text || image)) {
        vectors = new VectorSync({
          graph,
          logger,
          dimensions: {
            ...(text ? { text: text.dimension } : {}),
            ...(image ? { image: image.dimension } : {}),
            ...(image?.robustDimension ? { imageRobust: image.robustDimension } : {}),
          },
          fingerprints: { text: text?.fingerprint ?? null, image: image?.fingerprint ?? null },
          pollMs: config.vectors.pollMs,
          pageSize: config.vectors.loadPageSize,
          scorer: await onnxMatMulScorer(logger),
          quantisedScan: { minRows: TWO_STAGE_MIN_ROWS, kinds: ['image'] },
        });
        await vectors.load();
        vectors.start();
      }
    } else {
      logger.warn('POLYLINK_MODELS=off: no encoders, candidates come from BM25 and rules only');
    }
  } catch (error) {
    await vectors?.stop();
    await models?.close();
    imageStore.close();
    await graph.close();
    throw error;
  }
  const backend: Backend = {
    graph,
    imageStore,
    models,
    encoders: models?.encoders ?? null,
    vectors,
    modelLoadSeconds,
    async close() {
      await vectors?.stop();
      await models?.close();
      imageStore.close();
      await graph.close();
    },
  };
  return backend;
}

/** The use cases every entry point runs on (resolvers, CLI, evaluation): never the driver. */
export interface Services {
  readonly entities: Pick<EntityService, 'register' | 'registerMany' | 'update' | 'delete'>;
  readonly queries: Pick<EntityQueries, 'findByIds' | 'imagesOf' | 'image' | 'domains' | 'page'>;
  readonly candidates: Pick<CandidateService, 'generate'>;
  readonly encoding: Pick<EncodingService, 'status' | 'start' | 'run'>;
  readonly images: Pick<ImageReader, 'read'>;
  readonly linking: Pick<LinkingService, 'link' | 'linkedImage' | 'linkedImagesOf'>;
}

/** The use cases, built once per process on the backend. */
export function createServices(options: {
  readonly backend: Backend;
  readonly config: Config;
  readonly logger: Logger;
  /** Where GET /images/:sha256 is reachable, for the URLs written onto Image nodes. */
  readonly publicBaseUrl: string;
  /** linkImage's candidate-vector cache, when the caller reads its statistics. */
  readonly candidateVectorCache?: CandidateVectorCache;
}): Services {
  const { backend, config, logger, publicBaseUrl } = options;
  const { imageStore } = backend;
  const imageReader = new ImageReader(imageStore, config.images);
  const candidates = new CandidateService(
    backend.graph,
    config.limits,
    backend.encoders,
    backend.vectors,
  );
  // This replica's own vector writes reach its in-process index before the mutation returns; a
  // failure (the write itself committed) is logged and left to the next poll, never thrown.
  const vectors = backend.vectors;
  const vectorsWritten = vectors
    ? async () => {
        try {
          await vectors.catchUp();
        } catch (error) {
          logger.warn({ err: error }, 'in-process vector index not updated; the poll retries');
        }
      }
    : undefined;
  return {
    images: imageReader,
    queries: new EntityQueries(backend.graph, config.limits),
    entities: new EntityService({
      graph: backend.graph,
      imageStore,
      imageReader,
      config,
      logger,
      publicBaseUrl,
      encoders: backend.encoders,
      ...(vectorsWritten ? { vectorsWritten } : {}),
    }),
    candidates,
    linking: new LinkingService({
      graph: backend.graph,
      candidates,
      imageStore,
      imageReader,
      config,
      logger,
      publicBaseUrl,
      models: backend.models ? linkingModels(backend.models) : null,
      vectorCache:
        options.candidateVectorCache ??
        new CandidateVectorCache(config.models.candidateVectorCache),
    }),
    encoding: new EncodingService({
      graph: backend.graph,
      encoders: backend.encoders,
      imageStore,
      logger,
      ...(vectorsWritten ? { vectorsWritten } : {}),
    }),
  };
}

/** The registry's models as `linkImage` uses them. */
function linkingModels(models: ModelRegistry): LinkingModels {
  return {
    bundleId: models.manifest.id,
    linker: models.linker,
    tokens: models.text,
    text: models.encoders.text,
    image: models.encoders.image?.decoded ?? null,
    vision: () => models.vision(),
  };
}

/** The registry, with the first load of its vision models timed (they load on first use). */
function withTimedVision(
  models: ModelRegistry,
  loadSeconds: { vision: number | null },
): ModelRegistry {
  let vision: ReturnType<ModelRegistry['vision']> | null = null;
  return {
    ...models,
    vision() {
      if (vision === null) {
        const started = performance.now();
        vision = models.vision().then((loaded) => {
          loadSeconds.vision = (performance.now() - started) / 1000;
          return loaded;
        });
      }
      return vision;
    },
  };
}
