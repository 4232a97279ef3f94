import type { CandidateService } from '../services/candidate-service.js';
import type { EncodingService } from '../services/encoding-service.js';
import type { EntityQueries } from '../services/entity-queries.js';
import type { EntityService } from '../services/entity-service.js';
import type { ImageReader } from '../services/image-reader.js';
import type { LinkingService } from '../services/linking-service.js';
import { createLoaders, type Loaders } from './loaders.js';

/** What resolvers may use: services and loaders, never the driver. */
export interface Services {
  readonly entities: Pick<EntityService, 'register' | 'registerMany' | 'update' | 'delete'>;
  readonly queries: Pick<EntityQueries, 'findByIds' | 'imagesOf' | 'image' | 'domains' | 'page'>;
  readonly candidates: Pick<CandidateService, 'generate'>;
  readonly encoding: Pick<EncodingService, 'status' | 'start' | 'run'>;
  readonly images: Pick<ImageReader, 'read'>;
  readonly linking: Pick<LinkingService, 'link' | 'linkedImage' | 'linkedImagesOf'>;
}

export interface Context {
  readonly services: Services;
  readonly loaders: Loaders;
}

export function createContext(services: Services): Context {
  return { services, loaders: createLoaders(services.queries, services.linking) };
}
