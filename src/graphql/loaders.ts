import DataLoader from 'dataloader';
import type { EntityRecord, ImageRecord } from '../neo4j/entity-repository.js';
import type { LinkedImageRecord } from '../neo4j/link-repository.js';
import type { EntityQueries } from '../services/entity-queries.js';
import type { LinkingService } from '../linking/linking-service.js';

/** An entity and how many of its linked images are asked for. */
export interface LinkedImagesKey {
  readonly id: string;
  readonly first: number;
}

export interface Loaders {
  readonly entityById: DataLoader<string, EntityRecord | null>;
  readonly imagesByEntityId: DataLoader<string, readonly ImageRecord[]>;
  readonly linkedImagesByEntity: DataLoader<LinkedImagesKey, readonly LinkedImageRecord[], string>;
}

/** Fresh per request, so a cached answer never outlives the request that asked for it. */
export function createLoaders(
  queries: Pick<EntityQueries, 'findByIds' | 'imagesOf'>,
  linking: Pick<LinkingService, 'linkedImagesOf'>,
): Loaders {
  return {
    entityById: new DataLoader(async (ids) => {
      const byId = new Map((await queries.findByIds(ids)).map((entity) => [entity.id, entity]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    imagesByEntityId: new DataLoader(async (ids) => {
      const byId = await queries.imagesOf(ids);
      return ids.map((id) => byId.get(id) ?? []);
    }),
    // One query per distinct `first` in a request (usually one).
    linkedImagesByEntity: new DataLoader(
      async (keys) => {
        const byFirst = new Map<number, Map<string, LinkedImageRecord[]>>();
        for (const first of new Set(keys.map((key) => key.first))) {
          const ids = [...new Set(keys.filter((k) => k.first === first).map((k) => k.id))];
          byFirst.set(first, await linking.linkedImagesOf(ids, first));
        }
        return keys.map((key) => byFirst.get(key.first)?.get(key.id) ?? []);
      },
      { cacheKeyFn: (key) => `${key.first}:${key.id}` },
    ),
  };
}
