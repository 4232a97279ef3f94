import type { Principal } from '../auth/api-keys.js';
import type { Services } from '../backend.js';
import { createLoaders, type Loaders } from './loaders.js';

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
