import type { Config } from '../config.js';
import { BadInputError } from '../errors.js';
import { isSha256Hex } from '../images/image-store.js';
import type { Graph } from '../neo4j/driver.js';
import * as entities from '../neo4j/entity-repository.js';
import type { EntityRecord, ImageRecord } from '../neo4j/entity-repository.js';

export interface EntityPage {
  readonly entities: readonly EntityRecord[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
}

const CURSOR_PREFIX = 'entity:';

export function encodeCursor(id: string): string {
  return Buffer.from(CURSOR_PREFIX + id, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!decoded.startsWith(CURSOR_PREFIX) || decoded.length === CURSOR_PREFIX.length) {
    throw new BadInputError('after is not a cursor returned by this API', { field: 'after' });
  }
  return decoded.slice(CURSOR_PREFIX.length);
}

/** Read side of the registry: what GraphQL fields and DataLoaders ask for. */
export class EntityQueries {
  constructor(
    private readonly graph: Graph,
    private readonly limits: Config['limits'],
  ) {}

  findByIds(ids: readonly string[]): Promise<EntityRecord[]> {
    return this.graph.read('entitiesByIds', (tx) => entities.findEntitiesByIds(tx, ids));
  }

  imagesOf(ids: readonly string[]): Promise<Map<string, ImageRecord[]>> {
    return this.graph.read('imagesByEntityIds', (tx) => entities.findImagesByEntityIds(tx, ids));
  }

  async image(sha256: string): Promise<ImageRecord | null> {
    const hash = sha256.toLowerCase();
    if (!isSha256Hex(hash))
      throw new BadInputError('sha256 must be 64 hex digits', { field: 'sha256' });
    const [image] = await this.graph.read('image', (tx) => entities.findImagesBySha256(tx, [hash]));
    return image ?? null;
  }

  domains(): Promise<{ domain: string; entityCount: number }[]> {
    return this.graph.read('domains', (tx) => entities.listDomains(tx));
  }

  async page(args: {
    first: number;
    after?: string | null;
    domain?: string | null;
  }): Promise<EntityPage> {
    if (!Number.isInteger(args.first) || args.first < 1 || args.first > this.limits.maxPageSize) {
      throw new BadInputError(`first must be between 1 and ${this.limits.maxPageSize}`, {
        field: 'first',
      });
    }
    const afterId = args.after ? decodeCursor(args.after) : null;
    const domain = args.domain ?? null;
    return this.graph.read('entities', async (tx) => ({
      ...(await entities.listEntities(tx, { domain, afterId, first: args.first })),
      totalCount: await entities.countEntities(tx, domain),
    }));
  }
}
