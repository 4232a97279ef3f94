import type { Tx } from './driver.js';

/**
 * The change watermark of entity vectors (db/migrations/0005_vector_changes.cypher), which the
 * in-process vector index of every replica follows (src/vectors/vector-sync.ts).
 *
 * `recordVectorChanges` runs as the last statement of each write transaction that changes what the
 * index holds of an entity (its text vector, its images or their vectors, its name, aliases,
 * content hash or domain, or its existence). It increments the single VectorClock node and stamps
 * the entities with the new value. The clock's write lock is held until commit, so stamps commit
 * in increasing order: once a reader sees the clock at C, every stamp <= C has committed.
 */
export async function recordVectorChanges(
  tx: Tx,
  changes: {
    /** Entities written (created or replaced) or whose text vector was set. */
    readonly entityIds?: readonly string[];
    /** Images whose vectors were set: every entity that has one of them changed. */
    readonly imageSha256s?: readonly string[];
    readonly deletedIds?: readonly string[];
  },
): Promise<number> {
  const entityIds = changes.entityIds ?? [];
  const imageSha256s = changes.imageSha256s ?? [];
  const deletedIds = changes.deletedIds ?? [];
  if (entityIds.length + imageSha256s.length + deletedIds.length === 0) return 0;
  const [row] = await tx.query<{ version: number }>(
    `MERGE (c:VectorClock {id: 'vectors'}) ON CREATE SET c.version = 0
     SET c.version = c.version + 1
     WITH c.version AS version
     CALL (version) {
       UNWIND $entityIds AS id
       MATCH (e:Entity {id: id}) SET e.vectorsVersion = version
     }
     CALL (version) {
       MATCH (e:Entity)-[:HAS_IMAGE]->(i:Image) WHERE i.sha256 IN $imageSha256s
       SET e.vectorsVersion = version
     }
     CALL (version) {
       UNWIND $deletedIds AS id
       MERGE (t:VectorTombstone {id: id}) SET t.version = version, t.deletedAt = datetime()
     }
     RETURN version`,
    { entityIds, imageSha256s, deletedIds },
  );
  return row?.version ?? 0;
}

/** The last committed stamp (0 before the first). */
export async function readVectorClock(tx: Tx): Promise<number> {
  const [row] = await tx.query<{ version: number }>(
    `OPTIONAL MATCH (c:VectorClock {id: 'vectors'}) RETURN coalesce(c.version, 0) AS version`,
  );
  return row?.version ?? 0;
}

/** Ids of entities stamped after `since`, and ids deleted after it. */
export async function findVectorChangesSince(
  tx: Tx,
  since: number,
): Promise<{ changed: string[]; deleted: string[] }> {
  const [row] = await tx.query<{ changed: string[]; deleted: string[] }>(
    `CALL () { MATCH (e:Entity) WHERE e.vectorsVersion > $since RETURN collect(e.id) AS changed }
     CALL () { MATCH (t:VectorTombstone) WHERE t.version > $since RETURN collect(t.id) AS deleted }
     RETURN changed, deleted`,
    { since },
  );
  return row ?? { changed: [], deleted: [] };
}

/** Removes tombstones older than `retentionMs`; replicas further behind reload everything. */
export async function pruneVectorTombstones(tx: Tx, retentionMs: number): Promise<number> {
  const [row] = await tx.query<{ pruned: number }>(
    `MATCH (t:VectorTombstone) WHERE t.deletedAt < datetime() - duration({milliseconds: $retentionMs})
     DELETE t RETURN count(*) AS pruned`,
    { retentionMs },
  );
  return row?.pruned ?? 0;
}

/** An entity as the in-process index loads it: only vectors made by the current weights. */
export interface EntityVectorRow {
  readonly id: string;
  readonly name: string;
  readonly aliases: string[];
  readonly contentHash: string;
  readonly domain: string;
  readonly text: number[] | null;
  /** Images with a current vector, in position order. */
  readonly images: { sha256: string; vector: number[] | null; robust: number[] | null }[];
}

export interface VectorFingerprints {
  /** Null: no such encoder, nothing of that kind is loaded. */
  readonly text: string | null;
  readonly image: string | null;
}

const ENTITY_VECTOR_ROW = `
  OPTIONAL MATCH (e)-[r:HAS_IMAGE]->(i:Image)
    WHERE $image IS NOT NULL AND i.imageEncoder = $image
      AND (i.embedding IS NOT NULL OR i.robustEmbedding IS NOT NULL)
  WITH e, r, i ORDER BY e.id, r.position
  WITH e, collect(CASE WHEN i IS NOT NULL THEN
    {sha256: i.sha256, vector: i.embedding, robust: i.robustEmbedding} END) AS images
  RETURN e.id AS id, e.name AS name, coalesce(e.aliases, []) AS aliases,
         coalesce(e.contentHash, '') AS contentHash, e.domain AS domain,
         CASE WHEN $text IS NOT NULL AND e.textEncoder = $text THEN e.textEmbedding END AS text,
         images
  ORDER BY id`;

/** One page of every entity in id order (keyset pagination on the id constraint's index). */
export async function loadEntityVectorsPage(
  tx: Tx,
  query: VectorFingerprints & { readonly afterId: string | null; readonly limit: number },
): Promise<EntityVectorRow[]> {
  return tx.query<EntityVectorRow & Record<string, unknown>>(
    `MATCH (e:Entity) WHERE $afterId IS NULL OR e.id > $afterId
     WITH e ORDER BY e.id LIMIT toInteger($limit)
     ${ENTITY_VECTOR_ROW}`,
    { ...query },
  );
}

/** The current rows of the given entities; an id without a row no longer exists. */
export async function loadEntityVectorsByIds(
  tx: Tx,
  query: VectorFingerprints & { readonly ids: readonly string[] },
): Promise<EntityVectorRow[]> {
  return tx.query<EntityVectorRow & Record<string, unknown>>(
    `MATCH (e:Entity) WHERE e.id IN $ids
     ${ENTITY_VECTOR_ROW}`,
    { ...query },
  );
}
