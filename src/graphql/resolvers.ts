import { BadInputError } from '../errors.js';
import type { ImageSource } from '../images/image-source.js';
import type { LinkRegion } from '../linking/link-input.js';
import type { EntityRecord } from '../neo4j/entity-repository.js';
import type { LinkedImageRecord } from '../neo4j/link-repository.js';
import { encodeCursor } from '../services/entity-queries.js';
import type {
  EntityInput as EntityInputRecord,
  EntityPatch as EntityPatchRecord,
} from '../services/entity-service.js';
import type { LinkImageInput as LinkImageRequest } from '../linking/link-result.js';
import type {
  EntityInput,
  EntityPatch,
  ImageInput,
  LinkImageInput,
  Resolvers,
} from './generated/resolvers-types.js';
import type { Loaders } from './loaders.js';
import { DateTime, Upload } from './scalars.js';

function oneImageSource(
  input: ImageInput,
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

export function toImageSource(input: ImageInput, index: number): ImageSource {
  return oneImageSource(input, {
    name: `images[${index}]`,
    details: { field: 'images', imageIndex: index },
  });
}

/** `candidates` when the client sends an explicit null. */
const DEFAULT_LINK_CANDIDATES = 100;

function toLinkImageInput(input: LinkImageInput): LinkImageRequest {
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

function toImageSources(images: readonly ImageInput[] | null | undefined): ImageSource[] | null {
  return images ? images.map(toImageSource) : null;
}

function toEntityInput(input: EntityInput): EntityInputRecord {
  return { ...input, images: toImageSources(input.images) };
}

function toEntityPatch(patch: EntityPatch): EntityPatchRecord {
  const { images, ...fields } = patch;
  const defined = Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== null && value !== undefined),
  );
  return { ...defined, images: toImageSources(images) };
}

/**
 * An entity that a link or a ranking names, for a non-null `entity` field. It can only be missing
 * when deleted meanwhile; GraphQL would refuse the null as it refuses this error (both reach the
 * client as INTERNAL_SERVER_ERROR at the field's path), but this one says which entity in the log.
 */
async function existingEntity(loaders: Loaders, id: string): Promise<EntityRecord> {
  const entity = await loaders.entityById.load(id);
  if (entity === null) throw new Error(`entity ${id} no longer exists`);
  return entity;
}

/** Thin resolvers: argument shaping here, every decision in the services. */
export const resolvers: Resolvers = {
  Upload,
  DateTime,
  Query: {
    entity: (_, { id }, { loaders }) => loaders.entityById.load(id),
    entities: async (_, args, { services }) => {
      const page = await services.queries.page(args);
      const edges = page.entities.map((node) => ({ cursor: encodeCursor(node.id), node }));
      return {
        edges,
        totalCount: page.totalCount,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
    domains: (_, __, { services }) => services.queries.domains(),
    image: (_, { sha256 }, { services }) => services.queries.image(sha256),
    candidates: async (_, { image, box, ...args }, { services }) => {
      const bytes = image ? await services.images.read(toImageSource(image, 0)) : null;
      return services.candidates.generate({
        ...args,
        image: bytes ? { bytes, box: box ?? null } : null,
      });
    },
    encodingStatus: (_, __, { services }) => services.encoding.status(),
    linkedImage: (_, { sha256, model }, { services }) =>
      services.linking.linkedImage(sha256, model ?? null),
  },
  Mutation: {
    registerEntity: (_, { input }, { services, request }) =>
      services.entities.register(toEntityInput(input), request.signal),
    registerEntities: (_, { inputs }, { services, request }) =>
      services.entities.registerMany(inputs.map(toEntityInput), request.signal),
    updateEntity: (_, { id, patch }, { services, request }) =>
      services.entities.update(id, toEntityPatch(patch), request.signal),
    reencodeEntities: (_, { batchSize }, { services }) =>
      services.encoding.start(batchSize ?? undefined),
    deleteEntity: (_, { id }, { services }) => services.entities.delete(id),
    linkImage: (_, { input }, { services, request }) =>
      services.linking.link(toLinkImageInput(input), request.signal),
  },
  EncodingStatus: {
    bundle: (status) => status.bundleId,
  },
  Entity: {
    images: (entity, _, { loaders }) => loaders.imagesByEntityId.load(entity.id),
    linkedImages: async (entity, { first }, { loaders }) =>
      (await loaders.linkedImagesByEntity.load({ id: entity.id, first })).map((linked) =>
        linkedImageRef(entity.id, linked),
      ),
  },
  LinkTriple: {
    entity: (triple, _, { loaders }) =>
      triple.entityId === null ? null : loaders.entityById.load(triple.entityId),
    region: (triple) => regionFields(triple.region),
  },
  LinkAlternative: {
    entity: (alternative, _, { loaders }) => existingEntity(loaders, alternative.entityId),
  },
  GraphLink: {
    entity: (link, _, { loaders }) => existingEntity(loaders, link.entityId),
  },
};
