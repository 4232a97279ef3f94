import type { UploadValue } from '../scalars.js';
import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { EntityRecord as EntityRecordModel } from '../../neo4j/entity-repository.js';
import type { EncodingStatus as EncodingStatusModel } from '../../services/encoding-service.js';
import type { LinkTriple as LinkTripleModel } from '../../linking/link-result.js';
import type { RankedCandidate as RankedCandidateModel } from '../../linking/link-units.js';
import type { StoredLink as StoredLinkModel } from '../../neo4j/link-repository.js';
import type { Context } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An ISO-8601 date-time string. */
  DateTime: { input: string; output: string; }
  /** A file sent by the GraphQL multipart request specification. */
  Upload: { input: UploadValue; output: UploadValue; }
};

export type BoxInput = {
  readonly height: Scalars['Float']['input'];
  readonly width: Scalars['Float']['input'];
  readonly x: Scalars['Float']['input'];
  readonly y: Scalars['Float']['input'];
};

export type Candidate = {
  readonly __typename?: 'Candidate';
  readonly entity: Entity;
  /** Every generator that proposed this entity. */
  readonly generators: ReadonlyArray<GeneratorHit>;
  /** Combined evidence in [0, 1] (noisy-OR of the weighted generator scores); orders candidates. */
  readonly score: Scalars['Float']['output'];
};

export type CandidateGenerator =
  /** The initials of one spell the other, as NASA and National Aeronautics and Space Administration. */
  | 'ACRONYM'
  /** BM25 over the full-text index of names, aliases and descriptions. */
  | 'BM25'
  /** A name or alias wholly contains the mention, or the other way round, word for word. */
  | 'CONTAINMENT'
  /** Nearest entities by the cached vectors of their images (score: cosine similarity). */
  | 'DENSE_IMAGE'
  /**
   * Nearest entities by the style-robust vectors of their images (score: cosine similarity): the
   * image vectors projected so that one thing drawn in different styles lies closer. Only with a
   * model bundle that has the robust head (component `imageRobust`).
   */
  | 'DENSE_IMAGE_ROBUST'
  /** Nearest entities by the cached text vector (score: cosine similarity). */
  | 'DENSE_TEXT'
  /** A name or alias shares words with the mention (stop words ignored). */
  | 'SHARED_WORDS';

export type DeleteEntityPayload = {
  readonly __typename?: 'DeleteEntityPayload';
  readonly id: Scalars['ID']['output'];
  /** sha256 of the images deleted because nothing else used them. */
  readonly removedImages: ReadonlyArray<Scalars['ID']['output']>;
};

export type DomainCount = {
  readonly __typename?: 'DomainCount';
  readonly domain: Scalars['String']['output'];
  readonly entityCount: Scalars['Int']['output'];
};

export type EncodingJob = {
  readonly __typename?: 'EncodingJob';
  readonly batchSize: Scalars['Int']['output'];
  readonly encodedCandidateVectors: Scalars['Int']['output'];
  readonly encodedEntities: Scalars['Int']['output'];
  readonly encodedImages: Scalars['Int']['output'];
  readonly error?: Maybe<Scalars['String']['output']>;
  readonly finishedAt?: Maybe<Scalars['DateTime']['output']>;
  readonly id: Scalars['Int']['output'];
  readonly startedAt: Scalars['DateTime']['output'];
  readonly state: EncodingJobState;
  /** Stale text vectors, images and candidate vectors when the job started. */
  readonly total: Scalars['Int']['output'];
};

export type EncodingJobState =
  | 'FAILED'
  | 'RUNNING'
  | 'SUCCEEDED';

export type EncodingStatus = {
  readonly __typename?: 'EncodingStatus';
  /** name@version of the active bundle; null when the service runs without models. */
  readonly bundle?: Maybe<Scalars['String']['output']>;
  /** Fingerprint of the linker whose candidate encoder made the entities' candidate vectors; null when the bundle has no linker. */
  readonly candidateEncoder?: Maybe<Scalars['String']['output']>;
  readonly imageEncoder?: Maybe<Scalars['String']['output']>;
  /** The latest re-encoding job of this process, if any. */
  readonly job?: Maybe<EncodingJob>;
  /** Entities whose candidate vector is missing or was made by another linker. */
  readonly staleCandidateVectors: Scalars['Int']['output'];
  /** Entities whose text vector is missing or was made by other weights. */
  readonly staleEntities: Scalars['Int']['output'];
  readonly staleImages: Scalars['Int']['output'];
  /** Fingerprint of the text encoder's weights. */
  readonly textEncoder?: Maybe<Scalars['String']['output']>;
};

export type Entity = {
  readonly __typename?: 'Entity';
  readonly aliases: ReadonlyArray<Scalars['String']['output']>;
  readonly createdAt: Scalars['DateTime']['output'];
  readonly description: Scalars['String']['output'];
  /** A lower-case slug grouping entities, such as `products` or `products/shoes`; `general` when none was given. */
  readonly domain: Scalars['String']['output'];
  readonly id: Scalars['ID']['output'];
  /** In the order given at registration. */
  readonly images: ReadonlyArray<Image>;
  /** Linked images (`linkImage` results) with a mention or region linked to this entity, most recent first. */
  readonly linkedImages: ReadonlyArray<LinkedImageRef>;
  readonly name: Scalars['String']['output'];
  readonly tags: ReadonlyArray<Scalars['String']['output']>;
  readonly updatedAt: Scalars['DateTime']['output'];
};


export type EntityLinkedImagesArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type EntityConnection = {
  readonly __typename?: 'EntityConnection';
  readonly edges: ReadonlyArray<EntityEdge>;
  readonly pageInfo: PageInfo;
  readonly totalCount: Scalars['Int']['output'];
};

export type EntityEdge = {
  readonly __typename?: 'EntityEdge';
  readonly cursor: Scalars['String']['output'];
  readonly node: Entity;
};

export type EntityInput = {
  readonly aliases?: InputMaybe<ReadonlyArray<Scalars['String']['input']>>;
  readonly description?: InputMaybe<Scalars['String']['input']>;
  readonly domain?: InputMaybe<Scalars['String']['input']>;
  /** Your stable identifier, 1-256 characters. */
  readonly id: Scalars['ID']['input'];
  readonly images?: InputMaybe<ReadonlyArray<ImageInput>>;
  readonly name: Scalars['String']['input'];
  readonly tags?: InputMaybe<ReadonlyArray<Scalars['String']['input']>>;
};

export type EntityPatch = {
  readonly aliases?: InputMaybe<ReadonlyArray<Scalars['String']['input']>>;
  readonly description?: InputMaybe<Scalars['String']['input']>;
  readonly domain?: InputMaybe<Scalars['String']['input']>;
  readonly images?: InputMaybe<ReadonlyArray<ImageInput>>;
  readonly name?: InputMaybe<Scalars['String']['input']>;
  readonly tags?: InputMaybe<ReadonlyArray<Scalars['String']['input']>>;
};

/** A NIL triple: a mention, a region or a pair the graph has no entity for. */
export type Finding = {
  readonly __typename?: 'Finding';
  readonly kind: FindingKind;
  readonly mention?: Maybe<LinkedMention>;
  readonly region?: Maybe<LinkedRegion>;
  /** The best candidate's score (below the threshold); null when there was no candidate. */
  readonly score?: Maybe<Scalars['Float']['output']>;
  readonly triple: Scalars['Int']['output'];
};

export type FindingKind =
  | 'MENTION'
  | 'PAIR'
  | 'REGION';

export type GeneratorHit = {
  readonly __typename?: 'GeneratorHit';
  readonly generator: CandidateGenerator;
  /** The name or alias the rule matched (rules only). */
  readonly matchedName?: Maybe<Scalars['String']['output']>;
  /** 1-based rank within that generator's own list. */
  readonly rank: Scalars['Int']['output'];
  /** The generator's own score in [0, 1]. For BM25, relative to the best BM25 hit for this mention. */
  readonly score: Scalars['Float']['output'];
};

/** A mention (MENTIONS) or a region (DEPICTS) of a linked image, linked to an entity. */
export type GraphLink = {
  readonly __typename?: 'GraphLink';
  readonly entity: Entity;
  readonly kind: LinkSide;
  /** Set when `kind` is MENTION. */
  readonly mention?: Maybe<LinkedMention>;
  /** Set when `kind` is REGION. */
  readonly region?: Maybe<LinkedRegion>;
  readonly score: Scalars['Float']['output'];
  /** Index of the triple in the `linkImage` answer: a pair's two links share it. */
  readonly triple: Scalars['Int']['output'];
};

export type Image = {
  readonly __typename?: 'Image';
  readonly byteSize: Scalars['Int']['output'];
  readonly createdAt: Scalars['DateTime']['output'];
  readonly format: Scalars['String']['output'];
  readonly height: Scalars['Int']['output'];
  readonly mime: Scalars['String']['output'];
  /** Hex sha256 of the bytes: the image's identity. */
  readonly sha256: Scalars['ID']['output'];
  /** Where the service serves the bytes: GET it in a browser. */
  readonly url: Scalars['String']['output'];
  readonly width: Scalars['Int']['output'];
};

/** One image of an entity: exactly one of `upload`, `dataUrl` or `sha256`. */
export type ImageInput = {
  /** A `data:image/...;base64,...` URL. */
  readonly dataUrl?: InputMaybe<Scalars['String']['input']>;
  /** An image already stored, by its sha256. */
  readonly sha256?: InputMaybe<Scalars['ID']['input']>;
  /** A multipart upload (send the `Apollo-Require-Preflight: true` header). */
  readonly upload?: InputMaybe<Scalars['Upload']['input']>;
};

export type LinkAlternative = {
  readonly __typename?: 'LinkAlternative';
  readonly entity: Entity;
  readonly score: Scalars['Float']['output'];
};

export type LinkImageInput = {
  /** Candidates per generator list (each mention's and each region's), 1 to the server's maximum. */
  readonly candidates?: InputMaybe<Scalars['Int']['input']>;
  /** The image's caption; may be empty when regions are to be linked alone. */
  readonly caption: Scalars['String']['input'];
  /** Only entities of this domain are candidates (and gazetteer names). */
  readonly domain?: InputMaybe<Scalars['String']['input']>;
  /** The query image. It is stored (content-addressed) with its links. */
  readonly image: ImageInput;
  /** The caption's mentions; absent: found in the caption. An empty list links no mention. */
  readonly mentions?: InputMaybe<ReadonlyArray<SpanInput>>;
  /** A triple whose best score is below this is NIL; default: the linker's threshold for the task, chosen on dev. */
  readonly nilThreshold?: InputMaybe<Scalars['Float']['input']>;
  /** Mention-region pairs (V&T-KG; needs `mentions` and `regions`); absent: the linker pairs them (V-T-KG). */
  readonly pairs?: InputMaybe<ReadonlyArray<PairInput>>;
  /**
   * Regions in pixels of the upright image (rounded to whole pixels and clipped to the image); absent:
   * proposed by the detectors. An empty list links no region.
   */
  readonly regions?: InputMaybe<ReadonlyArray<BoxInput>>;
};

export type LinkImageResult = {
  readonly __typename?: 'LinkImageResult';
  /** The stored query image. */
  readonly image: Image;
  readonly linkedAt: Scalars['DateTime']['output'];
  /** The linker's fingerprint (`linker:<sha16>`): with the image's sha256, the key of the stored LinkedImage. */
  readonly model: Scalars['String']['output'];
  /** The linker's name@version. */
  readonly modelName: Scalars['String']['output'];
  /** The NIL threshold of pairs; null when neither the input nor the linker has one (nothing is NIL). */
  readonly nilThreshold?: Maybe<Scalars['Float']['output']>;
  /**
   * The NIL threshold of each kind of triple: the input's `nilThreshold` for all, else the linker's,
   * calibrated per kind on a held-out source where its release says so.
   */
  readonly nilThresholds: NilThresholds;
  /** `V&T-KG` when pairs were given, else `VT-KG`. */
  readonly task: Scalars['String']['output'];
  /**
   * Wall-clock milliseconds per stage, in pipeline order, then `total`. The caption side (mentions,
   * encode-text, its candidate searches) and the image side (regions, encode-regions, its searches)
   * run concurrently, so the stages can add up to more than `total`.
   */
  readonly timing: ReadonlyArray<StageTiming>;
  /**
   * V&T-KG: the given pairs, then the mentions in no pair, then the regions in no pair. V-T-KG: the
   * pairs found, then the unpaired mentions, then the unpaired regions.
   */
  readonly triples: ReadonlyArray<LinkTriple>;
};

export type LinkSide =
  | 'MENTION'
  | 'REGION';

/** A mention and/or a region and what it refers to in the graph. */
export type LinkTriple = {
  readonly __typename?: 'LinkTriple';
  /** The best-scoring candidates other than `entity` (for NIL: the best ones), best first, at most 5. */
  readonly alternatives: ReadonlyArray<LinkAlternative>;
  /** The entity linked; null when NIL (nothing in the graph scores above the threshold). */
  readonly entity?: Maybe<Entity>;
  readonly mention?: Maybe<LinkedMention>;
  readonly nil: Scalars['Boolean']['output'];
  /** The NIL threshold this triple was held to (its kind's: pair, mention alone or region alone). */
  readonly nilThreshold?: Maybe<Scalars['Float']['output']>;
  readonly region?: Maybe<LinkedRegion>;
  /** The linker's score of the best candidate (a logit; higher is better); null when there was no candidate. */
  readonly score?: Maybe<Scalars['Float']['output']>;
};

/**
 * One query image linked by one linker version: its links to entities and its NIL findings.
 * In Neo4j: `(:LinkedImage)-[:MENTIONS|DEPICTS]->(:Entity)`, `-[:HAS_FINDING]->(:Finding)`,
 * `-[:OF_IMAGE]->(:Image)`.
 */
export type LinkedImage = {
  readonly __typename?: 'LinkedImage';
  readonly caption: Scalars['String']['output'];
  readonly domain?: Maybe<Scalars['String']['output']>;
  /** The NIL triples, kept so that the missing entity can be registered and the image linked again. */
  readonly findings: ReadonlyArray<Finding>;
  readonly image?: Maybe<Image>;
  readonly linkedAt: Scalars['DateTime']['output'];
  /** One per linked side of a triple: a mention (MENTIONS) or a region (DEPICTS), by triple. */
  readonly links: ReadonlyArray<GraphLink>;
  /** The linker's fingerprint. */
  readonly model: Scalars['String']['output'];
  readonly modelName: Scalars['String']['output'];
  readonly nilThreshold?: Maybe<Scalars['Float']['output']>;
  readonly sha256: Scalars['ID']['output'];
  readonly task: Scalars['String']['output'];
};

/** A linked image, from one of its entities: the links to that entity in it. */
export type LinkedImageRef = {
  readonly __typename?: 'LinkedImageRef';
  readonly linkedImage: LinkedImage;
  /** This entity's links in the linked image. */
  readonly links: ReadonlyArray<GraphLink>;
  /** The best score among `links`. */
  readonly score: Scalars['Float']['output'];
};

export type LinkedMention = {
  readonly __typename?: 'LinkedMention';
  readonly end: Scalars['Int']['output'];
  readonly source: MentionSource;
  readonly start: Scalars['Int']['output'];
  readonly text: Scalars['String']['output'];
};

export type LinkedRegion = {
  readonly __typename?: 'LinkedRegion';
  readonly height: Scalars['Float']['output'];
  /** The detector's class, `face`, or the text read; null for a given box. */
  readonly label?: Maybe<Scalars['String']['output']>;
  /** The proposing model's confidence (not calibrated across sources); null for a given box. */
  readonly score?: Maybe<Scalars['Float']['output']>;
  readonly source: RegionSource;
  readonly width: Scalars['Float']['output'];
  readonly x: Scalars['Float']['output'];
  readonly y: Scalars['Float']['output'];
};

export type MentionSource =
  /** A name or alias of an entity of the graph. */
  | 'GAZETTEER'
  /** Given in the input. */
  | 'GIVEN'
  /** A named entity found in the caption. */
  | 'NAMED_ENTITY'
  /** A noun phrase of the caption. */
  | 'NOUN_PHRASE';

export type Mutation = {
  readonly __typename?: 'Mutation';
  /** Deletes the entity, every relationship it has, and the images nothing else uses. */
  readonly deleteEntity: DeleteEntityPayload;
  /**
   * Links what a captioned image shows and says to the graph's entities, zero-shot: mentions of the
   * caption and regions of the image (given, or found: mentions from the graph's names and the
   * caption's noun phrases, regions from the object, face and text detectors), each linked by the
   * trained linker against candidates from every generator, or NIL when nothing in the graph fits.
   * Without `pairs` (V-T-KG) mentions and regions are paired by the linker's own image evidence; with
   * `pairs` (V&T-KG) the given pairs are linked as such. The result is written to the graph (one
   * LinkedImage per image and linker version; linking again replaces it), NIL findings included.
   * Errors: BAD_USER_INPUT (spans outside the caption, boxes outside the image, pair indices out of
   * range, nothing to link), the image codes, INFERENCE_FAILED when the model bundle has no linker.
   */
  readonly linkImage: LinkImageResult;
  /**
   * Re-encodes, in the background and in batches, every cached vector (entity text, image, and the
   * linker's entity candidate vectors) that is missing or was made by another bundle. Returns the running job (the same one if already running). Resumable: interrupted
   * work is picked up by the next call. The service keeps answering meanwhile.
   */
  readonly reencodeEntities: EncodingJob;
  /** Registers several entities in one transaction: all are written, or none. */
  readonly registerEntities: ReadonlyArray<RegisterEntityPayload>;
  /**
   * Registers one entity. Idempotent: the same content again returns status UNCHANGED; different content
   * under an existing id is a CONFLICT. Every image is decoded and checked before anything is written.
   */
  readonly registerEntity: RegisterEntityPayload;
  /** Changes the given fields. `images`, when given, replaces the whole list; images no longer used are removed. */
  readonly updateEntity: Entity;
};


export type MutationDeleteEntityArgs = {
  id: Scalars['ID']['input'];
};


export type MutationLinkImageArgs = {
  input: LinkImageInput;
};


export type MutationReencodeEntitiesArgs = {
  batchSize?: InputMaybe<Scalars['Int']['input']>;
};


export type MutationRegisterEntitiesArgs = {
  inputs: ReadonlyArray<EntityInput>;
};


export type MutationRegisterEntityArgs = {
  input: EntityInput;
};


export type MutationUpdateEntityArgs = {
  id: Scalars['ID']['input'];
  patch: EntityPatch;
};

/** NIL thresholds per kind of triple; null where nothing of that kind is NIL. */
export type NilThresholds = {
  readonly __typename?: 'NilThresholds';
  /** A mention alone. */
  readonly mention?: Maybe<Scalars['Float']['output']>;
  /** A mention and a region linked together. */
  readonly pair?: Maybe<Scalars['Float']['output']>;
  /**
   * A region alone. Its candidates are ordered by the linker's score plus the region's image cosine
   * (DENSE_IMAGE_ROBUST with the bundle's style-robust head, else DENSE_IMAGE) times a weight chosen
   * on a held-out source, when the linker's release has one; NIL is held to the best linker score.
   */
  readonly region?: Maybe<Scalars['Float']['output']>;
};

export type PageInfo = {
  readonly __typename?: 'PageInfo';
  readonly endCursor?: Maybe<Scalars['String']['output']>;
  readonly hasNextPage: Scalars['Boolean']['output'];
};

/** A mention and a region known to name the same thing, by their indices in `mentions` and `regions`. */
export type PairInput = {
  readonly mention: Scalars['Int']['input'];
  readonly region: Scalars['Int']['input'];
};

export type Query = {
  readonly __typename?: 'Query';
  /**
   * Candidate entities for a text mention, an image (or a box of it), or both: BM25 over names, aliases
   * and descriptions, the shared-words, containment and acronym rules, and dense retrieval by text and by
   * image vector, merged, each candidate with the generators that found it. At least one of `mention`
   * and `image` is required.
   */
  readonly candidates: ReadonlyArray<Candidate>;
  /** Each domain with its number of entities. */
  readonly domains: ReadonlyArray<DomainCount>;
  /** The active model bundle and how many cached vectors are stale, with the latest re-encoding job. */
  readonly encodingStatus: EncodingStatus;
  /** Entities in id order, optionally of one domain. `first` is capped by the server (default 20). */
  readonly entities: EntityConnection;
  /** One entity by id, or null. */
  readonly entity?: Maybe<Entity>;
  /** A stored image by the sha256 of its bytes. */
  readonly image?: Maybe<Image>;
  /**
   * What `linkImage` wrote for a query image (by the sha256 of its bytes) and a linker version
   * (`model`, as `LinkImageResult.model` gives it); without `model`, the most recently linked version.
   * Null when the image was never linked.
   */
  readonly linkedImage?: Maybe<LinkedImage>;
};


export type QueryCandidatesArgs = {
  box?: InputMaybe<BoxInput>;
  domain?: InputMaybe<Scalars['String']['input']>;
  image?: InputMaybe<ImageInput>;
  limit?: InputMaybe<Scalars['Int']['input']>;
  mention?: InputMaybe<Scalars['String']['input']>;
};


export type QueryEntitiesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  domain?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryEntityArgs = {
  id: Scalars['ID']['input'];
};


export type QueryImageArgs = {
  sha256: Scalars['ID']['input'];
};


export type QueryLinkedImageArgs = {
  model?: InputMaybe<Scalars['String']['input']>;
  sha256: Scalars['ID']['input'];
};

export type RegionSource =
  /** A class-agnostic picture whose colours stand out from the background around it (drawings, sprites, cards, emoji); its score is its isolation, 0-1, times 0.4. */
  | 'CONTRAST'
  /** The object detector (COCO classes). */
  | 'DETECTOR'
  /** The face detector. */
  | 'FACE'
  /** Given in the input. */
  | 'GIVEN'
  /** A line of text read by the OCR. */
  | 'TEXT'
  /** Nothing was found: the whole image. */
  | 'WHOLE_IMAGE';

export type RegisterEntityPayload = {
  readonly __typename?: 'RegisterEntityPayload';
  readonly entity: Entity;
  readonly status: RegistrationStatus;
};

export type RegistrationStatus =
  | 'CREATED'
  /** The entity already existed with exactly this content; nothing was written. */
  | 'UNCHANGED';

export type Role =
  /** Everything: registering, updating, deleting and re-encoding entities. */
  | 'ADMIN'
  /** Queries and `linkImage`, which writes links into the graph. */
  | 'LINK'
  /** Queries. */
  | 'READ';

/** A character span of the caption: UTF-16 code units, as JavaScript strings index; `end` exclusive. */
export type SpanInput = {
  readonly end: Scalars['Int']['input'];
  readonly start: Scalars['Int']['input'];
};

export type StageTiming = {
  readonly __typename?: 'StageTiming';
  readonly ms: Scalars['Float']['output'];
  /** decode, mentions, regions, encode-text, encode-regions, candidates, context, score, align, write, total. */
  readonly stage: Scalars['String']['output'];
};



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  BoxInput: BoxInput;
  Candidate: ResolverTypeWrapper<Omit<Candidate, 'entity'> & { entity: ResolversTypes['Entity'] }>;
  CandidateGenerator: CandidateGenerator;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  DeleteEntityPayload: ResolverTypeWrapper<DeleteEntityPayload>;
  DomainCount: ResolverTypeWrapper<DomainCount>;
  EncodingJob: ResolverTypeWrapper<EncodingJob>;
  EncodingJobState: EncodingJobState;
  EncodingStatus: ResolverTypeWrapper<EncodingStatusModel>;
  Entity: ResolverTypeWrapper<EntityRecordModel>;
  EntityConnection: ResolverTypeWrapper<Omit<EntityConnection, 'edges'> & { edges: ReadonlyArray<ResolversTypes['EntityEdge']> }>;
  EntityEdge: ResolverTypeWrapper<Omit<EntityEdge, 'node'> & { node: ResolversTypes['Entity'] }>;
  EntityInput: EntityInput;
  EntityPatch: EntityPatch;
  Finding: ResolverTypeWrapper<Finding>;
  FindingKind: FindingKind;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  GeneratorHit: ResolverTypeWrapper<GeneratorHit>;
  GraphLink: ResolverTypeWrapper<StoredLinkModel>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Image: ResolverTypeWrapper<Image>;
  ImageInput: ImageInput;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  LinkAlternative: ResolverTypeWrapper<RankedCandidateModel>;
  LinkImageInput: LinkImageInput;
  LinkImageResult: ResolverTypeWrapper<Omit<LinkImageResult, 'triples'> & { triples: ReadonlyArray<ResolversTypes['LinkTriple']> }>;
  LinkSide: LinkSide;
  LinkTriple: ResolverTypeWrapper<LinkTripleModel>;
  LinkedImage: ResolverTypeWrapper<Omit<LinkedImage, 'links'> & { links: ReadonlyArray<ResolversTypes['GraphLink']> }>;
  LinkedImageRef: ResolverTypeWrapper<Omit<LinkedImageRef, 'linkedImage' | 'links'> & { linkedImage: ResolversTypes['LinkedImage'], links: ReadonlyArray<ResolversTypes['GraphLink']> }>;
  LinkedMention: ResolverTypeWrapper<LinkedMention>;
  LinkedRegion: ResolverTypeWrapper<LinkedRegion>;
  MentionSource: MentionSource;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  NilThresholds: ResolverTypeWrapper<NilThresholds>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  PairInput: PairInput;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  RegionSource: RegionSource;
  RegisterEntityPayload: ResolverTypeWrapper<Omit<RegisterEntityPayload, 'entity'> & { entity: ResolversTypes['Entity'] }>;
  RegistrationStatus: RegistrationStatus;
  Role: Role;
  SpanInput: SpanInput;
  StageTiming: ResolverTypeWrapper<StageTiming>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Upload: ResolverTypeWrapper<Scalars['Upload']['output']>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  Boolean: Scalars['Boolean']['output'];
  BoxInput: BoxInput;
  Candidate: Omit<Candidate, 'entity'> & { entity: ResolversParentTypes['Entity'] };
  DateTime: Scalars['DateTime']['output'];
  DeleteEntityPayload: DeleteEntityPayload;
  DomainCount: DomainCount;
  EncodingJob: EncodingJob;
  EncodingStatus: EncodingStatusModel;
  Entity: EntityRecordModel;
  EntityConnection: Omit<EntityConnection, 'edges'> & { edges: ReadonlyArray<ResolversParentTypes['EntityEdge']> };
  EntityEdge: Omit<EntityEdge, 'node'> & { node: ResolversParentTypes['Entity'] };
  EntityInput: EntityInput;
  EntityPatch: EntityPatch;
  Finding: Finding;
  Float: Scalars['Float']['output'];
  GeneratorHit: GeneratorHit;
  GraphLink: StoredLinkModel;
  ID: Scalars['ID']['output'];
  Image: Image;
  ImageInput: ImageInput;
  Int: Scalars['Int']['output'];
  LinkAlternative: RankedCandidateModel;
  LinkImageInput: LinkImageInput;
  LinkImageResult: Omit<LinkImageResult, 'triples'> & { triples: ReadonlyArray<ResolversParentTypes['LinkTriple']> };
  LinkTriple: LinkTripleModel;
  LinkedImage: Omit<LinkedImage, 'links'> & { links: ReadonlyArray<ResolversParentTypes['GraphLink']> };
  LinkedImageRef: Omit<LinkedImageRef, 'linkedImage' | 'links'> & { linkedImage: ResolversParentTypes['LinkedImage'], links: ReadonlyArray<ResolversParentTypes['GraphLink']> };
  LinkedMention: LinkedMention;
  LinkedRegion: LinkedRegion;
  Mutation: Record<PropertyKey, never>;
  NilThresholds: NilThresholds;
  PageInfo: PageInfo;
  PairInput: PairInput;
  Query: Record<PropertyKey, never>;
  RegisterEntityPayload: Omit<RegisterEntityPayload, 'entity'> & { entity: ResolversParentTypes['Entity'] };
  SpanInput: SpanInput;
  StageTiming: StageTiming;
  String: Scalars['String']['output'];
  Upload: Scalars['Upload']['output'];
};

export type RequiresDirectiveArgs = {
  role: Role;
};

export type RequiresDirectiveResolver<Result, Parent, ContextType = Context, Args = RequiresDirectiveArgs> = DirectiveResolverFn<Result, Parent, ContextType, Args>;

export type CandidateResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Candidate'] = ResolversParentTypes['Candidate']> = {
  entity?: Resolver<ResolversTypes['Entity'], ParentType, ContextType>;
  generators?: Resolver<ReadonlyArray<ResolversTypes['GeneratorHit']>, ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type DeleteEntityPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['DeleteEntityPayload'] = ResolversParentTypes['DeleteEntityPayload']> = {
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  removedImages?: Resolver<ReadonlyArray<ResolversTypes['ID']>, ParentType, ContextType>;
};

export type DomainCountResolvers<ContextType = Context, ParentType extends ResolversParentTypes['DomainCount'] = ResolversParentTypes['DomainCount']> = {
  domain?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  entityCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type EncodingJobResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EncodingJob'] = ResolversParentTypes['EncodingJob']> = {
  batchSize?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  encodedCandidateVectors?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  encodedEntities?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  encodedImages?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  startedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  state?: Resolver<ResolversTypes['EncodingJobState'], ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type EncodingStatusResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EncodingStatus'] = ResolversParentTypes['EncodingStatus']> = {
  bundle?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  candidateEncoder?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  imageEncoder?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  job?: Resolver<Maybe<ResolversTypes['EncodingJob']>, ParentType, ContextType>;
  staleCandidateVectors?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  staleEntities?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  staleImages?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  textEncoder?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type EntityResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Entity'] = ResolversParentTypes['Entity']> = {
  aliases?: Resolver<ReadonlyArray<ResolversTypes['String']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  description?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  domain?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  images?: Resolver<ReadonlyArray<ResolversTypes['Image']>, ParentType, ContextType>;
  linkedImages?: Resolver<ReadonlyArray<ResolversTypes['LinkedImageRef']>, ParentType, ContextType, RequireFields<EntityLinkedImagesArgs, 'first'>>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  tags?: Resolver<ReadonlyArray<ResolversTypes['String']>, ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type EntityConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EntityConnection'] = ResolversParentTypes['EntityConnection']> = {
  edges?: Resolver<ReadonlyArray<ResolversTypes['EntityEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type EntityEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EntityEdge'] = ResolversParentTypes['EntityEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Entity'], ParentType, ContextType>;
};

export type FindingResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Finding'] = ResolversParentTypes['Finding']> = {
  kind?: Resolver<ResolversTypes['FindingKind'], ParentType, ContextType>;
  mention?: Resolver<Maybe<ResolversTypes['LinkedMention']>, ParentType, ContextType>;
  region?: Resolver<Maybe<ResolversTypes['LinkedRegion']>, ParentType, ContextType>;
  score?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  triple?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type GeneratorHitResolvers<ContextType = Context, ParentType extends ResolversParentTypes['GeneratorHit'] = ResolversParentTypes['GeneratorHit']> = {
  generator?: Resolver<ResolversTypes['CandidateGenerator'], ParentType, ContextType>;
  matchedName?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  rank?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type GraphLinkResolvers<ContextType = Context, ParentType extends ResolversParentTypes['GraphLink'] = ResolversParentTypes['GraphLink']> = {
  entity?: Resolver<ResolversTypes['Entity'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['LinkSide'], ParentType, ContextType>;
  mention?: Resolver<Maybe<ResolversTypes['LinkedMention']>, ParentType, ContextType>;
  region?: Resolver<Maybe<ResolversTypes['LinkedRegion']>, ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  triple?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ImageResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Image'] = ResolversParentTypes['Image']> = {
  byteSize?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  format?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  mime?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  sha256?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  url?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type LinkAlternativeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkAlternative'] = ResolversParentTypes['LinkAlternative']> = {
  entity?: Resolver<ResolversTypes['Entity'], ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type LinkImageResultResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkImageResult'] = ResolversParentTypes['LinkImageResult']> = {
  image?: Resolver<ResolversTypes['Image'], ParentType, ContextType>;
  linkedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  modelName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  nilThreshold?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  nilThresholds?: Resolver<ResolversTypes['NilThresholds'], ParentType, ContextType>;
  task?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  timing?: Resolver<ReadonlyArray<ResolversTypes['StageTiming']>, ParentType, ContextType>;
  triples?: Resolver<ReadonlyArray<ResolversTypes['LinkTriple']>, ParentType, ContextType>;
};

export type LinkTripleResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkTriple'] = ResolversParentTypes['LinkTriple']> = {
  alternatives?: Resolver<ReadonlyArray<ResolversTypes['LinkAlternative']>, ParentType, ContextType>;
  entity?: Resolver<Maybe<ResolversTypes['Entity']>, ParentType, ContextType>;
  mention?: Resolver<Maybe<ResolversTypes['LinkedMention']>, ParentType, ContextType>;
  nil?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  nilThreshold?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  region?: Resolver<Maybe<ResolversTypes['LinkedRegion']>, ParentType, ContextType>;
  score?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type LinkedImageResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkedImage'] = ResolversParentTypes['LinkedImage']> = {
  caption?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  domain?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  findings?: Resolver<ReadonlyArray<ResolversTypes['Finding']>, ParentType, ContextType>;
  image?: Resolver<Maybe<ResolversTypes['Image']>, ParentType, ContextType>;
  linkedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  links?: Resolver<ReadonlyArray<ResolversTypes['GraphLink']>, ParentType, ContextType>;
  model?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  modelName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  nilThreshold?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  sha256?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  task?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type LinkedImageRefResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkedImageRef'] = ResolversParentTypes['LinkedImageRef']> = {
  linkedImage?: Resolver<ResolversTypes['LinkedImage'], ParentType, ContextType>;
  links?: Resolver<ReadonlyArray<ResolversTypes['GraphLink']>, ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type LinkedMentionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkedMention'] = ResolversParentTypes['LinkedMention']> = {
  end?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  source?: Resolver<ResolversTypes['MentionSource'], ParentType, ContextType>;
  start?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  text?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type LinkedRegionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkedRegion'] = ResolversParentTypes['LinkedRegion']> = {
  height?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  label?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  score?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  source?: Resolver<ResolversTypes['RegionSource'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  x?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  y?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
};

export type MutationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  deleteEntity?: Resolver<ResolversTypes['DeleteEntityPayload'], ParentType, ContextType, RequireFields<MutationDeleteEntityArgs, 'id'>>;
  linkImage?: Resolver<ResolversTypes['LinkImageResult'], ParentType, ContextType, RequireFields<MutationLinkImageArgs, 'input'>>;
  reencodeEntities?: Resolver<ResolversTypes['EncodingJob'], ParentType, ContextType, RequireFields<MutationReencodeEntitiesArgs, 'batchSize'>>;
  registerEntities?: Resolver<ReadonlyArray<ResolversTypes['RegisterEntityPayload']>, ParentType, ContextType, RequireFields<MutationRegisterEntitiesArgs, 'inputs'>>;
  registerEntity?: Resolver<ResolversTypes['RegisterEntityPayload'], ParentType, ContextType, RequireFields<MutationRegisterEntityArgs, 'input'>>;
  updateEntity?: Resolver<ResolversTypes['Entity'], ParentType, ContextType, RequireFields<MutationUpdateEntityArgs, 'id' | 'patch'>>;
};

export type NilThresholdsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['NilThresholds'] = ResolversParentTypes['NilThresholds']> = {
  mention?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  pair?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  region?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
};

export type PageInfoResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  candidates?: Resolver<ReadonlyArray<ResolversTypes['Candidate']>, ParentType, ContextType, RequireFields<QueryCandidatesArgs, 'limit'>>;
  domains?: Resolver<ReadonlyArray<ResolversTypes['DomainCount']>, ParentType, ContextType>;
  encodingStatus?: Resolver<ResolversTypes['EncodingStatus'], ParentType, ContextType>;
  entities?: Resolver<ResolversTypes['EntityConnection'], ParentType, ContextType, RequireFields<QueryEntitiesArgs, 'first'>>;
  entity?: Resolver<Maybe<ResolversTypes['Entity']>, ParentType, ContextType, RequireFields<QueryEntityArgs, 'id'>>;
  image?: Resolver<Maybe<ResolversTypes['Image']>, ParentType, ContextType, RequireFields<QueryImageArgs, 'sha256'>>;
  linkedImage?: Resolver<Maybe<ResolversTypes['LinkedImage']>, ParentType, ContextType, RequireFields<QueryLinkedImageArgs, 'sha256'>>;
};

export type RegisterEntityPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['RegisterEntityPayload'] = ResolversParentTypes['RegisterEntityPayload']> = {
  entity?: Resolver<ResolversTypes['Entity'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['RegistrationStatus'], ParentType, ContextType>;
};

export type StageTimingResolvers<ContextType = Context, ParentType extends ResolversParentTypes['StageTiming'] = ResolversParentTypes['StageTiming']> = {
  ms?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  stage?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export interface UploadScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['Upload'], any> {
  name: 'Upload';
}

export type Resolvers<ContextType = Context> = {
  Candidate?: CandidateResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  DeleteEntityPayload?: DeleteEntityPayloadResolvers<ContextType>;
  DomainCount?: DomainCountResolvers<ContextType>;
  EncodingJob?: EncodingJobResolvers<ContextType>;
  EncodingStatus?: EncodingStatusResolvers<ContextType>;
  Entity?: EntityResolvers<ContextType>;
  EntityConnection?: EntityConnectionResolvers<ContextType>;
  EntityEdge?: EntityEdgeResolvers<ContextType>;
  Finding?: FindingResolvers<ContextType>;
  GeneratorHit?: GeneratorHitResolvers<ContextType>;
  GraphLink?: GraphLinkResolvers<ContextType>;
  Image?: ImageResolvers<ContextType>;
  LinkAlternative?: LinkAlternativeResolvers<ContextType>;
  LinkImageResult?: LinkImageResultResolvers<ContextType>;
  LinkTriple?: LinkTripleResolvers<ContextType>;
  LinkedImage?: LinkedImageResolvers<ContextType>;
  LinkedImageRef?: LinkedImageRefResolvers<ContextType>;
  LinkedMention?: LinkedMentionResolvers<ContextType>;
  LinkedRegion?: LinkedRegionResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  NilThresholds?: NilThresholdsResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  RegisterEntityPayload?: RegisterEntityPayloadResolvers<ContextType>;
  StageTiming?: StageTimingResolvers<ContextType>;
  Upload?: GraphQLScalarType;
};

export type DirectiveResolvers<ContextType = Context> = {
  requires?: RequiresDirectiveResolver<any, any, ContextType>;
};
