import type { Tx } from './driver.js';

/**
 * API keys as nodes: `(:ApiKey {id, name, role, secretHash, createdAt, revokedAt})`.
 * `secretHash` is the hex sha256 of the key's random secret; the key itself is never stored.
 */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly secretHash: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

const FIELDS = `k.id AS id, k.name AS name, k.role AS role, k.secretHash AS secretHash,
  toString(k.createdAt) AS createdAt, toString(k.revokedAt) AS revokedAt`;

export async function createApiKey(
  tx: Tx,
  key: Pick<ApiKeyRecord, 'id' | 'name' | 'role' | 'secretHash'>,
): Promise<ApiKeyRecord> {
  const [row] = await tx.query<ApiKeyRecord & Record<string, unknown>>(
    `CREATE (k:ApiKey {id: $id, name: $name, role: $role, secretHash: $secretHash,
                       createdAt: datetime()})
     RETURN ${FIELDS}`,
    key,
  );
  if (!row) throw new Error('CREATE returned no row');
  return row;
}

export async function findApiKey(tx: Tx, id: string): Promise<ApiKeyRecord | null> {
  const [row] = await tx.query<ApiKeyRecord & Record<string, unknown>>(
    `MATCH (k:ApiKey {id: $id}) RETURN ${FIELDS}`,
    { id },
  );
  return row ?? null;
}

export async function listApiKeys(tx: Tx): Promise<ApiKeyRecord[]> {
  return tx.query<ApiKeyRecord & Record<string, unknown>>(
    `MATCH (k:ApiKey) RETURN ${FIELDS} ORDER BY k.createdAt, k.id`,
  );
}

/** Marks the key revoked (kept for the audit trail); false when no such key exists. */
export async function revokeApiKey(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.query(
    `MATCH (k:ApiKey {id: $id}) SET k.revokedAt = coalesce(k.revokedAt, datetime()) RETURN k.id AS id`,
    { id },
  );
  return rows.length > 0;
}
