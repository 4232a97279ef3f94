import type { Config } from '../config.js';
import type { DecodedImage } from '../inference/vision/image-preprocess.js';
import { InferenceError } from '../inference/runtime/onnx-runtime.js';
import type { CandidateLists, ListedKeys } from './candidate-lists.js';
import { givenRegions, proposedRegions, type LinkRegion, type LinkRequest } from './link-input.js';
import { EMPTY_LIST, type CandidateList } from './link-units.js';
import type { LinkingModels, ReadyModels } from './linking-models.js';
import type { QueryImage } from './query-image.js';
import { RegionProposer } from './regions.js';
import type { StageClock } from './stage-clock.js';

export interface ImageSideResult {
  readonly regions: LinkRegion[];
  /** Per region, its RoI feature (the linker's region input). */
  readonly features: Float32Array[];
  /** Per region, its dense image list. */
  readonly regionLists: CandidateList[];
  /** Per region, its style-robust list (empty for a region in a given pair). */
  readonly regionRobustLists: CandidateList[];
}

/** The image side of `linkImage`: regions, their features and their candidate lists. */
export class ImageSide {
  private proposer: Promise<RegionProposer> | null = null;

  constructor(
    private readonly deps: {
      readonly config: Pick<
        Config['linking'],
        'maxProposedRegions' | 'contrastProposals' | 'proposalOcrMinSide'
      >;
      readonly lists: Pick<CandidateLists, 'search'>;
      /** Null when the service runs without models. */
      readonly models: Pick<LinkingModels, 'vision'> | null;
    },
  ) {}

  /** Regions, their RoI features and crop vectors, and one candidate list per region. */
  async run(
    context: { models: ReadyModels; request: LinkRequest; image: QueryImage; clock: StageClock },
    keys: ListedKeys,
  ): Promise<ImageSideResult> {
    const { models, request, image, clock } = context;
    const { lists } = this.deps;
    const regions = await clock.time('regions', () => this.regionsOf(request, image.decoded));
    const boxes = regions.map((region) => region.box);
    // Only a region in no pair becomes a region-only unit and reads the robust list; with given
    // pairs (V&T-KG) the others skip the mirrored view and the search.
    const paired = new Set(request.pairs?.map((pair) => pair.region) ?? []);
    const lone = boxes.flatMap((_, index) => (paired.has(index) ? [] : [index]));
    const { features, crops, robustVectors } = await clock.time('encode-regions', async () => {
      // Both at once: ONNX Runtime runs each model on the event loop's thread, but the crops are
      // cut and resized on libuv's threads while the whole-image run is going.
      const [features, vectors] = await Promise.all([
        models.image.regionFeatures(image.decoded, boxes),
        models.image.embedCropsWithRobust(image.decoded, boxes, lone),
      ]);
      return { features, crops: vectors.embeddings, robustVectors: vectors.robust };
    });
    const noText = { mention: '', textVector: null } as const;
    const [regionLists, regionRobustLists] = await clock.time('candidates', () =>
      Promise.all([
        Promise.all(
          crops.map((imageVector) => lists.search(request, { ...noText, imageVector }, keys)),
        ),
        // A list of its own, so that the lists of units with a mention stay those the linker was
        // trained on; only region-only units read it (makeUnit, regionEvidence).
        Promise.all(
          robustVectors.map((robustImageVector) =>
            robustImageVector
              ? lists.search(request, { ...noText, imageVector: null, robustImageVector }, keys)
              : Promise.resolve(EMPTY_LIST),
          ),
        ),
      ]),
    );
    return { regions, features, regionLists, regionRobustLists };
  }

  private async regionsOf(request: LinkRequest, image: DecodedImage): Promise<LinkRegion[]> {
    if (request.regions !== null) return givenRegions(request.regions, image);
    const proposer = await this.regionProposer();
    return proposedRegions(
      (await proposer.propose(image, { maxRegions: this.deps.config.maxProposedRegions })).regions,
    );
  }

  private regionProposer(): Promise<RegionProposer> {
    const models = this.deps.models;
    if (!models) throw new InferenceError('Region proposals need the model bundle');
    this.proposer ??= models.vision().then(
      (vision) =>
        new RegionProposer(
          {
            ...vision,
            ocr:
              vision.ocr?.withOptions?.({
                detMinSideLen: this.deps.config.proposalOcrMinSide,
              }) ?? vision.ocr,
          },
          this.deps.config.contrastProposals ? {} : { contrast: null },
        ),
      (error: unknown) => {
        this.proposer = null;
        throw error;
      },
    );
    return this.proposer;
  }
}
