import type { Graph, Tx } from './driver.js';
import { ENTITY_RECORD, type EntityProjection, type EntityRecord } from './entity-repository.js';
import { recordVectorChanges } from './vector-changes.js';

/** The k-NN indexes: entity text vectors, per-image vectors and their style-robust vectors. */
export const VECTOR_INDEXES = {
  entityText: { name: 'entity_text_embedding', label: 'Entity', property: 'textEmbedding' },
  image: { name: 'image_embedding', label: 'Image', property: 'embedding' },
  imageRobust: { name: 'image_robust_embedding', label: 'Image', property: 'robustEmbedding' },
} as const;
export type VectorIndexKey = keyof typeof VECTOR_INDEXES;

interface IndexRow extends Record<string, unknown> {
  name: string;
  dimensions: number | null;
}

/**
 * Creates each vector index with the dimension of the active encoder. An index built for another
 * dimension (the bundle changed) is dropped and rebuilt; the vectors in it are stale anyway.
 * Schema commands cannot run inside a data transaction, hence auto-commit statements.
 */
export async function ensureVectorIndexes(
  graph: Graph,
  dimensions: Partial<Record<VectorIndexKey, number>>,
): Promise<void> {
  const existing = await graph.read('vectorIndexes.list', (tx) =>
    tx.query<IndexRow>(
      `SHOW VECTOR INDEXES YIELD name, options
       RETURN name, options.indexConfig['vector.dimensions'] AS dimensions`,
    ),
  );
  const byName = new Map(existing.map((row) => [row.name, row.dimensions]));
  for (const [key, dimension] of Object.entries(dimensions) as [VectorIndexKey, number][]) {
    const index = VECTOR_INDEXES[key];
    const current = byName.get(index.name);
    if (current === dimension) continue;
    if (current !== undefined) await graph.runAutoCommit(`DROP INDEX ${index.name} IF EXISTS`);
    await graph.runAutoCommit(
      `CREATE VECTOR INDEX ${index.name} IF NOT EXISTS
       FOR (n:${index.label}) ON n.${index.property}
       OPTIONS {indexConfig: {\`vector.dimensions\`: toInteger($dimension), \`vector.similarity_function\`: 'cosine'}}`,
      { dimension },
    );
  }
  await graph.runAutoCommit('CALL db.awaitIndexes(300)');
}

export interface StaleCounts {
  /** Entities whose text vector is stale. */
  readonly entities: number;
  readonly images: number;
  /** Entities whose candidate vector (the linker's) is stale. */
  readonly candidates: number;
}

/**
 * Entities or images whose vector is missing or was made by other weights (null: no such encoder).
 * Only entities' images count: an image stored only as a linked query image (`linkImage`) has no
 * vector on purpose, so that it never crowds entity images out of the `image_embedding` index.
 */
export async function countStale(
  tx: Tx,
  fingerprints: { text: string | null; image: string | null; candidate: string | null },
): Promise<StaleCounts> {
  const [row] = await tx.query<{ entities: number; images: number; candidates: number }>(
    `CALL { MATCH (e:Entity) WHERE $text IS NOT NULL AND coalesce(e.textEncoder, '') <> $text RETURN count(e) AS entities }
     CALL { MATCH (i:Image) WHERE $image IS NOT NULL AND coalesce(i.imageEncoder, '') <> $image
            AND EXISTS { (:Entity)-[:HAS_IMAGE]->(i) } RETURN count(i) AS images }
     CALL { MATCH (e:Entity) WHERE $candidate IS NOT NULL AND coalesce(e.candidateModel, '') <> $candidate RETURN count(e) AS candidates }
     RETURN entities, images, candidates`,
    fingerprints,
  );
  return row ?? { entities: 0, images: 0, candidates: 0 };
}

export interface EntityText {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
}

export async function findStaleEntities(
  tx: Tx,
  fingerprint: string,
  limit: number,
): Promise<EntityText[]> {
  return tx.query<{ id: string; name: string; aliases: string[]; description: string }>(
    `MATCH (e:Entity) WHERE coalesce(e.textEncoder, '') <> $fingerprint
     RETURN e.id AS id, e.name AS name, e.aliases AS aliases, e.description AS description
     ORDER BY e.id LIMIT toInteger($limit)`,
    { fingerprint, limit },
  );
}

export async function findStaleImages(
  tx: Tx,
  fingerprint: string,
  limit: number,
): Promise<string[]> {
  const rows = await tx.query<{ sha256: string }>(
    `MATCH (i:Image) WHERE coalesce(i.imageEncoder, '') <> $fingerprint
       AND EXISTS { (:Entity)-[:HAS_IMAGE]->(i) }
     RETURN i.sha256 AS sha256 ORDER BY i.sha256 LIMIT toInteger($limit)`,
    { fingerprint, limit },
  );
  return rows.map((row) => row.sha256);
}

/** An entity whose candidate vector is stale, with what the candidate encoder needs. */
export interface StaleCandidate {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** The content the vector will be computed from; the write is skipped if it changed meanwhile. */
  readonly contentHash: string;
  /** In position order; `embedding` only when made by the image encoder asked about. */
  readonly images: readonly { readonly sha256: string; readonly embedding: number[] | null }[];
}

export async function findStaleCandidates(
  tx: Tx,
  query: { fingerprint: string; imageFingerprint: string; limit: number },
): Promise<StaleCandidate[]> {
  return tx.query<StaleCandidate & Record<string, unknown>>(
    `MATCH (e:Entity) WHERE coalesce(e.candidateModel, '') <> $fingerprint
     WITH e ORDER BY e.id LIMIT toInteger($limit)
     OPTIONAL MATCH (e)-[r:HAS_IMAGE]->(i:Image)
     WITH e, r, i ORDER BY e.id, r.position
     WITH e, collect(CASE WHEN i IS NOT NULL THEN {
       sha256: i.sha256,
       embedding: CASE WHEN i.imageEncoder = $imageFingerprint THEN i.embedding END
     } END) AS images
     RETURN e.id AS id, e.name AS name, e.description AS description,
            coalesce(e.contentHash, '') AS contentHash, images
     ORDER BY id`,
    query,
  );
}

/** Stores candidate vectors, each only if its entity still has the content it was computed from. */
export async function setEntityCandidateVectors(
  tx: Tx,
  fingerprint: string,
  vectors: readonly { id: string; contentHash: string; vector: readonly number[] }[],
): Promise<number> {
  const [row] = await tx.query<{ written: number }>(
    `UNWIND $vectors AS item
     MATCH (e:Entity {id: item.id}) WHERE coalesce(e.contentHash, '') = item.contentHash
     SET e.candidateVector = item.vector, e.candidateModel = $fingerprint
     RETURN count(e) AS written`,
    { vectors, fingerprint },
  );
  return row?.written ?? 0;
}

export async function setEntityTextVectors(
  tx: Tx,
  fingerprint: string,
  vectors: readonly { id: string; vector: readonly number[] }[],
): Promise<void> {
  await tx.query(
    `UNWIND $vectors AS item
     MATCH (e:Entity {id: item.id})
     SET e.textEmbedding = item.vector, e.textEncoder = $fingerprint`,
    { vectors, fingerprint },
  );
  await recordVectorChanges(tx, { entityIds: vectors.map((item) => item.id) });
}

export async function setImageVectors(
  tx: Tx,
  fingerprint: string,
  vectors: readonly {
    sha256: string;
    vector: readonly number[] | null;
    robust: readonly number[] | null;
  }[],
): Promise<void> {
  await tx.query(
    `UNWIND $vectors AS item
     MATCH (i:Image {sha256: item.sha256})
     SET i.embedding = item.vector, i.robustEmbedding = item.robust, i.imageEncoder = $fingerprint`,
    { vectors, fingerprint },
  );
  await recordVectorChanges(tx, { imageSha256s: vectors.map((item) => item.sha256) });
}

export interface VectorHit<E = EntityRecord> {
  readonly entity: E;
  /** Neo4j's cosine score, (1 + cos) / 2, in [0, 1]. */
  readonly score: number;
  /** For image hits: the image of the entity that matched. */
  readonly imageSha256?: string;
}

export interface VectorQuery<E> {
  readonly vector: readonly number[];
  readonly fingerprint: string;
  readonly limit: number;
  readonly domain: string | null;
  /** Full records unless told otherwise. */
  readonly projection?: EntityProjection<E>;
}

/** k nearest entities by text vector, ignoring vectors made by other weights. */
export async function searchEntityText<E = EntityRecord>(
  tx: Tx,
  query: VectorQuery<E>,
): Promise<VectorHit<E>[]> {
  const projection = query.projection ?? (ENTITY_RECORD as EntityProjection<unknown>);
  return tx.query<{ entity: E; score: number }>(
    `CALL db.index.vector.queryNodes($index, toInteger($fetch), $vector) YIELD node AS e, score
     WHERE e.textEncoder = $fingerprint AND ($domain IS NULL OR e.domain = $domain)
     RETURN ${projection.cypher} AS entity, score
     ORDER BY score DESC, e.id LIMIT toInteger($limit)`,
    {
      index: VECTOR_INDEXES.entityText.name,
      vector: query.vector,
      fingerprint: query.fingerprint,
      domain: query.domain,
      limit: query.limit,
      fetch: query.domain === null ? query.limit : query.limit * 5,
    },
  );
}

/** k nearest entities by any of their images' vectors (best image per entity). */
export async function searchEntityImages<E = EntityRecord>(
  tx: Tx,
  query: VectorQuery<E> & {
    /** Which image vectors: the encoder's own (default) or their style-robust projection. */
    readonly index?: 'image' | 'imageRobust';
  },
): Promise<VectorHit<E>[]> {
  const projection = query.projection ?? (ENTITY_RECORD as EntityProjection<unknown>);
  return tx.query<{ entity: E; score: number; imageSha256: string }>(
    `CALL db.index.vector.queryNodes($index, toInteger($fetch), $vector) YIELD node AS i, score
     WHERE i.imageEncoder = $fingerprint
     MATCH (e:Entity)-[:HAS_IMAGE]->(i)
     WHERE $domain IS NULL OR e.domain = $domain
     WITH e, i, score ORDER BY score DESC
     WITH e, collect({score: score, sha256: i.sha256})[0] AS best
     RETURN ${projection.cypher} AS entity, best.score AS score, best.sha256 AS imageSha256
     ORDER BY score DESC, e.id LIMIT toInteger($limit)`,
    {
      index: VECTOR_INDEXES[query.index ?? 'image'].name,
      vector: query.vector,
      fingerprint: query.fingerprint,
      domain: query.domain,
      limit: query.limit,
      // Several images may belong to one entity and the domain filter runs after the index.
      fetch: query.limit * (query.domain === null ? 3 : 10),
    },
  );
}
