import type { Config } from '../config.js';
import { BadInputError } from '../errors.js';
import { toTuple } from '../geometry/box.js';
import { isSha256Hex, type ImageStore } from '../images/image-store.js';
import { boxGeometry } from '../inference/linker/linker-features.js';
import type { Logger } from '../logger.js';
import type { Graph } from '../neo4j/driver.js';
import {
  findLinkedImage,
  findLinkedImagesOfEntities,
  type LinkedImageRecord,
} from '../neo4j/link-repository.js';
import type { CandidateService } from '../services/candidate-service.js';
import type { ImageReader } from '../services/image-reader.js';
import { CandidateLists, type ListedKeys } from './candidate-lists.js';
import { CaptionSide } from './caption-side.js';
import { ImageSide } from './image-side.js';
import { checkLinkRequest, taskOf, type LinkRequest } from './link-input.js';
import {
  nilThresholds,
  tripleOf,
  type LinkImageInput,
  type LinkImageResult,
  type LinkOptions,
} from './link-result.js';
import { unitKind } from './link-units.js';
import { LinkWriter } from './link-writer.js';
import { readyModels, type LinkingModels, type ReadyModels } from './linking-models.js';
import { readQueryImage, type QueryImage } from './query-image.js';
import { alignAndLink, linkPairs, type Prepared } from './scoring.js';
import { StageClock } from './stage-clock.js';
import { CandidateVectorCache } from './candidate-vector-cache.js';

export interface LinkingServiceDeps {
  readonly graph: Graph;
  readonly candidates: Pick<CandidateService, 'searchKeys' | 'searchKeysMany'>;
  readonly imageStore: ImageStore;
  readonly imageReader: Pick<ImageReader, 'read' | 'readSent'>;
  readonly config: Pick<Config, 'images' | 'limits' | 'linking'> & {
    readonly models: Pick<Config['models'], 'candidateVectorCache'>;
  };
  /** Where this service's GET /images/:sha256 is reachable from outside. */
  readonly publicBaseUrl: string;
  readonly logger: Logger;
  /** Null when the service runs without models: `linkImage` then fails with INFERENCE_FAILED. */
  readonly models: LinkingModels | null;
  /** Given by the composition root so /metrics can read it; else one of the service's own. */
  readonly vectorCache?: CandidateVectorCache;
}

/** The stages `linkImage` is made of, each with one role. */
export interface LinkingParts {
  readonly lists: Pick<CandidateLists, 'vectors'>;
  readonly caption: Pick<CaptionSide, 'run'>;
  readonly image: Pick<ImageSide, 'run'>;
  readonly writer: Pick<LinkWriter, 'write'>;
}

/** The parts the service runs on, built from its dependencies. */
export function createLinkingParts(deps: LinkingServiceDeps): LinkingParts {
  const lists = new CandidateLists({
    graph: deps.graph,
    candidates: deps.candidates,
    logger: deps.logger,
    vectorCache:
      deps.vectorCache ?? new CandidateVectorCache(deps.config.models.candidateVectorCache),
  });
  return {
    lists,
    caption: new CaptionSide({ graph: deps.graph, config: deps.config.linking, lists }),
    image: new ImageSide({ config: deps.config.linking, lists, models: deps.models }),
    writer: new LinkWriter(deps),
  };
}

/**
 * `linkImage` (issue 6): mentions and regions (given, or detected and proposed), candidates per
 * mention and per region (CandidateService), contexts encoded once per unit and scored against the
 * entities' cached candidate vectors, V-T-KG pairing or the given V&T-KG pairs, NIL by threshold,
 * and the result written to the graph in one transaction. Follows models/zemel/predict.py.
 */
export class LinkingService {
  private readonly parts: LinkingParts;

  constructor(
    private readonly deps: LinkingServiceDeps,
    parts?: LinkingParts,
  ) {
    this.parts = parts ?? createLinkingParts(deps);
  }

  async link(
    input: LinkImageInput,
    signal?: AbortSignal,
    options: LinkOptions = {},
  ): Promise<LinkImageResult> {
    const { image: source, ...request } = input;
    checkLinkRequest(request, this.deps.config.limits);
    const models = readyModels(this.deps.models);
    const clock = new StageClock(signal);
    const image = await clock.time('decode', () =>
      readQueryImage(source, {
        reader: this.deps.imageReader,
        limits: this.deps.config.images,
        encoder: models.image,
      }),
    );
    const imageEvidenceWeight =
      options.regionDenseImageWeight ?? models.linker.calibration?.regionDenseImageWeight ?? 0;
    const prepared = await this.prepare({ models, request, image, clock, imageEvidenceWeight });
    const task = taskOf(request);
    const thresholds = nilThresholds(models.linker, task, request.nilThreshold);
    const threshold = thresholds.pair;
    const triples = (
      request.pairs === null
        ? await alignAndLink(prepared)
        : await linkPairs(prepared, request.pairs)
    ).map(({ unit, ranked }) =>
      tripleOf(prepared, { unit, ranked, threshold: thresholds[unitKind(unit)] }),
    );
    const written = await clock.time('write', () =>
      this.parts.writer.write({ image, request, models, task }, { triples, threshold }),
    );
    const timing = clock.timings();
    this.deps.logger.debug(
      { sha256: image.sha256, task, triples: triples.length, timing },
      'linkImage',
    );
    return {
      image: written.image,
      task,
      model: models.linker.fingerprint,
      modelName: `${models.linker.name}@${models.linker.version}`,
      nilThreshold: threshold,
      nilThresholds: thresholds,
      linkedAt: written.linkedAt,
      triples,
      timing,
    };
  }

  /** The linked image of one query image and model; with no model, the latest linked. */
  async linkedImage(sha256: string, model: string | null): Promise<LinkedImageRecord | null> {
    const hash = sha256.toLowerCase();
    if (!isSha256Hex(hash)) {
      throw new BadInputError('sha256 must be 64 hex digits', { field: 'sha256' });
    }
    return this.deps.graph.read('linkedImage', (tx) =>
      findLinkedImage(tx, { sha256: hash, model }),
    );
  }

  /** Per entity id, the linked images that link to it, most recent first (DataLoader batch). */
  async linkedImagesOf(
    ids: readonly string[],
    first: number,
  ): Promise<Map<string, LinkedImageRecord[]>> {
    const { maxPageSize } = this.deps.config.limits;
    if (!Number.isInteger(first) || first < 1 || first > maxPageSize) {
      throw new BadInputError(`first must be between 1 and ${maxPageSize}`, { field: 'first' });
    }
    return this.deps.graph.read('linkedImagesOfEntities', (tx) =>
      findLinkedImagesOfEntities(tx, { ids, first }),
    );
  }

  /**
   * Mentions, token states, region features, candidate lists and candidate vectors of one
   * request. The caption side (mentions, text encoder, mention searches) and the image side
   * (regions, image encoder, region searches) run concurrently: while Neo4j answers one side's
   * searches, ONNX Runtime encodes the other's. Their stage times overlap, so the stages can add
   * up to more than the total.
   */
  private async prepare(context: {
    models: ReadyModels;
    request: LinkRequest;
    image: QueryImage;
    clock: StageClock;
    imageEvidenceWeight: number;
  }): Promise<Prepared> {
    const { models, image, clock } = context;
    // Every listed entity's content hash, from both sides: the keys of the vector cache.
    const keys: ListedKeys = new Map();
    const [caption, visual] = await Promise.all([
      this.parts.caption.run(context, keys),
      this.parts.image.run(context, keys),
    ]);
    const vectors = await clock.time('candidates', () =>
      this.parts.lists.vectors(keys, models.linker.fingerprint),
    );
    const { mentions, text, mentionLists } = caption;
    const { regions, features, regionLists, regionRobustLists } = visual;
    const { width, height } = image.decoded;
    return {
      models,
      mentions,
      regions,
      shared: {
        tokenStates: text.tokenStates,
        mentionPositions: text.positions,
        regions: regions.map(({ box }, index) => ({
          features: features[index]!,
          geometry: boxGeometry(toTuple(box), width, height),
        })),
      },
      sources: { mentionLists, regionLists, regionRobustLists, layout: models.layout },
      vectors,
      clock,
      imageEvidenceWeight: context.imageEvidenceWeight,
    };
  }
}
