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
    const text = await clock.time('encode-text', () => encodeCaption(models, request, mentions));
    const byText = await clock.time('candidates', () =>
      this.deps.lists.searchMentions(request, text.queryVectors, keys),
    );
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

/**
 * The caption's token states exactly as the features were extracted (eval/features/FORMAT.md:
 * no prefix, at most 128 tokens), each mention's token positions, and one query vector per
 * distinct mention text for dense text retrieval.
 */
async function encodeCaption(
  models: ReadyModels,
  request: LinkRequest,
  mentions: readonly LinkMention[],
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
  for (const mention of mentions) {
    const text = candidateText(mention.text);
    if (text !== '' && !queryVectors.has(text)) {
      queryVectors.set(text, await models.text.encodeQuery(text));
    }
  }
  return { tokenStates: tokens.states, positions, queryVectors };
}
