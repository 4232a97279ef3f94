import { GraphQLScalarType, Kind } from 'graphql';
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { BadInputError } from '../errors.js';
import type { ImageSource } from '../images/image-source.js';
import type { EntityRecord } from '../neo4j/entity-repository.js';
import type { Candidate } from '../services/candidate-service.js';
import type { EncodingStatus } from '../services/encoding-service.js';
import type { LinkImageInput, LinkTriple } from '../services/linking-service.js';
import type { LinkRegion } from '../linking/link-input.js';
import type { RankedCandidate } from '../linking/link-units.js';
import type { LinkedImageRecord, StoredLink } from '../neo4j/link-repository.js';
import { encodeCursor } from '../services/entity-queries.js';
import type { EntityInput, EntityPatch } from '../services/entity-service.js';
import type { Context } from './context.js';

/** The GraphQL shape of ImageInput: the Upload scalar resolves to a promise of the file. */
interface ImageInputArg {
  readonly upload?: Promise<FileUpload> | null;
  readonly dataUrl?: string | null;
  readonly sha256?: string | null;
}

interface EntityFieldsArg {
  readonly name?: string | null;
  readonly aliases?: readonly string[] | null;
  readonly description?: string | null;
  readonly domain?: string | null;
  readonly tags?: readonly string[] | null;
  readonly images?: readonly ImageInputArg[] | null;
}

interface EntityInputArg extends EntityFieldsArg {
  readonly id: string;
  readonly name: string;
}

function oneImageSource(
  input: ImageInputArg,
  where: { name: string; details: Record<string, unknown> },
): ImageSource {
  const given = [input.upload, input.dataUrl, input.sha256].filter(
    (v) => v !== undefined && v !== null,
  );
  if (given.length !== 1) {
    throw new BadInputError(
      `${where.name} needs exactly one of upload, dataUrl or sha256`,
      where.details,
    );
  }
  if (input.upload) return { kind: 'upload', upload: input.upload };
  if (input.dataUrl) return { kind: 'dataUrl', dataUrl: input.dataUrl };
  return { kind: 'stored', sha256: input.sha256 ?? '' };
}

export function toImageSource(input: ImageInputArg, index: number): ImageSource {
  return oneImageSource(input, {
    name: `images[${index}]`,
    details: { field: 'images', imageIndex: index },
  });
}

interface LinkImageInputArg {
  readonly image: ImageInputArg;
  readonly caption: string;
  readonly mentions?: readonly { start: number; end: number }[] | null;
  readonly regions?: readonly { x: number; y: number; width: number; height: number }[] | null;
  readonly pairs?: readonly { mention: number; region: number }[] | null;
  readonly candidates?: number | null;
  readonly nilThreshold?: number | null;
  readonly domain?: string | null;
}

/** `candidates` when the client sends an explicit null. */
const DEFAULT_LINK_CANDIDATES = 100;

function toLinkImageInput(input: LinkImageInputArg): LinkImageInput {
  return {
    image: oneImageSource(input.image, { name: 'image', details: { field: 'image' } }),
    caption: input.caption,
    mentions: input.mentions ?? null,
    regions: input.regions ?? null,
    pairs: input.pairs ?? null,
    candidates: input.candidates ?? DEFAULT_LINK_CANDIDATES,
    nilThreshold: input.nilThreshold ?? null,
    domain: input.domain ?? null,
  };
}

/** A region as the LinkedRegion type shows it. */
function regionFields(region: LinkRegion | null) {
  return region
    ? { ...region.box, label: region.label, score: region.score, source: region.source }
    : null;
}

/** An entity's links in a linked image, with the best score. */
function linkedImageRef(entityId: string, linkedImage: LinkedImageRecord) {
  const links = linkedImage.links.filter((link) => link.entityId === entityId);
  return { linkedImage, links, score: Math.max(...links.map((link) => link.score)) };
}

function toImageSources(images: readonly ImageInputArg[] | null | undefined): ImageSource[] | null {
  return images ? images.map(toImageSource) : null;
}

function toEntityInput(input: EntityInputArg): EntityInput {
  return { ...input, images: toImageSources(input.images) };
}

function toEntityPatch(patch: EntityFieldsArg): EntityPatch {
  const { images, ...fields } = patch;
  const defined = Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== null && value !== undefined),
  );
  return { ...defined, images: toImageSources(images) };
}

const DateTime = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An ISO-8601 date-time string.',
  serialize: (value) => String(value),
  parseValue: (value) => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
      throw new BadInputError('DateTime must be an ISO-8601 string');
    }
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || Number.isNaN(Date.parse(ast.value))) {
      throw new BadInputError('DateTime must be an ISO-8601 string');
    }
    return ast.value;
  },
});

type Resolver<Parent, Args, Result> = (
  parent: Parent,
  args: Args,
  context: Context,
) => Result | Promise<Result>;

/** Thin resolvers: argument shaping here, every decision in the services. */
export const resolvers = {
  Upload: GraphQLUpload,
  DateTime,
  Query: {
    entity: ((_, { id }, { loaders }) => loaders.entityById.load(id)) satisfies Resolver<
      unknown,
      { id: string },
      EntityRecord | null
    >,
    entities: (async (_, args, { services }) => {
      const page = await services.queries.page(args);
      const edges = page.entities.map((node) => ({ cursor: encodeCursor(node.id), node }));
      return {
        edges,
        totalCount: page.totalCount,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      };
    }) satisfies Resolver<
      unknown,
      { first: number; after?: string | null; domain?: string | null },
      unknown
    >,
    domains: ((_, __, { services }) => services.queries.domains()) satisfies Resolver<
      unknown,
      unknown,
      unknown
    >,
    image: ((_, { sha256 }, { services }) => services.queries.image(sha256)) satisfies Resolver<
      unknown,
      { sha256: string },
      unknown
    >,
    candidates: (async (_, { image, box, ...args }, { services }) => {
      const bytes = image ? await services.images.read(toImageSource(image, 0)) : null;
      return services.candidates.generate({
        ...args,
        image: bytes ? { bytes, box: box ?? null } : null,
      });
    }) satisfies Resolver<
      unknown,
      {
        mention?: string | null;
        image?: ImageInputArg | null;
        box?: { x: number; y: number; width: number; height: number } | null;
        limit?: number | null;
        domain?: string | null;
      },
      Candidate[]
    >,
    encodingStatus: ((_, __, { services }) => services.encoding.status()) satisfies Resolver<
      unknown,
      unknown,
      unknown
    >,
    linkedImage: ((_, { sha256, model }, { services }) =>
      services.linking.linkedImage(sha256, model ?? null)) satisfies Resolver<
      unknown,
      { sha256: string; model?: string | null },
      LinkedImageRecord | null
    >,
  },
  Mutation: {
    registerEntity: ((_, { input }, { services, request }) =>
      services.entities.register(toEntityInput(input), request.signal)) satisfies Resolver<
      unknown,
      { input: EntityInputArg },
      unknown
    >,
    registerEntities: ((_, { inputs }, { services, request }) =>
      services.entities.registerMany(inputs.map(toEntityInput), request.signal)) satisfies Resolver<
      unknown,
      { inputs: readonly EntityInputArg[] },
      unknown
    >,
    updateEntity: ((_, { id, patch }, { services, request }) =>
      services.entities.update(id, toEntityPatch(patch), request.signal)) satisfies Resolver<
      unknown,
      { id: string; patch: EntityFieldsArg },
      EntityRecord
    >,
    reencodeEntities: ((_, { batchSize }, { services }) =>
      services.encoding.start(batchSize ?? undefined)) satisfies Resolver<
      unknown,
      { batchSize?: number | null },
      unknown
    >,
    deleteEntity: ((_, { id }, { services }) => services.entities.delete(id)) satisfies Resolver<
      unknown,
      { id: string },
      unknown
    >,
    linkImage: ((_, { input }, { services, request }) =>
      services.linking.link(toLinkImageInput(input), request.signal)) satisfies Resolver<
      unknown,
      { input: LinkImageInputArg },
      unknown
    >,
  },
  EncodingStatus: {
    bundle: ((status) => status.bundleId) satisfies Resolver<
      EncodingStatus,
      unknown,
      string | null
    >,
  },
  Entity: {
    images: ((entity, _, { loaders }) =>
      loaders.imagesByEntityId.load(entity.id)) satisfies Resolver<EntityRecord, unknown, unknown>,
    linkedImages: (async (entity, { first }, { loaders }) =>
      (await loaders.linkedImagesByEntity.load({ id: entity.id, first })).map((linked) =>
        linkedImageRef(entity.id, linked),
      )) satisfies Resolver<EntityRecord, { first: number }, unknown>,
  },
  LinkTriple: {
    entity: ((triple, _, { loaders }) =>
      triple.entityId === null
        ? null
        : loaders.entityById.load(triple.entityId)) satisfies Resolver<
      LinkTriple,
      unknown,
      EntityRecord | null
    >,
    region: ((triple) => regionFields(triple.region)) satisfies Resolver<
      LinkTriple,
      unknown,
      unknown
    >,
  },
  LinkAlternative: {
    entity: ((alternative, _, { loaders }) =>
      loaders.entityById.load(alternative.entityId)) satisfies Resolver<
      RankedCandidate,
      unknown,
      EntityRecord | null
    >,
  },
  GraphLink: {
    entity: ((link, _, { loaders }) => loaders.entityById.load(link.entityId)) satisfies Resolver<
      StoredLink,
      unknown,
      EntityRecord | null
    >,
  },
};
