import type { MentionSource } from '../linking/mentions.js';
import type { RegionSource } from '../linking/regions.js';
import type { Tx } from './driver.js';
import { IMAGE_FIELDS, type ImageRecord } from './entity-repository.js';

/**
 * What `linkImage` writes and reads (issue 6):
 *
 *   (:LinkedImage {sha256, model, modelName, bundle, caption, task, nilThreshold, domain, linkedAt})
 *     -[:OF_IMAGE]->(:Image)
 *     -[:MENTIONS {triple, start, end, text, source, score, model}]->(:Entity)
 *     -[:DEPICTS {triple, x, y, width, height, label, source, regionScore, score, model}]->(:Entity)
 *     -[:HAS_FINDING]->(:Finding {triple, kind, text, start, end, mentionSource,
 *                                 x, y, width, height, label, regionSource, regionScore, score, model})
 *
 * A LinkedImage is one query image linked by one linker version (`model`, the linker's
 * fingerprint). `triple` is the index of the triple in the `linkImage` answer, so a pair's MENTIONS
 * and DEPICTS can be told apart from two lone links to the same entity.
 *
 * NIL sides become Finding nodes rather than relationships to nothing: a relationship needs an end
 * node, and a placeholder "NIL" entity would join every unknown thing of every image into one
 * node. A Finding keeps the span and/or box, so a person can see what the graph lacks, register
 * it, and link the image again.
 */

export interface StoredMention {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly source: MentionSource;
}

export interface StoredRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly label: string | null;
  readonly source: RegionSource;
  /** The proposing model's confidence; null for a given box. */
  readonly score: number | null;
}

/** One side of a triple that links to an entity. */
export interface StoredLink {
  readonly triple: number;
  readonly kind: 'MENTION' | 'REGION';
  readonly entityId: string;
  readonly score: number;
  readonly mention: StoredMention | null;
  readonly region: StoredRegion | null;
}

/** A NIL triple: what was seen, linked to nothing in the graph. */
export interface StoredFinding {
  readonly triple: number;
  readonly kind: 'MENTION' | 'REGION' | 'PAIR';
  /** The best candidate's score (below the threshold); null when there was no candidate. */
  readonly score: number | null;
  readonly mention: StoredMention | null;
  readonly region: StoredRegion | null;
}

export interface LinkedImageHeader {
  readonly sha256: string;
  /** The linker's fingerprint (`linker:<sha16>`). */
  readonly model: string;
  /** The linker's name@version. */
  readonly modelName: string;
  readonly bundle: string;
  readonly caption: string;
  readonly task: string;
  readonly nilThreshold: number | null;
  readonly domain: string | null;
}

export interface LinkedImageRecord extends LinkedImageHeader {
  readonly linkedAt: string;
  readonly image: ImageRecord | null;
  /** By triple, mention before region. */
  readonly links: readonly StoredLink[];
  readonly findings: readonly StoredFinding[];
}

/** The query image's node, created when the image is not stored yet. */
export type QueryImageWrite = Omit<ImageRecord, 'createdAt'>;

export interface LinkedImageWrite extends LinkedImageHeader {
  readonly image: QueryImageWrite;
  readonly links: readonly StoredLink[];
  readonly findings: readonly StoredFinding[];
}

/** An entity's cached candidate vector, with the content hash it was read with. */
export interface StoredCandidateVector {
  readonly id: string;
  readonly contentHash: string;
  readonly vector: Float32Array;
}

/** Cached candidate vectors of entities, made by the linker asked about. */
export interface CandidateVectors {
  readonly vectors: readonly StoredCandidateVector[];
  /** Ids asked about whose vector is missing or was made by another linker (or that are gone). */
  readonly stale: readonly string[];
}

/** One query for the candidates of a request: their cached `Entity.candidateVector`s. */
export async function findCandidateVectors(
  tx: Tx,
  ids: readonly string[],
  fingerprint: string,
): Promise<CandidateVectors> {
  if (ids.length === 0) return { vectors: [], stale: [] };
  const rows = await tx.query<{ id: string; contentHash: string; vector: number[] | null }>(
    `MATCH (e:Entity) WHERE e.id IN $ids
     RETURN e.id AS id, coalesce(e.contentHash, '') AS contentHash,
            CASE WHEN e.candidateModel = $fingerprint THEN e.candidateVector END AS vector`,
    { ids, fingerprint },
  );
  const vectors = rows.flatMap(({ id, contentHash, vector }) =>
    vector ? [{ id, contentHash, vector: Float32Array.from(vector) }] : [],
  );
  const found = new Set(vectors.map((v) => v.id));
  return { vectors, stale: ids.filter((id) => !found.has(id)) };
}

const LINK_PROPERTIES = `{
  triple: toInteger(link.triple), score: link.score, model: $model,
  start: toInteger(link.mention.start), end: toInteger(link.mention.end),
  text: link.mention.text, source: coalesce(link.mention.source, link.region.source),
  x: link.region.x, y: link.region.y, width: link.region.width, height: link.region.height,
  label: link.region.label, regionScore: link.region.score
}`;

/** A subquery of `writeLinkedImage`: `type` links from `l` to the entities in `$param`, counted. */
function createLinks(param: string, type: 'MENTIONS' | 'DEPICTS', written: string): string {
  return `CALL {
       WITH l
       UNWIND $${param} AS link
       MATCH (e:Entity {id: link.entityId})
       CREATE (l)-[:${type} ${LINK_PROPERTIES}]->(e)
       RETURN count(*) AS ${written}
     }`;
}

/**
 * Writes one linked image inside the caller's transaction: the query image's node (if new), the
 * LinkedImage of this image and model (MERGE: the same image and model replace their previous
 * links and findings, so re-linking is idempotent), its links and its findings. Returns when it
 * was linked and the image node. Links to entities deleted meanwhile are dropped (counted).
 */
export async function writeLinkedImage(
  tx: Tx,
  write: LinkedImageWrite,
): Promise<{ linkedAt: string; image: ImageRecord; droppedLinks: number }> {
  const { image, links, findings, ...header } = write;
  // One statement, so one round trip before the commit (it was six): the subqueries run in
  // order for the one LinkedImage row, the old links and findings deleted before the new ones
  // are created. A unit subquery (no RETURN) keeps the row however many rows it touched.
  const [row] = await tx.query<{ linkedAt: string; image: ImageRecord; written: number }>(
    `MERGE (i:Image {sha256: $image.sha256})
     ON CREATE SET i.mime = $image.mime, i.format = $image.format,
                   i.width = toInteger($image.width), i.height = toInteger($image.height),
                   i.byteSize = toInteger($image.byteSize), i.url = $image.url, i.createdAt = datetime()
     MERGE (l:LinkedImage {sha256: $header.sha256, model: $header.model})
     SET l += $header, l.linkedAt = datetime()
     MERGE (l)-[:OF_IMAGE]->(i)
     WITH i, l
     CALL { WITH l MATCH (l)-[old:MENTIONS|DEPICTS]->() DELETE old }
     CALL { WITH l MATCH (l)-[:HAS_FINDING]->(f:Finding) DETACH DELETE f }
     ${createLinks('mentionLinks', 'MENTIONS', 'mentionsWritten')}
     ${createLinks('regionLinks', 'DEPICTS', 'regionsWritten')}
     CALL {
       WITH l
       UNWIND $findings AS finding
       CREATE (l)-[:HAS_FINDING]->(:Finding {
         triple: toInteger(finding.triple), kind: finding.kind, score: finding.score, model: $model,
         start: toInteger(finding.mention.start), end: toInteger(finding.mention.end),
         text: finding.mention.text, mentionSource: finding.mention.source,
         x: finding.region.x, y: finding.region.y,
         width: finding.region.width, height: finding.region.height,
         label: finding.region.label, regionSource: finding.region.source,
         regionScore: finding.region.score
       })
     }
     RETURN toString(l.linkedAt) AS linkedAt, ${IMAGE_FIELDS} AS image,
            mentionsWritten + regionsWritten AS written`,
    {
      image,
      header,
      model: header.model,
      mentionLinks: links.filter((link) => link.kind === 'MENTION'),
      regionLinks: links.filter((link) => link.kind === 'REGION'),
      findings,
    },
  );
  if (!row) throw new Error('The LinkedImage MERGE returned no row');
  return { linkedAt: row.linkedAt, image: row.image, droppedLinks: links.length - row.written };
}

/** Map projection of a LinkedImage bound to `l`, with its image, links and findings. */
const LINKED_IMAGE_FIELDS = `l {
  .sha256, .model, .modelName, .bundle, .caption, .task, .nilThreshold, .domain,
  linkedAt: toString(l.linkedAt),
  image: head([(l)-[:OF_IMAGE]->(i:Image) | ${IMAGE_FIELDS}]),
  links: [(l)-[r:MENTIONS|DEPICTS]->(e:Entity) | r { .*, kind: type(r), entityId: e.id }],
  findings: [(l)-[:HAS_FINDING]->(f:Finding) | f { .* }]
}`;

interface RawLinkedImage extends LinkedImageHeader {
  readonly linkedAt: string;
  readonly image: ImageRecord | null;
  readonly links: readonly Record<string, unknown>[];
  readonly findings: readonly Record<string, unknown>[];
}

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' ? value : null);
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function mentionOf(props: Record<string, unknown>, sourceKey: string): StoredMention | null {
  const { start, end, text } = props;
  if (typeof start !== 'number' || typeof end !== 'number' || typeof text !== 'string') return null;
  // Written from a LinkMention's source; the GraphQL enum refuses anything else, as before.
  const source = (stringOrNull(props[sourceKey]) ?? 'GIVEN') as MentionSource;
  return { start, end, text, source };
}

function regionOf(props: Record<string, unknown>, sourceKey: string): StoredRegion | null {
  const { x, y, width, height } = props;
  if (![x, y, width, height].every((value) => typeof value === 'number')) return null;
  return {
    x: x as number,
    y: y as number,
    width: width as number,
    height: height as number,
    label: stringOrNull(props.label),
    // Written from a LinkRegion's source; the GraphQL enum refuses anything else, as before.
    source: (stringOrNull(props[sourceKey]) ?? 'GIVEN') as RegionSource,
    score: numberOrNull(props.regionScore),
  };
}

function toRecord(raw: RawLinkedImage): LinkedImageRecord {
  const links: StoredLink[] = raw.links.map((props) => {
    const kind = props.kind === 'MENTIONS' ? 'MENTION' : 'REGION';
    return {
      triple: Number(props.triple),
      kind,
      entityId: String(props.entityId),
      score: Number(props.score),
      mention: kind === 'MENTION' ? mentionOf(props, 'source') : null,
      region: kind === 'REGION' ? regionOf(props, 'source') : null,
    };
  });
  const findings: StoredFinding[] = raw.findings.map((props) => ({
    triple: Number(props.triple),
    kind: props.kind as StoredFinding['kind'],
    score: numberOrNull(props.score),
    mention: mentionOf(props, 'mentionSource'),
    region: regionOf(props, 'regionSource'),
  }));
  return {
    ...raw,
    nilThreshold: raw.nilThreshold ?? null,
    domain: raw.domain ?? null,
    links: links.sort((a, b) => a.triple - b.triple || (a.kind === 'MENTION' ? -1 : 1)),
    findings: findings.sort((a, b) => a.triple - b.triple),
  };
}

/** The linked image of one image and model; with no model, the most recently linked one. */
export async function findLinkedImage(
  tx: Tx,
  key: { sha256: string; model: string | null },
): Promise<LinkedImageRecord | null> {
  const [row] = await tx.query<{ linked: RawLinkedImage }>(
    `MATCH (l:LinkedImage {sha256: $sha256})
     WHERE $model IS NULL OR l.model = $model
     RETURN ${LINKED_IMAGE_FIELDS} AS linked
     ORDER BY l.linkedAt DESC, l.model
     LIMIT 1`,
    key,
  );
  return row ? toRecord(row.linked) : null;
}

/**
 * Per entity, the linked images with a MENTIONS or DEPICTS link to it, most recently linked
 * first, at most `first` each; entities without any are absent from the map.
 */
export async function findLinkedImagesOfEntities(
  tx: Tx,
  query: { ids: readonly string[]; first: number },
): Promise<Map<string, LinkedImageRecord[]>> {
  if (query.ids.length === 0) return new Map();
  const rows = await tx.query<{ id: string; linked: RawLinkedImage[] }>(
    `UNWIND $ids AS id
     MATCH (e:Entity {id: id})
     CALL (e) {
       MATCH (l:LinkedImage)-[:MENTIONS|DEPICTS]->(e)
       WITH DISTINCT l
       ORDER BY l.linkedAt DESC, l.sha256, l.model
       LIMIT toInteger($first)
       RETURN collect(${LINKED_IMAGE_FIELDS}) AS linked
     }
     RETURN id, linked`,
    query,
  );
  return new Map(rows.map((row) => [row.id, row.linked.map(toRecord)]));
}
