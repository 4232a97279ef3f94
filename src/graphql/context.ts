import type { Principal } from '../auth/api-keys.js';
import type { CandidateService } from '../services/candidate-service.js';
import type { EncodingService } from '../services/encoding-service.js';
import type { EntityQueries } from '../services/entity-queries.js';
import type { EntityService } from '../services/entity-service.js';
import type { ImageReader } from '../services/image-reader.js';
import type { LinkingService } from '../linking/linking-service.js';
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

/** Who sent the request and how long its work may run. */
export interface RequestScope {
  readonly principal: Principal;
  /** The rate-limit key of a request without an API key: the client's address. */
  readonly client: string;
  /** Aborted when the request's budget runs out or its client goes away. */
  readonly signal: AbortSignal;
}

export interface Context {
  readonly services: Services;
  readonly loaders: Loaders;
  readonly request: RequestScope;
}

export function createContext(services: Services, request: RequestScope): Context {
  return { services, loaders: createLoaders(services.queries, services.linking), request };
}
