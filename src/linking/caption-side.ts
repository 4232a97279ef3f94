import type { Config } from '../config.js';
import type { Graph } from '../neo4j/driver.js';
import { mentionTokenPositions } from '../inference/linker/linker-features.js';
import { domainOf, type CandidateLists, type ListedKeys } from './candidate-lists.js';
import { GraphGazetteer } from './gazetteer.js';
import {
  candidateText,
  detectedMentions,
  givenMentions,
  type LinkMention,
  type LinkRequest,
} from './link-input.js';
import { EMPTY_LIST, type CandidateList } from './link-units.js';
import type { ReadyModels } from './linking-models.js';
import { detectMentions } from './mentions.js';
import type { StageClock } from './stage-clock.js';

/** The caption's token states, each mention's token positions, a query vector per mention text. */
export interface EncodedCaption {
  readonly tokenStates: Float32Array;
  readonly positions: number[][];
  readonly queryVectors: Map<string, Float32Array>;
}

export interface CaptionSideResult {
  readonly mentions: LinkMention[];
  readonly text: EncodedCaption;
  readonly mentionLists: CandidateList[];
}

/** The caption side of `linkImage`: mentions, their token states and their candidate lists. */
export class CaptionSide {
  private readonly gazetteer: GraphGazetteer;

  constructor(
    private readonly deps: {
      readonly graph: Graph;
      readonly config: Pick<Config['linking'], 'mentionOverlap'>;
      readonly lists: Pick<CandidateLists, 'searchMentions'>;
    },
  ) {
    this.gazetteer = new GraphGazetteer(deps.graph);
  }

  /** Mentions, their token states and query vectors, and one candidate list per mention. */
  async run(
    context: { models: ReadyModels; request: LinkRequest; clock: StageClock },
    keys: ListedKeys,
  ): Promise<CaptionSideResult> {
    const { models, request, clock } = context;
    const mentions = await clock.time('mentions', () => this.mentionsOf(request));
    const texts = queryTexts(mentions);
    // The mention searches are sent first: their BM25 and rule half needs only the texts, so Neo4j
    // answers it while the encoder runs, and only the dense text lists wait for the vectors. The
    // candidates stage therefore overlaps encode-text.
    const queryVectors = settledLater<ReadonlyMap<string, Float32Array>>();
    const byTextPending = clock.time('candidates', () =>
      this.deps.lists.searchMentions(request, texts, queryVectors.promise, keys),
    );
    const encoding = clock.time('encode-text', () =>
      encodeCaption(models, request, mentions, texts),
    );
    encoding.then((encoded) => queryVectors.resolve(encoded.queryVectors), queryVectors.reject);
    const [text, byText] = await Promise.all([encoding, byTextPending]);
    const mentionLists = mentions.map(
      (mention) => byText.get(candidateText(mention.text)) ?? EMPTY_LIST,
    );
    return { mentions, text, mentionLists };
  }

  private async mentionsOf(request: LinkRequest): Promise<LinkMention[]> {
    if (request.mentions !== null) return givenMentions(request.caption, request.mentions);
    const spans = await detectMentions(request.caption, {
      gazetteer: this.gazetteer.forDomain(domainOf(request)),
      overlapPolicy:
        this.deps.config.mentionOverlap === 'longest-first' ? 'LONGEST_FIRST' : 'SOURCE_FIRST',
    });
    return detectedMentions(spans);
  }
}

/** A promise and the functions that settle it (Promise.withResolvers, which Node 20 lacks). */
function settledLater<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((onValue, onError) => {
    resolve = onValue;
    reject = onError;
  });
  return { promise, resolve, reject };
}

/** The distinct non-empty candidate texts of the mentions, in order: one search and vector each. */
function queryTexts(mentions: readonly LinkMention[]): string[] {
  const texts = new Set(mentions.map((mention) => candidateText(mention.text)));
  texts.delete('');
  return [...texts];
}

/**
 * The caption's token states exactly as the features were extracted (eval/features/FORMAT.md:
 * no prefix, at most 128 tokens), each mention's token positions, and one query vector per
 * distinct mention text for dense text retrieval.
 */
async function encodeCaption(
  models: ReadyModels,
  request: LinkRequest,
  mentions: readonly LinkMention[],
  texts: readonly string[],
): Promise<EncodedCaption> {
  const layout = models.linker.manifest.text;
  const tokens = await models.tokens.encodeTokens(request.caption, 'passage', {
    maxLength: Math.min(layout.maxTokens, models.tokens.maxLength),
    prefix: layout.prefix,
  });
  const positions = mentions.map((mention) =>
    mentionTokenPositions(tokens.offsets, tokens.fromText, mention.start, mention.end),
  );
  const queryVectors = new Map<string, Float32Array>();
  for (const text of texts) queryVectors.set(text, await models.text.encodeQuery(text));
  return { tokenStates: tokens.states, positions, queryVectors };
}
