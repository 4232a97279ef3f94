import type { MergedCandidate } from '../candidates/merge.js';
import { toTuple } from '../geometry/box.js';
import type { Config } from '../config.js';
import { BadInputError, UniquenessViolationError } from '../errors.js';
import { inspectImage, type InspectedImage } from '../images/image-decoding.js';
import type { ImageSource } from '../images/image-source.js';
import { isSha256Hex, sha256Hex, type ImageStore } from '../images/image-store.js';
import type { DecodedImage } from '../inference/image-preprocess.js';
import { boxGeometry, mentionTokenPositions } from '../inference/linker-features.js';
import type { LinkerModel } from '../inference/linker-model.js';
import { InferenceError } from '../inference/onnx-runtime.js';
import type { TextEncoder } from '../inference/text-encoder.js';
import { CandidateVectorCache, type CandidateKey } from '../linking/candidate-vector-cache.js';
import { GraphGazetteer } from '../linking/gazetteer.js';
import {
  candidateText,
  checkLinkRequest,
  detectedMentions,
  givenMentions,
  givenRegions,
  proposedRegions,
  taskOf,
  type LinkMention,
  type LinkRegion,
  type LinkRequest,
  type LinkTask,
} from '../linking/link-input.js';
import {
  addImageEvidence,
  decide,
  EMPTY_LIST,
  featureLayout,
  greedyPairs,
  knownPairUnits,
  loneUnits,
  makeUnit,
  rankCandidates,
  regionEvidence,
  scorable,
  toCandidateList,
  unitContext,
  unitKind,
  type CandidateList,
  type FeatureSlot,
  type LinkDecision,
  type LinkUnit,
  type Pair,
  type RankedCandidate,
  type SharedContext,
  type UnitKind,
  type UnitSources,
} from '../linking/link-units.js';
import { detectMentions } from '../linking/mentions.js';
import { RegionProposer, type RegionModels } from '../linking/regions.js';
import type { Logger } from '../logger.js';
import type { Graph } from '../neo4j/driver.js';
import {
  findImagesBySha256,
  type EntityKey,
  type ImageRecord,
} from '../neo4j/entity-repository.js';
import * as linkRepository from '../neo4j/link-repository.js';
import type {
  LinkedImageRecord,
  LinkedImageWrite,
  StoredFinding,
  StoredLink,
} from '../neo4j/link-repository.js';
import type { CandidateService, PreparedCandidateQuery } from './candidate-service.js';
import type { DecodedImageEncoder, TextVectorEncoder } from './encoders.js';
import type { ImageReader } from './image-reader.js';

/** What `linkImage` needs of the trained linker. */
export type LinkingLinker = Pick<
  LinkerModel,
  | 'fingerprint'
  | 'name'
  | 'version'
  | 'manifest'
  | 'thresholds'
  | 'calibration'
  | 'contextCodes'
  | 'scoreMany'
>;

/** Per unit kind, the NIL threshold applied (null: nothing of that kind is NIL). */
export type NilThresholds = Readonly<Record<UnitKind, number | null>>;

/** Overrides for choosing the calibration itself (eval/xdep); the API never sets them. */
export interface LinkOptions {
  readonly regionDenseImageWeight?: number;
}

/** The bundle's models as `linkImage` uses them; null where the bundle lacks one. */
export interface LinkingModels {
  readonly bundleId: string;
  readonly linker: LinkingLinker | null;
  /** Caption token states (the text encoder). */
  readonly tokens: Pick<TextEncoder, 'encodeTokens' | 'maxLength'> | null;
  /** Mention vectors for dense text retrieval. */
  readonly text: Pick<TextVectorEncoder, 'encodeQuery'> | null;
  readonly image: DecodedImageEncoder | null;
  /** Detector, faces and OCR for region proposals (loaded on first use). */
  vision(): Promise<RegionModels>;
}

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

export interface LinkImageInput extends LinkRequest {
  readonly image: ImageSource;
}

/** One answer of `linkImage`: a mention and/or a region, and the entity (null: NIL). */
export interface LinkTriple extends LinkDecision {
  readonly mention: LinkMention | null;
  readonly region: LinkRegion | null;
  /** The NIL threshold this triple's kind was held to. */
  readonly nilThreshold: number | null;
}

export const LINK_STAGES = [
  'decode',
  'mentions',
  'regions',
  'encode-text',
  'encode-regions',
  'candidates',
  'context',
  'score',
  'align',
  'write',
  'total',
] as const;
export type LinkStage = (typeof LINK_STAGES)[number];

export interface StageTiming {
  readonly stage: LinkStage;
  /** Wall-clock milliseconds, 0.1 ms resolution. */
  readonly ms: number;
}

export interface LinkImageResult {
  /** The stored query image. */
  readonly image: ImageRecord;
  readonly task: LinkTask;
  /** The linker's fingerprint: the LinkedImage's key with the image's sha256. */
  readonly model: string;
  /** The linker's name@version. */
  readonly modelName: string;
  /** The NIL threshold of pairs (the input's, else the linker's for the task; null: none). */
  readonly nilThreshold: number | null;
  /** The NIL threshold applied to each kind of unit. */
  readonly nilThresholds: NilThresholds;
  readonly linkedAt: string;
  readonly triples: readonly LinkTriple[];
  /** Per stage, in pipeline order, then the total. */
  readonly timing: readonly StageTiming[];
}

/**
 * Accumulates wall-clock time per stage (context and score run once per phase), and stops the
 * request at the next stage boundary once its budget's signal has fired: a model run cannot be
 * interrupted, but no further stage starts and nothing is written.
 */
class StageClock {
  private readonly started = performance.now();
  private readonly spent = new Map<LinkStage, number>();

  constructor(private readonly signal: AbortSignal | undefined) {}

  async time<T>(stage: LinkStage, work: () => Promise<T>): Promise<T> {
    this.signal?.throwIfAborted();
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.spent.set(stage, (this.spent.get(stage) ?? 0) + performance.now() - started);
    }
  }

  timings(): StageTiming[] {
    const round = (ms: number) => Math.round(ms * 10) / 10;
    this.spent.set('total', performance.now() - this.started);
    return LINK_STAGES.map((stage) => ({ stage, ms: round(this.spent.get(stage) ?? 0) }));
  }
}

interface ReadyModels extends LinkingModels {
  readonly linker: LinkingLinker;
  readonly tokens: NonNullable<LinkingModels['tokens']>;
  readonly text: NonNullable<LinkingModels['text']>;
  readonly image: DecodedImageEncoder;
  readonly layout: readonly FeatureSlot[];
}

/** The query image, read, checked and decoded once. */
interface QueryImage {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly inspected: InspectedImage;
  readonly decoded: DecodedImage;
}

/** Everything the scoring phases share. */
interface Prepared {
  readonly models: ReadyModels;
  readonly mentions: readonly LinkMention[];
  readonly regions: readonly LinkRegion[];
  readonly shared: SharedContext;
  readonly sources: UnitSources;
  readonly vectors: ReadonlyMap<string, ArrayLike<number>>;
  readonly clock: StageClock;
  /** Weight of the DENSE_IMAGE cosine added to region-only units' scores (0: the linker alone). */
  readonly imageEvidenceWeight: number;
}

const LINK_WRITE_RETRIES = 1;

/**
 * `linkImage` (issue 6): mentions and regions (given, or detected and proposed), candidates per
 * mention and per region (CandidateService), contexts encoded once per unit and scored against the
 * entities' cached candidate vectors, V-T-KG pairing or the given V&T-KG pairs, NIL by threshold,
 * and the result written to the graph in one transaction. Follows models/zemel/predict.py.
 */
export class LinkingService {
  private readonly gazetteer: GraphGazetteer;
  private readonly vectorCache: CandidateVectorCache;
  private proposer: Promise<RegionProposer> | null = null;

  constructor(private readonly deps: LinkingServiceDeps) {
    this.gazetteer = new GraphGazetteer(deps.graph);
    this.vectorCache =
      deps.vectorCache ?? new CandidateVectorCache(deps.config.models.candidateVectorCache);
  }

  async link(
    input: LinkImageInput,
    signal?: AbortSignal,
    options: LinkOptions = {},
  ): Promise<LinkImageResult> {
    const { image: source, ...request } = input;
    checkLinkRequest(request, this.deps.config.limits);
    const models = this.readyModels();
    const clock = new StageClock(signal);
    const image = await clock.time('decode', () => this.readImage(source, models));
    const imageEvidenceWeight =
      options.regionDenseImageWeight ?? models.linker.calibration?.regionDenseImageWeight ?? 0;
    const prepared = await this.prepare({ models, request, image, clock, imageEvidenceWeight });
    const task = taskOf(request);
    const thresholds = nilThresholds(models.linker, task, request.nilThreshold);
    const threshold = thresholds.pair;
    const triples = (
      request.pairs === null
        ? await this.alignAndLink(prepared)
        : await this.linkPairs(prepared, request.pairs)
    ).map(({ unit, ranked }) =>
      this.tripleOf(prepared, { unit, ranked, threshold: thresholds[unitKind(unit)] }),
    );
    const written = await clock.time('write', () =>
      this.write({ image, request, models, task }, { triples, threshold }),
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
      linkRepository.findLinkedImage(tx, { sha256: hash, model }),
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
      linkRepository.findLinkedImagesOfEntities(tx, { ids, first }),
    );
  }

  private readyModels(): ReadyModels {
    const models = this.deps.models;
    if (!models?.linker) {
      throw new InferenceError(
        'linkImage needs the trained linker, and the model bundle has no linker' +
          (models ? '' : ' (the service runs without models)'),
      );
    }
    const { linker, tokens, text, image } = models;
    if (!tokens || !text || !image) {
      throw new InferenceError('linkImage needs the bundle’s text and image encoders as well');
    }
    return {
      ...models,
      linker,
      tokens,
      text,
      image,
      layout: featureLayout(linker.manifest.generatorFeatures),
    };
  }

  private async readImage(source: ImageSource, models: ReadyModels): Promise<QueryImage> {
    const bytes =
      source.kind === 'stored'
        ? await this.deps.imageReader.read(source)
        : await this.deps.imageReader.readSent(source);
    const inspected = await inspectImage(bytes, this.deps.config.images);
    const decoded = await models.image.decode(bytes);
    return { bytes, sha256: sha256Hex(bytes), inspected, decoded };
  }

  private async mentionsOf(request: LinkRequest): Promise<LinkMention[]> {
    if (request.mentions !== null) return givenMentions(request.caption, request.mentions);
    const spans = await detectMentions(request.caption, {
      gazetteer: this.gazetteer.forDomain(domainOf(request)),
      overlapPolicy:
        this.deps.config.linking.mentionOverlap === 'longest-first'
          ? 'LONGEST_FIRST'
          : 'SOURCE_FIRST',
    });
    return detectedMentions(spans);
  }

  private async regionsOf(request: LinkRequest, image: DecodedImage): Promise<LinkRegion[]> {
    if (request.regions !== null) return givenRegions(request.regions, image);
    const proposer = await this.regionProposer();
    return proposedRegions(
      (await proposer.propose(image, { maxRegions: this.deps.config.linking.maxProposedRegions }))
        .regions,
    );
  }

  private regionProposer(): Promise<RegionProposer> {
    const models = this.deps.models;
    if (!models) throw new InferenceError('Region proposals need the model bundle');
    this.proposer ??= models.vision().then(
      (vision) =>
        new RegionProposer(
          vision,
          this.deps.config.linking.contrastProposals ? {} : { contrast: null },
        ),
      (error: unknown) => {
        this.proposer = null;
        throw error;
      },
    );
    return this.proposer;
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
    const keys = new Map<string, string>();
    const [caption, visual] = await Promise.all([
      this.captionSide(context, keys),
      this.imageSide(context, keys),
    ]);
    const vectors = await clock.time('candidates', () =>
      this.candidateVectors(
        [...keys].map(([id, contentHash]): CandidateKey => ({ id, contentHash })),
        models.linker.fingerprint,
      ),
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

  /** Mentions, their token states and query vectors, and one candidate list per mention. */
  private async captionSide(
    context: { models: ReadyModels; request: LinkRequest; clock: StageClock },
    keys: Map<string, string>,
  ) {
    const { models, request, clock } = context;
    const mentions = await clock.time('mentions', () => this.mentionsOf(request));
    const text = await clock.time('encode-text', () => this.encodeText(models, request, mentions));
    // One list per distinct mention text, as the linker's training lists were made; all of them
    // in one read transaction (the BM25 lists in one Cypher call, the rule pools in another).
    const byText = await clock.time('candidates', async () => {
      const queries = [...text.queryVectors].map(([mention, textVector]) => ({
        mention,
        textVector,
        imageVector: null,
        limit: request.candidates,
        domain: domainOf(request),
      }));
      const lists = await this.deps.candidates.searchKeysMany(queries);
      return new Map(
        queries.map(({ mention }, i) => [mention, this.noteKeys(lists[i]!, keys)] as const),
      );
    });
    const mentionLists = mentions.map(
      (mention) => byText.get(candidateText(mention.text)) ?? EMPTY_LIST,
    );
    return { mentions, text, mentionLists };
  }

  /** Regions, their RoI features and crop vectors, and one candidate list per region. */
  private async imageSide(
    context: { models: ReadyModels; request: LinkRequest; image: QueryImage; clock: StageClock },
    keys: Map<string, string>,
  ) {
    const { models, request, image, clock } = context;
    const regions = await clock.time('regions', () => this.regionsOf(request, image.decoded));
    const boxes = regions.map((region) => region.box);
    const { features, crops } = await clock.time('encode-regions', async () => ({
      features: await models.image.regionFeatures(image.decoded, boxes),
      crops: await models.image.embedCrops(image.decoded, boxes),
    }));
    // Only a region in no pair becomes a region-only unit and reads the robust list; with given
    // pairs (V&T-KG) the others skip the mirrored pass and the search.
    const paired = new Set(request.pairs?.map((pair) => pair.region) ?? []);
    const lone = boxes.flatMap((box, index) => (paired.has(index) ? [] : [{ box, index }]));
    const encoder = models.image;
    const loneRobust =
      encoder.robustCrops && lone.length > 0
        ? await clock.time('encode-regions', () =>
            encoder.robustCrops!(
              image.decoded,
              lone.map(({ box }) => box),
              lone.map(({ index }) => crops[index]!),
            ),
          )
        : [];
    const robustVectors: (Float32Array | null)[] = boxes.map(() => null);
    lone.forEach(({ index }, row) => (robustVectors[index] = loneRobust[row] ?? null));
    const noText = { mention: '', textVector: null } as const;
    const [regionLists, regionRobustLists] = await clock.time('candidates', () =>
      Promise.all([
        Promise.all(
          crops.map((imageVector) => this.searchKeys(request, { ...noText, imageVector }, keys)),
        ),
        // A list of its own, so that the lists of units with a mention stay those the linker was
        // trained on; only region-only units read it (makeUnit, regionEvidence).
        Promise.all(
          robustVectors.map((robustImageVector) =>
            robustImageVector
              ? this.searchKeys(request, { ...noText, imageVector: null, robustImageVector }, keys)
              : Promise.resolve(EMPTY_LIST),
          ),
        ),
      ]),
    );
    return { regions, features, regionLists, regionRobustLists };
  }

  /**
   * The caption's token states exactly as the features were extracted (eval/features/FORMAT.md:
   * no prefix, at most 128 tokens), each mention's token positions, and one query vector per
   * distinct mention text for dense text retrieval.
   */
  private async encodeText(
    models: ReadyModels,
    request: LinkRequest,
    mentions: readonly LinkMention[],
  ): Promise<{
    tokenStates: Float32Array;
    positions: number[][];
    queryVectors: Map<string, Float32Array>;
  }> {
    const layout = models.linker.manifest.text;
    const tokens = await models.tokens.encodeTokens(request.caption, 'passage', {
      maxLength: Math.min(layout.maxTokens, models.tokens.maxLength),
      prefix: layout.prefix,
    });
    const positions = mentions.map((mention) =>
      mentionTokenPositions(tokens.offsets, tokens.fromText, mention.start, mention.end),
    );
    const queryVectors = new Map<string, Float32Array>();
    for (const mention of mentions) {
      const text = candidateText(mention.text);
      if (text !== '' && !queryVectors.has(text)) {
        queryVectors.set(text, await models.text.encodeQuery(text));
      }
    }
    return { tokenStates: tokens.states, positions, queryVectors };
  }

  /** One CandidateService list (key fields only); notes each listed entity's content hash. */
  private async searchKeys(
    request: LinkRequest,
    query: Pick<
      PreparedCandidateQuery,
      'mention' | 'textVector' | 'imageVector' | 'robustImageVector'
    >,
    keys: Map<string, string>,
  ): Promise<CandidateList> {
    const found = await this.deps.candidates.searchKeys({
      ...query,
      limit: request.candidates,
      domain: domainOf(request),
    });
    return this.noteKeys(found, keys);
  }

  /** A CandidateService list as a CandidateList; notes each listed entity's content hash. */
  private noteKeys(
    found: readonly MergedCandidate<EntityKey>[],
    keys: Map<string, string>,
  ): CandidateList {
    for (const { entity } of found) keys.set(entity.id, entity.contentHash);
    return toCandidateList(found);
  }

  /**
   * Every listed entity's candidate vector: from the in-process cache when its content hash
   * matches, else in one query.
   */
  private async candidateVectors(
    keys: readonly CandidateKey[],
    fingerprint: string,
  ): Promise<Map<string, Float32Array>> {
    const { found, missing } = this.vectorCache.lookup(keys);
    if (missing.length === 0) return found;
    const read = await this.deps.graph.read('linkImage.candidateVectors', (tx) =>
      linkRepository.findCandidateVectors(
        tx,
        missing.map((key) => key.id),
        fingerprint,
      ),
    );
    this.vectorCache.store(read.vectors);
    for (const { id, vector } of read.vectors) found.set(id, vector);
    if (read.stale.length > 0) {
      this.deps.logger.warn(
        { count: read.stale.length, sample: read.stale.slice(0, 5) },
        'candidates without a current candidate vector were skipped; run reencodeEntities',
      );
    }
    return found;
  }

  /** Contexts of all units in one encoder call, then their candidates scored in few runs. */
  private async rank(prepared: Prepared, units: readonly LinkUnit[]): Promise<RankedCandidate[][]> {
    const { linker } = prepared.models;
    const items = units.map((unit) => scorable(unit, prepared.vectors));
    // A unit with nothing to score needs no context.
    const live = items.flatMap((item, index) => (item.candidates.length > 0 ? [index] : []));
    const codes = await prepared.clock.time('context', () =>
      linker.contextCodes(live.map((index) => unitContext(prepared.shared, units[index]!))),
    );
    const scores = await prepared.clock.time('score', () =>
      linker.scoreMany(
        live.map((index, row) => ({
          codes: codes[row]!,
          vectors: items[index]!.vectors,
          features: items[index]!.features,
        })),
      ),
    );
    const ranked: RankedCandidate[][] = units.map(() => []);
    live.forEach((index, row) => {
      const unit = units[index]!;
      const byLinker = rankCandidates(items[index]!.candidates, scores[row]!);
      ranked[index] =
        unit.region !== null && unitKind(unit) === 'region' && prepared.imageEvidenceWeight > 0
          ? addImageEvidence(
              byLinker,
              regionEvidence(prepared.sources, unit.region),
              prepared.imageEvidenceWeight,
            )
          : byLinker;
    });
    return ranked;
  }

  /** V&T-KG: the given pairs, then the mentions and regions in no pair, each in its context. */
  private async linkPairs(
    prepared: Prepared,
    pairs: readonly Pair[],
  ): Promise<{ unit: LinkUnit; ranked: RankedCandidate[] }[]> {
    const units = knownPairUnits(prepared.sources, pairs, {
      mentions: prepared.mentions.length,
      regions: prepared.regions.length,
    });
    const ranked = await this.rank(prepared, units);
    return units.map((unit, index) => ({ unit, ranked: ranked[index]! }));
  }

  /**
   * V-T-KG (predict.py `vt_kg_aligned`): every mention and region scored alone; pairs taken
   * greedily by the image cosine between a region and its mention's best entity; each pair
   * re-scored with both marked; what stays unpaired keeps its lone ranking.
   */
  private async alignAndLink(
    prepared: Prepared,
  ): Promise<{ unit: LinkUnit; ranked: RankedCandidate[] }[]> {
    const { sources, mentions, regions, clock } = prepared;
    const lone = loneUnits(sources, { mentions: mentions.length, regions: regions.length });
    const loneRanked = await this.rank(prepared, lone);
    const mentionRanked = loneRanked.slice(0, mentions.length);
    const pairs = await clock.time('align', () =>
      Promise.resolve(
        greedyPairs({
          mentionTops: mentionRanked.map((ranked) => ranked[0]?.entityId ?? null),
          regionLists: sources.regionLists,
        }),
      ),
    );
    const pairUnits = pairs.map((pair) => makeUnit(sources, pair));
    const pairRanked = await this.rank(prepared, pairUnits);
    const pairedMentions = new Set(pairs.map((pair) => pair.mention));
    const pairedRegions = new Set(pairs.map((pair) => pair.region));
    return [
      ...pairUnits.map((unit, index) => ({ unit, ranked: pairRanked[index]! })),
      ...lone.flatMap((unit, index) => {
        const paired =
          unit.mention !== null
            ? pairedMentions.has(unit.mention)
            : pairedRegions.has(unit.region!);
        return paired ? [] : [{ unit, ranked: loneRanked[index]! }];
      }),
    ];
  }

  private tripleOf(
    prepared: Prepared,
    scored: { unit: LinkUnit; ranked: RankedCandidate[]; threshold: number | null },
  ): LinkTriple {
    const { unit, ranked, threshold } = scored;
    return {
      mention: unit.mention === null ? null : prepared.mentions[unit.mention]!,
      region: unit.region === null ? null : prepared.regions[unit.region]!,
      nilThreshold: threshold,
      ...decide(ranked, threshold),
    };
  }

  /** Stores the image bytes, then the LinkedImage with its links and findings in one transaction. */
  private async write(
    context: { image: QueryImage; request: LinkRequest; models: ReadyModels; task: LinkTask },
    result: { triples: readonly LinkTriple[]; threshold: number | null },
  ): Promise<{ linkedAt: string; image: ImageRecord }> {
    const { image, request, models, task } = context;
    const write: LinkedImageWrite = {
      sha256: image.sha256,
      model: models.linker.fingerprint,
      modelName: `${models.linker.name}@${models.linker.version}`,
      bundle: models.bundleId,
      caption: request.caption,
      task,
      nilThreshold: result.threshold,
      domain: domainOf(request),
      image: {
        sha256: image.sha256,
        mime: image.inspected.mime,
        format: image.inspected.format,
        width: image.inspected.width,
        height: image.inspected.height,
        byteSize: image.bytes.byteLength,
        url: `${this.deps.publicBaseUrl}/images/${image.sha256}`,
      },
      ...graphSidesOf(result.triples),
    };
    const { imageStore } = this.deps;
    const newlyStored = !(await imageStore.has(image.sha256));
    if (newlyStored) await imageStore.put(image.sha256, image.bytes);
    try {
      const written = await this.writeWithRetry(write);
      // A concurrent deletion may have removed the file between the check above and the commit
      // (it found the Image node unreferenced): put it back (ImageStore.removeUnreferenced).
      await imageStore.put(image.sha256, image.bytes).catch((error: unknown) => {
        this.deps.logger.error(
          { err: error, sha256: image.sha256 },
          'could not put back the file of a linked image',
        );
      });
      if (written.droppedLinks > 0) {
        this.deps.logger.warn(
          { sha256: image.sha256, dropped: written.droppedLinks },
          'entities deleted while linking: their links were not written',
        );
      }
      return written;
    } catch (error) {
      if (newlyStored) await this.discardIfUnused(image.sha256);
      throw error;
    }
  }

  /** Two concurrent first links of one image and model: the loser of the MERGE race runs again. */
  private async writeWithRetry(
    write: LinkedImageWrite,
  ): Promise<Awaited<ReturnType<typeof linkRepository.writeLinkedImage>>> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.deps.graph.write('linkImage', (tx) =>
          linkRepository.writeLinkedImage(tx, write),
        );
      } catch (error) {
        if (!(error instanceof UniquenessViolationError) || attempt >= LINK_WRITE_RETRIES) {
          throw error;
        }
      }
    }
  }

  /** Removes the file this call wrote unless an Image node (an entity's, or linked) uses it. */
  private async discardIfUnused(sha256: string): Promise<void> {
    try {
      await this.deps.imageStore.removeUnreferenced([sha256], async (hashes) => {
        const images = await this.deps.graph.read('images.find', (tx) =>
          findImagesBySha256(tx, hashes),
        );
        return new Set(images.map((found) => found.sha256));
      });
    } catch (error) {
      this.deps.logger.warn({ err: error, sha256 }, 'could not check an unused query image file');
    }
  }
}

function domainOf(request: Pick<LinkRequest, 'domain'>): string | null {
  const domain = request.domain?.trim() ?? '';
  return domain === '' ? null : domain;
}

/**
 * Each triple as the graph keeps it: a linked triple's mention becomes a MENTIONS link and its
 * region a DEPICTS link to the entity; a NIL triple becomes one Finding (MENTION, REGION or PAIR).
 */
export function graphSidesOf(triples: readonly LinkTriple[]): {
  links: StoredLink[];
  findings: StoredFinding[];
} {
  const links: StoredLink[] = [];
  const findings: StoredFinding[] = [];
  triples.forEach((triple, index) => {
    const mention = triple.mention
      ? {
          start: triple.mention.start,
          end: triple.mention.end,
          text: triple.mention.text,
          source: triple.mention.source,
        }
      : null;
    const region = triple.region
      ? {
          ...triple.region.box,
          label: triple.region.label,
          source: triple.region.source,
          score: triple.region.score,
        }
      : null;
    if (triple.entityId === null) {
      const kind = mention && region ? 'PAIR' : mention ? 'MENTION' : 'REGION';
      findings.push({ triple: index, kind, score: triple.score, mention, region });
      return;
    }
    const side = { triple: index, entityId: triple.entityId, score: triple.score ?? 0 };
    if (mention) links.push({ ...side, kind: 'MENTION', mention, region: null });
    if (region) links.push({ ...side, kind: 'REGION', mention: null, region });
  });
  return { links, findings };
}

/**
 * The NIL threshold of each unit kind: the request's for every kind when it gives one, else the
 * calibration's for the task and kind, else the linker's for the task.
 */
export function nilThresholds(
  linker: Pick<LinkerModel, 'thresholds' | 'calibration'>,
  task: LinkTask,
  requested: number | null,
): NilThresholds {
  const of = (kind: UnitKind): number | null => {
    if (requested !== null) return requested;
    const calibrated = linker.calibration?.thresholds[task]?.[kind];
    return calibrated !== undefined ? calibrated : (linker.thresholds[task] ?? null);
  };
  return { pair: of('pair'), mention: of('mention'), region: of('region') };
}
