import DataLoader from 'dataloader';
import type { EntityRecord, ImageRecord } from '../neo4j/entity-repository.js';
import type { EntityQueries } from '../services/entity-queries.js';

export interface Loaders {
  readonly entityById: DataLoader<string, EntityRecord | null>;
  readonly imagesByEntityId: DataLoader<string, readonly ImageRecord[]>;
}

/** Fresh per request, so a cached answer never outlives the request that asked for it. */
export function createLoaders(queries: Pick<EntityQueries, 'findByIds' | 'imagesOf'>): Loaders {
  return {
    entityById: new DataLoader(async (ids) => {
      const byId = new Map((await queries.findByIds(ids)).map((entity) => [entity.id, entity]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    imagesByEntityId: new DataLoader(async (ids) => {
      const byId = await queries.imagesOf(ids);
      return ids.map((id) => byId.get(id) ?? []);
    }),
  };
}
