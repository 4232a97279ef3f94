import { clipBox, type PixelBox } from '../geometry/box.js';
import type { Config } from '../config.js';
import { BadInputError } from '../errors.js';
import { anyTermQuery } from '../candidates/lucene.js';
import { mergeCandidates, type DenseHits, type MergedCandidate } from '../candidates/merge.js';
import { matchRules } from '../candidates/rules.js';
import { contentTokens, foldText, initialism, tokenize } from '../candidates/text-normalize.js';
import { imageDimensions } from '../images/image-decoding.js';
import type { Graph } from '../neo4j/driver.js';
import {
  ENTITY_KEY,
  ENTITY_RECORD,
  findEntitiesAs,
  searchFullText,
  searchFullTextMany,
  type ScoredEntity,
  type EntityKey,
  type EntityProjection,
  type EntityRecord,
} from '../neo4j/entity-repository.js';
import { searchEntityImages, searchEntityText } from '../neo4j/vector-repository.js';
import type { EntityEncoders } from '../inference/encoders.js';
import type { DenseHit, VectorKind } from '../vectors/dense-index.js';
import type { DenseSearch } from '../vectors/vector-sync.js';
import type { Tx } from '../neo4j/driver.js';

export interface CandidateQuery {
  readonly mention?: string | null;
  /** An image (or a box of it) to find entities by their images. */
  readonly image?: { readonly bytes: Uint8Array; readonly box?: PixelBox | null } | null;
  readonly limit?: number | null;
  readonly domain?: string | null;
}

export type Candidate = MergedCandidate<EntityRecord>;

export interface PreparedCandidateQuery {
  /** Trimmed; '' for an image-only query. */
  readonly mention: string;
  /** `encodeQuery(mention)` of the bundle's text encoder; null: no dense text retrieval. */
  readonly textVector: Float32Array | null;
  /** The image encoder's vector of the image or box; null: no dense image retrieval. */
  readonly imageVector: Float32Array | null;
  /** Its style-robust vector (`ImageVectorEncoder.encodeImageVectors`); null or absent: none searched. */
  readonly robustImageVector?: Float32Array | null;
  readonly limit: number;
  readonly domain: string | null;
}

const MAX_MENTION_LENGTH = 500;
const DEFAULT_LIMIT = 20;
/** How many name matches the rules may inspect per mention; rules are cheap, the pool is the cost. */
const RULE_POOL_SIZE = 200;

/** Turns Neo4j's vector score, (1 + cos) / 2, back into the cosine. */
function cosineOf(score: number): number {
  return 2 * score - 1;
}

/**
 * Candidate generation (Zheng et al. 2022, section 4.3): BM25 over names, aliases and descriptions,
 * the shared-words, containment and acronym rules on a pool drawn from the names index, and, when
 * a model bundle is loaded, dense retrieval by text vector and by image vector.
 */
export class CandidateService {
  constructor(
    private readonly graph: Graph,
    private readonly limits: Config['limits'],
    private readonly encoders: EntityEncoders | null,
    /** The in-process vector index (POLYLINK_VECTOR_SEARCH=memory); null: Neo4j's vector indexes. */
    private readonly dense: DenseSearch | null = null,
  ) {}

  async generate(query: CandidateQuery): Promise<Candidate[]> {
    const mention = query.mention?.trim() ?? '';
    if (mention === '' && !query.image) {
      throw new BadInputError('Give a mention, an image, or both', { field: 'mention' });
    }
    if (mention.length > MAX_MENTION_LENGTH) {
      throw new BadInputError(`mention must have at most ${MAX_MENTION_LENGTH} characters`, {
        field: 'mention',
      });
    }
    const limit = query.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > this.limits.maxCandidates) {
      throw new BadInputError(`limit must be between 1 and ${this.limits.maxCandidates}`, {
        field: 'limit',
      });
    }
    const textVector =
      mention !== '' && this.encoders?.text ? await this.encoders.text.encodeQuery(mention) : null;
    const box = query.image?.box ? await boxInImage(query.image.bytes, query.image.box) : null;
    const imageVectors =
      query.image && this.encoders?.image
        ? await this.encoders.image.encodeImageVectors(query.image.bytes, box ?? undefined)
        : null;
    const imageVector = imageVectors?.embedding ?? null;
    const robustImageVector = imageVectors?.robust ?? null;
    if (mention === '' && imageVector === null) {
      throw new BadInputError('Image search needs a model bundle with an image encoder', {
        field: 'image',
      });
    }
    return this.search({
      mention,
      textVector,
      imageVector,
      robustImageVector,
      limit,
      domain: query.domain ?? null,
    });
  }

  /**
   * `generate` with the query's vectors already computed (`linkImage` encodes each of a request's
   * mentions and regions once): the same lists `generate` gives for the same mention and image.
   * The caller checks the mention and the limit.
   */
  search(query: PreparedCandidateQuery): Promise<Candidate[]> {
    return this.searchAs(query, ENTITY_RECORD);
  }

  /**
   * `search` with each entity's key fields only (id, names, content hash), in the same order and
   * with the same scores: what `linkImage` needs, at a fraction of the cost at 1,000 candidates.
   */
  searchKeys(query: PreparedCandidateQuery): Promise<MergedCandidate<EntityKey>[]> {
    return this.searchAs(query, ENTITY_KEY);
  }

  /**
   * `searchKeys` for several queries (a `linkImage` request's mentions): the BM25 lists of all of
   * them in one Cypher call and the rule pools in another, in one read transaction, then each
   * one's dense lists (in process, or Neo4j's indexes in a second transaction). List i is exactly
   * `searchKeys(queries[i])`: same entities, order, scores and generators.
   *
   * `textVectors`, when given, stands for the queries' text vectors while the caller still
   * encodes them (list i gets vector i): the BM25 lists and rule pools need only the mention text,
   * so Neo4j answers them while ONNX Runtime encodes, and only the dense text lists wait.
   */
  searchKeysMany(
    queries: readonly PreparedCandidateQuery[],
    textVectors?: Promise<readonly (Float32Array | null)[]>,
  ): Promise<MergedCandidate<EntityKey>[][]> {
    return this.searchManyAs(queries, ENTITY_KEY, textVectors);
  }

  private async searchAs<E extends EntityKey>(
    query: PreparedCandidateQuery,
    projection: EntityProjection<E>,
  ): Promise<MergedCandidate<E>[]> {
    const { limit, domain } = query;
    const { textQuery, namesQuery } = fullTextQueries(query.mention);
    // In memory mode the k-NN runs here, before the transaction; its hits are key records.
    const inMemory = this.dense ? await this.searchInMemory(query) : null;
    if (!textQuery && !namesQuery && inMemory && isKeyProjection(projection)) {
      // A query without text (a region's image search) whose k-NN ran in process, asking for key
      // fields only, needs nothing from Neo4j: no transaction. In automatic mode that was an
      // empty round trip per region, two with the style-robust list.
      return merged(query, { bm25: [], pool: [], ...keyHits(inMemory) });
    }
    const found = await this.graph.read('candidates', async (tx) => ({
      bm25: textQuery
        ? await searchFullText(tx, 'entity_text', textQuery, { limit, domain, projection })
        : [],
      pool: namesQuery
        ? await searchFullText(tx, 'entity_names', namesQuery, {
            limit: RULE_POOL_SIZE,
            domain,
            projection,
          })
        : [],
      ...(await this.denseLists(tx, query, projection, inMemory)),
    }));
    return merged(query, found);
  }

  private async searchManyAs<E extends EntityKey>(
    queries: readonly PreparedCandidateQuery[],
    projection: EntityProjection<E>,
    textVectors?: Promise<readonly (Float32Array | null)[]>,
  ): Promise<MergedCandidate<E>[][]> {
    if (queries.length === 0) {
      await textVectors; // its failure is the caller's to hear of, not an unhandled rejection
      return [];
    }
    // Sent before anything is awaited, so the Cypher is on its way before the caller's encoder
    // takes the event loop's thread.
    const lexical = this.lexicalLists(queries, projection);
    const dense = (textVectors ?? Promise.resolve(queries.map((query) => query.textVector))).then(
      (vectors) =>
        this.denseListsMany(
          queries.map((query, i) => ({ ...query, textVector: vectors[i] ?? null })),
          projection,
        ),
    );
    // Both awaited together: a failure of either is reported, and neither is left unobserved.
    const [lexicalFound, denseFound] = await Promise.all([lexical, dense]);
    return queries.map((query, i) => merged(query, { ...lexicalFound[i]!, ...denseFound[i]! }));
  }

  /** The BM25 list and rule pool of every query: two Cypher calls in one read transaction. */
  private lexicalLists<E extends EntityKey>(
    queries: readonly PreparedCandidateQuery[],
    projection: EntityProjection<E>,
  ): Promise<{ bm25: ScoredEntity<E>[]; pool: ScoredEntity<E>[] }[]> {
    const texts = queries.map((query) => fullTextQueries(query.mention));
    return this.graph.read('candidates', async (tx) => {
      const bm25 = await searchFullTextMany(
        tx,
        'entity_text',
        queries.map(({ limit, domain }, i) => ({
          luceneQuery: texts[i]!.textQuery,
          limit,
          domain,
        })),
        projection,
      );
      const pool = await searchFullTextMany(
        tx,
        'entity_names',
        queries.map(({ domain }, i) => ({
          luceneQuery: texts[i]!.namesQuery,
          limit: RULE_POOL_SIZE,
          domain,
        })),
        projection,
      );
      return queries.map((_, i) => ({ bm25: bm25[i]!, pool: pool[i]! }));
    });
  }

  /**
   * Every query's three dense lists: in memory mode from the in-process index (key fields need no
   * transaction), else from Neo4j's vector indexes in one read transaction; none when no query
   * has a vector.
   */
  private async denseListsMany<E extends EntityKey>(
    queries: readonly PreparedCandidateQuery[],
    projection: EntityProjection<E>,
  ): Promise<DenseLists<E>[]> {
    const inMemory = this.dense
      ? await Promise.all(queries.map((query) => this.searchInMemory(query)))
      : null;
    if (inMemory && isKeyProjection(projection)) return inMemory.map((hits) => keyHits<E>(hits));
    const anyVector = queries.some(
      ({ textVector, imageVector, robustImageVector }) =>
        textVector !== null || imageVector !== null || (robustImageVector ?? null) !== null,
    );
    if (!anyVector)
      return queries.map(() => ({ denseText: [], denseImage: [], denseImageRobust: [] }));
    return this.graph.read('candidates.dense', async (tx) => {
      const lists = [];
      for (const [i, query] of queries.entries()) {
        lists.push(await this.denseLists(tx, query, projection, inMemory?.[i] ?? null));
      }
      return lists;
    });
  }

  /** A query's three dense lists: from the in-process hits when given, else Neo4j's indexes. */
  private async denseLists<E extends EntityKey>(
    tx: Tx,
    query: PreparedCandidateQuery,
    projection: EntityProjection<E>,
    inMemory: InMemoryHits | null,
  ): Promise<DenseLists<E>> {
    if (inMemory) return resolveHits(tx, inMemory, projection);
    const { textVector, imageVector, limit, domain } = query;
    const robustImageVector = query.robustImageVector ?? null;
    return {
      denseText:
        textVector && this.encoders?.text
          ? cosines(
              await searchEntityText(tx, {
                vector: Array.from(textVector),
                fingerprint: this.encoders.text.fingerprint,
                limit,
                domain,
                projection,
              }),
            )
          : [],
      denseImage:
        imageVector && this.encoders?.image
          ? cosines(
              await searchEntityImages(tx, {
                vector: Array.from(imageVector),
                fingerprint: this.encoders.image.fingerprint,
                limit,
                domain,
                projection,
              }),
            )
          : [],
      denseImageRobust:
        robustImageVector && this.encoders?.image?.robustDimension
          ? cosines(
              await searchEntityImages(tx, {
                index: 'imageRobust',
                vector: Array.from(robustImageVector),
                fingerprint: this.encoders.image.fingerprint,
                limit,
                domain,
                projection,
              }),
            )
          : [],
    };
  }

  /** The three dense lists from the in-process index (exact top-k; same filters as in Neo4j). */
  private async searchInMemory(query: PreparedCandidateQuery): Promise<InMemoryHits> {
    const dense = this.dense!;
    const { textVector, imageVector, limit, domain } = query;
    const robustImageVector = query.robustImageVector ?? null;
    const run = (kind: VectorKind, vector: Float32Array | null, enabled: boolean) =>
      vector && enabled ? dense.search(kind, { vector, limit, domain }) : Promise.resolve([]);
    const [denseText, denseImage, denseImageRobust] = await Promise.all([
      run('text', textVector, Boolean(this.encoders?.text)),
      run('image', imageVector, Boolean(this.encoders?.image)),
      run('imageRobust', robustImageVector, Boolean(this.encoders?.image?.robustDimension)),
    ]);
    return { denseText, denseImage, denseImageRobust };
  }
}

/** The Lucene queries of a mention: BM25 over `entity_text`, the rule pool over `entity_names`. */
function fullTextQueries(mention: string): {
  textQuery: string | null;
  namesQuery: string | null;
} {
  return {
    textQuery: anyTermQuery(tokenize(mention)),
    namesQuery: anyTermQuery([
      ...contentTokens(mention),
      ...initialism(mention),
      // A lone word may itself be an acronym ("NASA") stored among the initialisms.
      ...(tokenize(mention).length === 1 ? [foldText(mention)] : []),
    ]),
  };
}

/** One query's merged list from its BM25 hits, rule pool and dense lists. */
function merged<E extends EntityKey>(
  query: PreparedCandidateQuery,
  found: {
    bm25: readonly ScoredEntity<E>[];
    pool: readonly ScoredEntity<E>[];
    denseText: CosineHits<E>;
    denseImage: CosineHits<E>;
    denseImageRobust: CosineHits<E>;
  },
): MergedCandidate<E>[] {
  const rules = found.pool
    // A node deleted while the query ran can read back without its name (read committed).
    .filter(({ entity }) => typeof entity.name === 'string')
    .map(({ entity }) => ({
      entity,
      matches: matchRules(query.mention, [entity.name, ...entity.aliases]),
    }))
    .filter(({ matches }) => matches.length > 0);
  const dense: DenseHits<E>[] = [
    { generator: 'DENSE_TEXT', hits: found.denseText },
    { generator: 'DENSE_IMAGE', hits: found.denseImage },
    { generator: 'DENSE_IMAGE_ROBUST', hits: found.denseImageRobust },
  ];
  return mergeCandidates({ bm25: found.bm25, rules, dense }, (entity) => entity.id, query.limit);
}

interface InMemoryHits {
  readonly denseText: readonly DenseHit[];
  readonly denseImage: readonly DenseHit[];
  readonly denseImageRobust: readonly DenseHit[];
}

type CosineHits<E> = { entity: E; cosine: number }[];

/** A query's three dense lists, as cosines. */
interface DenseLists<E> {
  denseText: CosineHits<E>;
  denseImage: CosineHits<E>;
  denseImageRobust: CosineHits<E>;
}

function cosines<E>(hits: readonly { entity: E; score: number }[]): CosineHits<E> {
  return hits.map((hit) => ({ entity: hit.entity, cosine: cosineOf(hit.score) }));
}

/**
 * In-memory hits as records of the projection: the index holds the key fields, so `ENTITY_KEY`
 * (linkImage) needs no query; other projections are read by id in the candidates transaction,
 * which also drops an entity deleted since the index last heard of it.
 */
async function resolveHits<E extends EntityKey>(
  tx: Tx,
  hits: InMemoryHits,
  projection: EntityProjection<E>,
): Promise<DenseLists<E>> {
  const lists = [hits.denseText, hits.denseImage, hits.denseImageRobust];
  if (isKeyProjection(projection)) return keyHits<E>(hits);
  const ids = [...new Set(lists.flat().map((hit) => hit.entity.id))];
  const records = ids.length > 0 ? await findEntitiesAs(tx, ids, projection) : new Map<string, E>();
  return hitsAs(lists, records);
}

function isKeyProjection<E extends EntityKey>(projection: EntityProjection<E>): boolean {
  return (projection as EntityProjection<unknown>) === ENTITY_KEY;
}

/** In-memory hits as key records: the index holds the key fields, so no query is needed. */
function keyHits<E extends EntityKey>(hits: InMemoryHits): DenseLists<E> {
  // Each hit carries its entity's key record from the index: used as it is (1,000s per list).
  const asKeys = (list: readonly DenseHit[]): CosineHits<E> =>
    list.map((hit) => ({ entity: hit.entity as E, cosine: hit.cosine }));
  return {
    denseText: asKeys(hits.denseText),
    denseImage: asKeys(hits.denseImage),
    denseImageRobust: asKeys(hits.denseImageRobust),
  };
}

function hitsAs<E extends EntityKey>(
  lists: readonly (readonly DenseHit[])[],
  records: ReadonlyMap<string, E>,
): DenseLists<E> {
  const [denseText, denseImage, denseImageRobust] = lists.map((list) =>
    list.flatMap((hit) => {
      const entity = records.get(hit.entity.id);
      return entity ? [{ entity, cosine: hit.cosine }] : [];
    }),
  );
  return { denseText: denseText!, denseImage: denseImage!, denseImageRobust: denseImageRobust! };
}

/**
 * A box as `linkImage` takes one: finite, with a positive size, rounded and clipped to the image;
 * a box with nothing inside the image is refused rather than silently clamped to its edge.
 */
async function boxInImage(bytes: Uint8Array, box: PixelBox): Promise<PixelBox> {
  const { x, y, width, height } = box;
  if (![x, y, width, height].every(Number.isFinite) || !(width > 0 && height > 0)) {
    throw new BadInputError('box needs finite x, y and a positive width and height', {
      field: 'box',
    });
  }
  const size = await imageDimensions(bytes);
  const clipped = clipBox(box, size);
  if (!clipped) {
    throw new BadInputError(`box lies outside the ${size.width}x${size.height} image`, {
      field: 'box',
    });
  }
  return clipped;
}
