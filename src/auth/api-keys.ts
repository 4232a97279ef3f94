import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CacheStats } from '../observability/cache-stats.js';
import { BadInputError, UnauthenticatedError } from '../errors.js';
import * as apiKeys from '../neo4j/api-key-repository.js';
import type { ApiKeyRecord } from '../neo4j/api-key-repository.js';
import type { Graph } from '../neo4j/driver.js';

/**
 * Roles, each allowing what the one before it does: `read` runs queries, `link` also runs
 * `linkImage` (which writes links), `admin` also registers, updates, deletes and re-encodes.
 */
export const ROLES = ['read', 'link', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function roleAllows(role: Role | null, required: Role): boolean {
  return role !== null && ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** Who sent a request: a key, or nobody (`role` null unless anonymous reads are on). */
export interface Principal {
  readonly keyId: string | null;
  readonly keyName: string | null;
  readonly role: Role | null;
}

/**
 * A key reads `plk_<id>_<secret>`: the id (16 hex digits) finds the stored record, the secret
 * (32 random bytes, base64url) is checked against its sha256. A random 256-bit secret needs no
 * slow password hash: nothing short of the secret itself matches the digest.
 */
const KEY_PATTERN = /^plk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export interface CreatedApiKey {
  /** Shown once: only its hash is stored. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

export interface ApiKeyView {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** Creates, lists, revokes and verifies API keys; verified keys are trusted for `cacheMs`. */
export class ApiKeyService {
  /** Per key id, the stored record (or null: no such key) as last read. */
  private readonly cache: LRUCache<string, { record: ApiKeyRecord | null }> | null;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly graph: Graph,
    cacheMs: number,
  ) {
    this.cache = cacheMs > 0 ? new LRUCache({ max: 10_000, ttl: cacheMs }) : null;
  }

  async create(role: string, name: string): Promise<CreatedApiKey> {
    if (!isRole(role)) {
      throw new BadInputError(`role must be one of ${ROLES.join(', ')}`, { field: 'role' });
    }
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 200) {
      throw new BadInputError('name must be 1 to 200 characters', { field: 'name' });
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record = await this.graph.write('apiKeys.create', (tx) =>
      apiKeys.createApiKey(tx, { id, name: trimmed, role, secretHash: secretHash(secret) }),
    );
    return { key: `plk_${id}_${secret}`, record };
  }

  async list(): Promise<ApiKeyView[]> {
    const records = await this.graph.read('apiKeys.list', (tx) => apiKeys.listApiKeys(tx));
    return records.map(({ secretHash: _hash, ...view }) => view);
  }

  /** Revokes at once in the graph; a replica that verified the key recently trusts it up to `cacheMs` more. */
  async revoke(id: string): Promise<boolean> {
    const revoked = await this.graph.write('apiKeys.revoke', (tx) => apiKeys.revokeApiKey(tx, id));
    this.cache?.delete(id);
    return revoked;
  }

  /** The principal of an `Authorization` header value; throws UNAUTHENTICATED for a bad key. */
  async authenticate(key: string): Promise<Principal> {
    const match = KEY_PATTERN.exec(key);
    if (!match) throw new UnauthenticatedError('The API key is malformed');
    const [, id = '', secret = ''] = match;
    const record = await this.lookup(id);
    const expected = Buffer.from(record?.secretHash ?? '', 'hex');
    const actual = Buffer.from(secretHash(secret), 'hex');
    if (
      !record ||
      expected.length !== actual.length ||
      !timingSafeEqual(expected, actual) ||
      record.revokedAt !== null ||
      !isRole(record.role)
    ) {
      throw new UnauthenticatedError('The API key is unknown or revoked');
    }
    return { keyId: record.id, keyName: record.name, role: record.role };
  }

  cacheStats(): CacheStats {
    return {
      entries: this.cache?.size ?? 0,
      maxEntries: this.cache?.max ?? 0,
      hits: this.hits,
      misses: this.misses,
    };
  }

  private async lookup(id: string): Promise<ApiKeyRecord | null> {
    const cached = this.cache?.get(id);
    if (cached) {
      this.hits += 1;
      return cached.record;
    }
    this.misses += 1;
    const record = await this.graph.read('apiKeys.find', (tx) => apiKeys.findApiKey(tx, id));
    this.cache?.set(id, { record });
    return record;
  }
}

/** The key of an `Authorization: Bearer <key>` header; null when there is no header. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.trim() === '') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new UnauthenticatedError('The Authorization header must read "Bearer <key>"');
  }
  return match[1];
}
