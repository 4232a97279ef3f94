import type { Tx } from './driver.js';
import { recordVectorChanges } from './vector-changes.js';

/** An entity as stored, without its images. Timestamps are ISO-8601 strings. */
export interface EntityRecord {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly domain: string;
  readonly tags: readonly string[];
  readonly contentHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ImageRecord {
  readonly sha256: string;
  readonly mime: string;
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly byteSize: number;
  readonly url: string;
  readonly createdAt: string;
}

/** Everything written for one entity: its fields, lookup keys derived from its names, and its images in order. */
export interface EntityWrite {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly domain: string;
  readonly tags: readonly string[];
  readonly contentHash: string;
  /** Aliases joined into one string for the full-text indexes. */
  readonly aliasText: string;
  readonly initialismText: string;
  /** Cached text vector and the fingerprint of the weights that made it; null when no encoder ran. */
  readonly textEmbedding: readonly number[] | null;
  readonly textEncoder: string | null;
  /** The linker's candidate vector and the linker's fingerprint; null when no linker ran. */
  readonly candidateVector: readonly number[] | null;
  readonly candidateModel: string | null;
  readonly images: readonly ImageWrite[];
}

export interface ImageWrite extends Omit<ImageRecord, 'createdAt'> {
  /** Null for an image already stored (its vector is kept) or when no encoder ran. */
  readonly embedding: readonly number[] | null;
  /** The style-robust vector made from `embedding`; null when the bundle has no robust head. */
  readonly robustEmbedding: readonly number[] | null;
  readonly imageEncoder: string | null;
}

/** Map projection of an Entity node bound to `e` into an EntityRecord. */
export const ENTITY_FIELDS = `e {
  .id, .name, .aliases, .description, .domain, .tags, .contentHash,
  createdAt: toString(e.createdAt), updatedAt: toString(e.updatedAt)
}`;

/** What a candidate list needs of an entity: its id, the names the rules match, and its content hash. */
export interface EntityKey {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly contentHash: string;
}

/** A map projection of an Entity node bound to `e`, typed by the record it yields. */
export interface EntityProjection<E> {
  readonly cypher: string;
  /** Never set: only carries the record type. */
  readonly record?: E;
}

export const ENTITY_RECORD: EntityProjection<EntityRecord> = { cypher: ENTITY_FIELDS };

/**
 * The key fields only: at 1,000 candidates the full records (descriptions, tags) cost Neo4j and
 * the driver more than the search itself, and `linkImage` uses none of them.
 */
export const ENTITY_KEY: EntityProjection<EntityKey> = {
  cypher: `e { .id, .name, aliases: coalesce(e.aliases, []), contentHash: coalesce(e.contentHash, '') }`,
};

/** Map projection of an Image node bound to `i` into an ImageRecord. */
export const IMAGE_FIELDS = `i {
  .sha256, .mime, .format, .width, .height, .byteSize, .url, createdAt: toString(i.createdAt)
}`;

// Attaches images in the given order; FOREACH keeps the entity row alive when there are none.
const ATTACH_IMAGES = `
FOREACH (image IN $entity.images |
  MERGE (i:Image {sha256: image.sha256})
  ON CREATE SET i.mime = image.mime, i.format = image.format, i.width = toInteger(image.width),
                i.height = toInteger(image.height), i.byteSize = toInteger(image.byteSize),
                i.url = image.url, i.createdAt = datetime()
  FOREACH (_ IN CASE WHEN image.embedding IS NULL THEN [] ELSE [1] END |
    SET i.embedding = image.embedding, i.robustEmbedding = image.robustEmbedding,
        i.imageEncoder = image.imageEncoder)
  MERGE (e)-[r:HAS_IMAGE]->(i)
  SET r.position = toInteger(image.position))`;

// Image nodes that nothing points at any more; later features (links, query images) add relationships.
const DELETE_ORPHANED_IMAGES = `
MATCH (i:Image) WHERE i.sha256 IN $candidates AND NOT (i)--()
WITH i, i.sha256 AS sha256
DELETE i
RETURN collect(sha256) AS removed`;

function entityParams(entity: EntityWrite): Record<string, unknown> {
  return {
    entity: {
      ...entity,
      images: entity.images.map((image, position) => ({ ...image, position })),
    },
  };
}

export async function findEntitiesByIds(tx: Tx, ids: readonly string[]): Promise<EntityRecord[]> {
  const rows = await tx.query<{ entity: EntityRecord }>(
    `MATCH (e:Entity) WHERE e.id IN $ids RETURN ${ENTITY_FIELDS} AS entity`,
    { ids },
  );
  return rows.map((row) => row.entity);
}

/** The entities of `ids` through a projection, keyed by id; ids without an entity are absent. */
export async function findEntitiesAs<E>(
  tx: Tx,
  ids: readonly string[],
  projection: EntityProjection<E>,
): Promise<Map<string, E>> {
  const rows = await tx.query<{ id: string; entity: E }>(
    `MATCH (e:Entity) WHERE e.id IN $ids RETURN e.id AS id, ${projection.cypher} AS entity`,
    { ids },
  );
  return new Map(rows.map((row) => [row.id, row.entity]));
}

export async function findContentHashes(
  tx: Tx,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const rows = await tx.query<{ id: string; contentHash: string }>(
    'MATCH (e:Entity) WHERE e.id IN $ids RETURN e.id AS id, e.contentHash AS contentHash',
    { ids },
  );
  return new Map(rows.map((row) => [row.id, row.contentHash]));
}

/** Images of a write that carry vectors: setting them changes every entity that has them. */
function imagesWithVectors(writes: readonly EntityWrite[]): string[] {
  return writes.flatMap((write) =>
    write.images.flatMap((image) => (image.embedding === null ? [] : [image.sha256])),
  );
}

/**
 * Creates the entities, then stamps them for the replicas' vector indexes (one stamp per call, the
 * transaction's last statement: see vector-changes.ts).
 */
export async function createEntities(tx: Tx, writes: readonly EntityWrite[]): Promise<void> {
  for (const write of writes) await createEntity(tx, write);
  await recordVectorChanges(tx, {
    entityIds: writes.map((write) => write.id),
    imageSha256s: imagesWithVectors(writes),
  });
}

async function createEntity(tx: Tx, entity: EntityWrite): Promise<void> {
  await tx.query(
    `CREATE (e:Entity {
       id: $entity.id, name: $entity.name, aliases: $entity.aliases, aliasText: $entity.aliasText,
       description: $entity.description, domain: $entity.domain, tags: $entity.tags,
       initialismText: $entity.initialismText, contentHash: $entity.contentHash,
       textEmbedding: $entity.textEmbedding, textEncoder: $entity.textEncoder,
       candidateVector: $entity.candidateVector, candidateModel: $entity.candidateModel,
       createdAt: datetime(), updatedAt: datetime()
     })
     WITH e ${ATTACH_IMAGES}`,
    entityParams(entity),
  );
}

/** Replaces an entity's fields and image list; returns the hashes of images no longer used by anything. */
export async function replaceEntity(tx: Tx, entity: EntityWrite): Promise<string[]> {
  const rows = await tx.query<{ previous: string[] }>(
    `MATCH (e:Entity {id: $entity.id})
     OPTIONAL MATCH (e)-[old:HAS_IMAGE]->(previousImage:Image)
     WITH e, collect(old) AS oldLinks, collect(previousImage.sha256) AS previous
     FOREACH (link IN oldLinks | DELETE link)
     SET e.name = $entity.name, e.aliases = $entity.aliases, e.aliasText = $entity.aliasText,
         e.description = $entity.description, e.domain = $entity.domain, e.tags = $entity.tags,
         e.initialismText = $entity.initialismText, e.contentHash = $entity.contentHash,
         e.textEmbedding = $entity.textEmbedding, e.textEncoder = $entity.textEncoder,
         e.candidateVector = $entity.candidateVector, e.candidateModel = $entity.candidateModel,
         e.updatedAt = datetime()
     WITH e, previous ${ATTACH_IMAGES}
     RETURN previous`,
    entityParams(entity),
  );
  const removed = await deleteOrphanedImages(tx, rows[0]?.previous ?? []);
  await recordVectorChanges(tx, {
    entityIds: [entity.id],
    imageSha256s: imagesWithVectors([entity]),
  });
  return removed;
}

/** Deletes the entity with every relationship it has; returns whether it existed and the images it orphaned. */
export async function deleteEntity(
  tx: Tx,
  id: string,
): Promise<{ deleted: boolean; removedImages: string[] }> {
  const rows = await tx.query<{ images: string[] }>(
    `MATCH (e:Entity {id: $id})
     OPTIONAL MATCH (e)-[:HAS_IMAGE]->(i:Image)
     WITH e, collect(i.sha256) AS images
     DETACH DELETE e
     RETURN images`,
    { id },
  );
  const row = rows[0];
  if (!row) return { deleted: false, removedImages: [] };
  const removedImages = await deleteOrphanedImages(tx, row.images);
  await recordVectorChanges(tx, { deletedIds: [id] });
  return { deleted: true, removedImages };
}

async function deleteOrphanedImages(tx: Tx, candidates: readonly string[]): Promise<string[]> {
  if (candidates.length === 0) return [];
  const rows = await tx.query<{ removed: string[] }>(DELETE_ORPHANED_IMAGES, { candidates });
  return rows[0]?.removed ?? [];
}

export interface EntityPageQuery {
  readonly domain: string | null;
  readonly afterId: string | null;
  readonly first: number;
}

/** Keyset pagination in id order, served by the uniqueness constraint's index. */
export async function listEntities(
  tx: Tx,
  query: EntityPageQuery,
): Promise<{ entities: EntityRecord[]; hasNextPage: boolean }> {
  const rows = await tx.query<{ entity: EntityRecord }>(
    `MATCH (e:Entity)
     WHERE ($domain IS NULL OR e.domain = $domain) AND ($afterId IS NULL OR e.id > $afterId)
     RETURN ${ENTITY_FIELDS} AS entity
     ORDER BY e.id
     LIMIT toInteger($limit)`,
    { domain: query.domain, afterId: query.afterId, limit: query.first + 1 },
  );
  const entities = rows.map((row) => row.entity);
  return { entities: entities.slice(0, query.first), hasNextPage: entities.length > query.first };
}

export async function countEntities(tx: Tx, domain: string | null): Promise<number> {
  const rows = await tx.query<{ total: number }>(
    'MATCH (e:Entity) WHERE $domain IS NULL OR e.domain = $domain RETURN count(e) AS total',
    { domain },
  );
  return rows[0]?.total ?? 0;
}

export async function listDomains(tx: Tx): Promise<{ domain: string; entityCount: number }[]> {
  return tx.query<{ domain: string; entityCount: number }>(
    'MATCH (e:Entity) RETURN e.domain AS domain, count(e) AS entityCount ORDER BY domain',
  );
}

export async function findImagesByEntityIds(
  tx: Tx,
  ids: readonly string[],
): Promise<Map<string, ImageRecord[]>> {
  const rows = await tx.query<{ id: string; images: ImageRecord[] }>(
    `MATCH (e:Entity) WHERE e.id IN $ids
     OPTIONAL MATCH (e)-[r:HAS_IMAGE]->(i:Image)
     WITH e, r, i ORDER BY r.position
     RETURN e.id AS id, collect(${IMAGE_FIELDS}) AS images`,
    { ids },
  );
  return new Map(rows.map((row) => [row.id, row.images]));
}

export async function findImagesBySha256(
  tx: Tx,
  hashes: readonly string[],
): Promise<ImageRecord[]> {
  const rows = await tx.query<{ image: ImageRecord }>(
    `MATCH (i:Image) WHERE i.sha256 IN $hashes RETURN ${IMAGE_FIELDS} AS image`,
    { hashes },
  );
  return rows.map((row) => row.image);
}

export interface StoredImageVector {
  /** The fingerprint of the weights behind the stored vector (null: none yet). */
  readonly imageEncoder: string | null;
  /** The stored vector when `imageEncoder` is the fingerprint asked about, else null. */
  readonly embedding: number[] | null;
}

/** What is stored of each image's vector (images not in the graph are absent from the map). */
export async function findImageVectors(
  tx: Tx,
  hashes: readonly string[],
  fingerprint: string,
): Promise<Map<string, StoredImageVector>> {
  if (hashes.length === 0) return new Map();
  const rows = await tx.query<{
    sha256: string;
    imageEncoder: string | null;
    embedding: number[] | null;
  }>(
    `MATCH (i:Image) WHERE i.sha256 IN $hashes
     RETURN i.sha256 AS sha256, i.imageEncoder AS imageEncoder,
            CASE WHEN i.imageEncoder = $fingerprint THEN i.embedding END AS embedding`,
    { hashes, fingerprint },
  );
  return new Map(
    rows.map(({ sha256, imageEncoder, embedding }) => [sha256, { imageEncoder, embedding }]),
  );
}

export interface ScoredEntity<E = EntityRecord> {
  readonly entity: E;
  readonly score: number;
}

/**
 * Lucene (BM25) search over one of the full-text indexes created by the migrations. The index can
 * still yield a node that a concurrent transaction deleted (read committed); such a node has no
 * properties left, and a null name once crashed the rules and the gazetteer (found by
 * bench/security/load-fault.ts), so nodes without an id or name are skipped here and in
 * `findEntityNamesByWords`.
 */
export async function searchFullText<E = EntityRecord>(
  tx: Tx,
  index: 'entity_text' | 'entity_names',
  luceneQuery: string,
  options: { limit: number; domain: string | null; projection?: EntityProjection<E> },
): Promise<ScoredEntity<E>[]> {
  const projection = options.projection ?? (ENTITY_RECORD as EntityProjection<unknown>);
  return tx.query<{ entity: E; score: number }>(
    `CALL db.index.fulltext.queryNodes($index, $luceneQuery, {limit: toInteger($fetch)})
     YIELD node AS e, score
     WHERE e.id IS NOT NULL AND e.name IS NOT NULL AND ($domain IS NULL OR e.domain = $domain)
     RETURN ${projection.cypher} AS entity, score
     ORDER BY score DESC, e.id
     LIMIT toInteger($limit)`,
    {
      index,
      luceneQuery,
      domain: options.domain,
      limit: options.limit,
      // With a domain filter the index cannot filter, so fetch more before filtering.
      fetch: options.domain === null ? options.limit : options.limit * 5,
    },
  );
}

/** One search of `searchFullTextMany`; a null query finds nothing (and costs nothing). */
export interface FullTextSearch {
  readonly luceneQuery: string | null;
  readonly limit: number;
  readonly domain: string | null;
}

/**
 * `searchFullText` for several queries on one index in one Cypher call (issue 13: one round trip
 * for a `linkImage` request's mentions): list i is exactly what `searchFullText` gives for search
 * i (same hits, scores and order), each query run by its own subquery.
 */
export async function searchFullTextMany<E = EntityRecord>(
  tx: Tx,
  index: 'entity_text' | 'entity_names',
  searches: readonly FullTextSearch[],
  projection?: EntityProjection<E>,
): Promise<ScoredEntity<E>[][]> {
  const lists: ScoredEntity<E>[][] = searches.map(() => []);
  const queries = searches.flatMap((search, i) =>
    search.luceneQuery
      ? [
          {
            i,
            luceneQuery: search.luceneQuery,
            domain: search.domain,
            limit: search.limit,
            // With a domain filter the index cannot filter, so fetch more before filtering.
            fetch: search.domain === null ? search.limit : search.limit * 5,
          },
        ]
      : [],
  );
  const cypher = (projection ?? (ENTITY_RECORD as EntityProjection<unknown>)).cypher;
  // LIMIT takes no variables, so one call per distinct limit (a request's searches share one).
  for (const limit of new Set(queries.map((query) => query.limit))) {
    const rows = await tx.query<{ i: number; entity: E; score: number }>(
      `UNWIND $queries AS q
       CALL (q) {
         CALL db.index.fulltext.queryNodes($index, q.luceneQuery, {limit: toInteger(q.fetch)})
         YIELD node AS e, score
         WHERE e.id IS NOT NULL AND e.name IS NOT NULL AND (q.domain IS NULL OR e.domain = q.domain)
         RETURN ${cypher} AS entity, score
         ORDER BY score DESC, e.id
         LIMIT toInteger($limit)
       }
       RETURN q.i AS i, entity, score`,
      { index, limit, queries: queries.filter((query) => query.limit === limit) },
    );
    // Rows come out per query, in the subquery's order.
    for (const { i, entity, score } of rows) lists[i]!.push({ entity, score });
  }
  return lists;
}

/** An entity's id and the names it is known by: enough to find those names in a text. */
export interface EntityNames {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
}

/**
 * Entities whose name, aliases or initialisms share a word with a Lucene query on the
 * `entity_names` index (BM25, best first), with their names only: the pool in which the mention
 * gazetteer looks for names that occur in a caption.
 */
export async function findEntityNamesByWords(
  tx: Tx,
  luceneQuery: string,
  options: { limit: number; domain: string | null },
): Promise<EntityNames[]> {
  const rows = await tx.query<{ id: string | null; name: string | null; aliases: string[] }>(
    `CALL db.index.fulltext.queryNodes('entity_names', $luceneQuery, {limit: toInteger($fetch)})
     YIELD node AS e, score
     WHERE e.id IS NOT NULL AND e.name IS NOT NULL AND ($domain IS NULL OR e.domain = $domain)
     RETURN e.id AS id, e.name AS name, coalesce(e.aliases, []) AS aliases
     ORDER BY score DESC, e.id
     LIMIT toInteger($limit)`,
    {
      luceneQuery,
      domain: options.domain,
      limit: options.limit,
      // With a domain filter the index cannot filter, so fetch more before filtering.
      fetch: options.domain === null ? options.limit : options.limit * 5,
    },
  );
  // A node deleted between the filter and the projection reads back without properties.
  return rows.flatMap(({ id, name, aliases }) =>
    id !== null && name !== null ? [{ id, name, aliases }] : [],
  );
}
