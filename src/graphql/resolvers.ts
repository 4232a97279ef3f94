import { GraphQLScalarType, Kind } from 'graphql';
import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { BadInputError } from '../errors.js';
import type { ImageSource } from '../images/image-source.js';
import type { EntityRecord } from '../neo4j/entity-repository.js';
import type { Candidate } from '../services/candidate-service.js';
import type { EncodingStatus } from '../services/encoding-service.js';
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

export function toImageSource(input: ImageInputArg, index: number): ImageSource {
  const given = [input.upload, input.dataUrl, input.sha256].filter(
    (v) => v !== undefined && v !== null,
  );
  if (given.length !== 1) {
    throw new BadInputError(`images[${index}] needs exactly one of upload, dataUrl or sha256`, {
      field: 'images',
      imageIndex: index,
    });
  }
  if (input.upload) return { kind: 'upload', upload: input.upload };
  if (input.dataUrl) return { kind: 'dataUrl', dataUrl: input.dataUrl };
  return { kind: 'stored', sha256: input.sha256 ?? '' };
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
  },
  Mutation: {
    registerEntity: ((_, { input }, { services }) =>
      services.entities.register(toEntityInput(input))) satisfies Resolver<
      unknown,
      { input: EntityInputArg },
      unknown
    >,
    registerEntities: ((_, { inputs }, { services }) =>
      services.entities.registerMany(inputs.map(toEntityInput))) satisfies Resolver<
      unknown,
      { inputs: readonly EntityInputArg[] },
      unknown
    >,
    updateEntity: ((_, { id, patch }, { services }) =>
      services.entities.update(id, toEntityPatch(patch))) satisfies Resolver<
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
  },
};
