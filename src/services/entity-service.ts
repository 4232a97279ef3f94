import type { Config } from '../config.js';
import {
  AppError,
  BadInputError,
  ConflictError,
  NotFoundError,
  UniquenessViolationError,
} from '../errors.js';
import { initialism } from '../candidates/text-normalize.js';
import { inspectImage, type InspectedImage } from '../images/image-decoding.js';
import type { ImageSource } from '../images/image-source.js';
import { isSha256Hex, readIfStored, sha256Hex, type ImageStore } from '../images/image-store.js';
import type { Graph, Tx } from '../neo4j/driver.js';
import * as entities from '../neo4j/entity-repository.js';
import type { EntityRecord, EntityWrite, ImageRecord } from '../neo4j/entity-repository.js';
import type { Logger } from '../logger.js';
import type { EntityEncoders } from '../inference/encoders.js';
import type { ImageReader } from './image-reader.js';
import {
  entityContentHash,
  normalizeEntityFields,
  normalizeEntityId,
  type EntityFields,
} from './entity-input.js';
import {
  entityCandidateVectors,
  entityTextVectors,
  imageVectors as vectorsOfImage,
} from './entity-vectors.js';

export interface EntityInput extends EntityFields {
  readonly id: string;
  readonly images?: readonly ImageSource[] | null;
}

export interface EntityPatch extends Partial<EntityFields> {
  readonly images?: readonly ImageSource[] | null;
}

export type RegistrationStatus = 'CREATED' | 'UNCHANGED';

export interface RegistrationResult {
  readonly entity: EntityRecord;
  readonly status: RegistrationStatus;
}

type PreparedImage = Omit<ImageRecord, 'createdAt'> & {
  /** Bytes the client sent (null: an image already stored, referenced by hash or kept). */
  readonly bytes: Uint8Array | null;
  /** The bytes to put the file back from after the commit (see ImageStore.removeUnreferenced). */
  readonly fileBytes: Uint8Array | null;
};

export interface EntityServiceDeps {
  readonly graph: Graph;
  readonly imageStore: ImageStore;
  readonly imageReader: ImageReader;
  readonly config: Pick<Config, 'images' | 'limits'>;
  /** Where this service's GET /images/:sha256 is reachable from outside. */
  readonly publicBaseUrl: string;
  readonly logger: Logger;
  /** Null when the service runs without a model bundle: vectors are then computed later. */
  readonly encoders: EntityEncoders | null;
  /**
   * Called once a write committed: the in-process vector index applies it before the mutation
   * returns (src/vectors/vector-sync.ts). Never throws (a failure is logged and left to the poll).
   * Absent when dense retrieval runs in Neo4j.
   */
  readonly vectorsWritten?: () => Promise<void>;
}

function describeImage(entityId: string, index: number): string {
  return `images[${index}] of entity "${entityId}"`;
}

/** Registration, update and deletion of entities: validation, image storage, and one transaction per call. */
export class EntityService {
  constructor(private readonly deps: EntityServiceDeps) {}

  imageUrl(sha256: string): string {
    return `${this.deps.publicBaseUrl}/images/${sha256}`;
  }

  async register(input: EntityInput, signal?: AbortSignal): Promise<RegistrationResult> {
    const [result] = await this.registerMany([input], signal);
    if (!result) throw new Error('registerMany returned no result for one input');
    return result;
  }

  /**
   * All-or-nothing: every image is decoded and checked before anything is written, and all
   * entities are created in one transaction. Content identical to what is stored is a no-op.
   * `signal` (the request's budget) is checked between images and before anything is written.
   */
  async registerMany(
    inputs: readonly EntityInput[],
    signal?: AbortSignal,
  ): Promise<RegistrationResult[]> {
    const { maxBatchSize } = this.deps.config.limits;
    if (inputs.length === 0)
      throw new BadInputError('inputs must not be empty', { field: 'inputs' });
    if (inputs.length > maxBatchSize) {
      throw new BadInputError(`At most ${maxBatchSize} entities per call`, { field: 'inputs' });
    }
    const prepared = await this.prepareWrites(inputs, signal);
    const storedHashes = await this.deps.graph.read('registerEntities.check', (tx) =>
      entities.findContentHashes(
        tx,
        prepared.map((entry) => entry.write.id),
      ),
    );
    // Identical content is a no-op: do not spend model time on it.
    const unchanged = new Set(
      prepared
        .filter((entry) => storedHashes.get(entry.write.id) === entry.write.contentHash)
        .map((entry) => entry.write.id),
    );
    const writes = await this.addVectors(prepared, unchanged);
    signal?.throwIfAborted();
    const images = prepared.flatMap((entry) => entry.images);
    const newlyStored = await this.storeImageBytes(images);
    let results: RegistrationResult[];
    try {
      results = await this.writeWithRaceRetry(() =>
        this.deps.graph.write('registerEntities', (tx) => this.createOrConfirm(tx, writes)),
      );
    } catch (error) {
      await this.discardUnreferencedImages(newlyStored);
      throw error;
    }
    if (results.some((result) => result.status === 'CREATED')) await this.deps.vectorsWritten?.();
    await this.ensureImageFiles(images);
    return results;
  }

  async update(rawId: string, patch: EntityPatch, signal?: AbortSignal): Promise<EntityRecord> {
    const id = normalizeEntityId(rawId);
    const current = await this.deps.graph.read('updateEntity.load', async (tx) => {
      const [entity] = await entities.findEntitiesByIds(tx, [id]);
      const images = (await entities.findImagesByEntityIds(tx, [id])).get(id) ?? [];
      return entity ? { entity, images } : null;
    });
    if (!current) throw new NotFoundError('Entity', id);
    const fields = normalizeEntityFields({
      name: patch.name ?? current.entity.name,
      aliases: patch.aliases ?? current.entity.aliases,
      description: patch.description ?? current.entity.description,
      domain: patch.domain ?? current.entity.domain,
      tags: patch.tags ?? current.entity.tags,
    });
    const images =
      patch.images === undefined || patch.images === null
        ? current.images.map((image) => ({ ...image, bytes: null, fileBytes: null }))
        : await this.prepareImages(id, patch.images, signal);
    const [write] = await this.addVectors(
      [{ write: this.toWrite(id, fields, images), images }],
      new Set(),
    );
    if (!write) throw new Error('addVectors dropped the entity being updated');
    signal?.throwIfAborted();
    const newlyStored = await this.storeImageBytes(images);
    let removedImages: string[];
    try {
      removedImages = await this.deps.graph.write('updateEntity', async (tx) => {
        const [exists] = await entities.findEntitiesByIds(tx, [id]);
        if (!exists) throw new NotFoundError('Entity', id);
        return entities.replaceEntity(tx, write);
      });
    } catch (error) {
      await this.discardUnreferencedImages(newlyStored);
      throw error;
    }
    await this.deps.vectorsWritten?.();
    await this.ensureImageFiles(images);
    await this.removeImageFiles(removedImages);
    const [updated] = await this.deps.graph.read('updateEntity.reload', (tx) =>
      entities.findEntitiesByIds(tx, [id]),
    );
    if (!updated) throw new NotFoundError('Entity', id);
    return updated;
  }

  async delete(rawId: string): Promise<{ id: string; removedImages: string[] }> {
    const id = normalizeEntityId(rawId);
    const result = await this.deps.graph.write('deleteEntity', (tx) =>
      entities.deleteEntity(tx, id),
    );
    if (!result.deleted) throw new NotFoundError('Entity', id);
    await this.deps.vectorsWritten?.();
    await this.removeImageFiles(result.removedImages);
    return { id, removedImages: result.removedImages };
  }

  private async prepareWrites(
    inputs: readonly EntityInput[],
    signal?: AbortSignal,
  ): Promise<{ write: EntityWrite; images: PreparedImage[] }[]> {
    const writesById = new Map<string, EntityWrite>();
    const prepared: { write: EntityWrite; images: PreparedImage[] }[] = [];
    for (const input of inputs) {
      const id = normalizeEntityId(input.id);
      const fields = normalizeEntityFields(input);
      const images = await this.prepareImages(id, input.images ?? [], signal);
      const write = this.toWrite(id, fields, images);
      const earlier = writesById.get(id);
      if (earlier) {
        if (earlier.contentHash !== write.contentHash) {
          throw new BadInputError(
            `Entity "${id}" appears twice in the batch with different content`,
            {
              field: 'id',
              id,
            },
          );
        }
        continue;
      }
      writesById.set(id, write);
      prepared.push({ write, images });
    }
    return prepared;
  }

  private toWrite(
    id: string,
    fields: ReturnType<typeof normalizeEntityFields>,
    images: readonly PreparedImage[],
  ): EntityWrite {
    const names = [fields.name, ...fields.aliases];
    const initialisms = [...new Set(names.flatMap((name) => initialism(name)))];
    return {
      id,
      ...fields,
      contentHash: entityContentHash(
        fields,
        images.map((image) => image.sha256),
      ),
      aliasText: fields.aliases.join(' | '),
      initialismText: initialisms.join(' '),
      textEmbedding: null,
      textEncoder: null,
      candidateVector: null,
      candidateModel: null,
      // Bytes stay out of the Cypher parameters: they live in the image store.
      images: images.map(({ bytes: _bytes, fileBytes: _fileBytes, ...record }) => ({
        ...record,
        embedding: null,
        robustEmbedding: null,
        imageEncoder: null,
      })),
    };
  }

  /**
   * Computes the cached vectors of entities about to be written: text vectors, vectors of images
   * the graph has no current vector for, and the linker's candidate vectors (from the entity's
   * text and its images' current vectors).
   */
  private async addVectors(
    entries: readonly { write: EntityWrite; images: readonly PreparedImage[] }[],
    unchanged: ReadonlySet<string>,
  ): Promise<EntityWrite[]> {
    const { text, image, candidate } = this.deps.encoders ?? {
      text: null,
      image: null,
      candidate: null,
    };
    const pending = entries.filter((entry) => !unchanged.has(entry.write.id));
    const textVectors = new Map<string, number[]>();
    if (text && pending.length > 0) {
      const encoded = await entityTextVectors(
        text,
        pending.map((entry) => entry.write),
      );
      pending.forEach((entry, index) => textVectors.set(entry.write.id, encoded[index]!));
    }
    // Vectors to write onto Image nodes, and every pending image's current vector (for candidates).
    const imageVectors = new Map<string, number[]>();
    const robustVectors = new Map<string, number[]>();
    const currentImageVectors = new Map<string, number[]>();
    if (image) {
      const images = new Map<string, Uint8Array | null>();
      for (const prepared of pending.flatMap((entry) => entry.images)) {
        if (!images.has(prepared.sha256) || prepared.bytes !== null) {
          images.set(prepared.sha256, prepared.bytes);
        }
      }
      const stored = await this.deps.graph.read('images.vectors', (tx) =>
        entities.findImageVectors(tx, [...images.keys()], image.fingerprint),
      );
      for (const [sha256, sent] of images) {
        const current = stored.get(sha256);
        if (current?.imageEncoder === image.fingerprint) {
          if (current.embedding) currentImageVectors.set(sha256, current.embedding);
          continue;
        }
        // A stored image with a stale vector is left to re-encoding, unless a candidate vector
        // needs it now: then it is encoded from the image store (and its vector refreshed).
        const bytes = sent ?? (candidate ? await readIfStored(this.deps.imageStore, sha256) : null);
        if (bytes === null) continue;
        const vectors = await vectorsOfImage(image, bytes);
        imageVectors.set(sha256, vectors.embedding);
        currentImageVectors.set(sha256, vectors.embedding);
        if (vectors.robust) robustVectors.set(sha256, vectors.robust);
      }
    }
    const candidateVectors = new Map<string, number[]>();
    if (candidate && pending.length > 0) {
      const encoded = await entityCandidateVectors(
        candidate,
        pending.map(({ write }) => ({
          name: write.name,
          description: write.description,
          images: write.images.map((record) => record.sha256),
        })),
        {
          vectorOf: (sha256) => currentImageVectors.get(sha256),
          onMissing: (index, sha256) =>
            this.deps.logger.warn(
              { entityId: pending[index]!.write.id, sha256 },
              'image without a current vector; its entity candidate vector leaves it out',
            ),
        },
      );
      pending.forEach((entry, index) => candidateVectors.set(entry.write.id, encoded[index]!));
    }
    return entries.map(({ write }) => ({
      ...write,
      textEmbedding: textVectors.get(write.id) ?? null,
      textEncoder: textVectors.has(write.id) ? (text?.fingerprint ?? null) : null,
      candidateVector: candidateVectors.get(write.id) ?? null,
      candidateModel: candidateVectors.has(write.id) ? (candidate?.fingerprint ?? null) : null,
      images: write.images.map((record) => ({
        ...record,
        embedding: imageVectors.get(record.sha256) ?? null,
        robustEmbedding: robustVectors.get(record.sha256) ?? null,
        imageEncoder: imageVectors.has(record.sha256) ? (image?.fingerprint ?? null) : null,
      })),
    }));
  }

  private async prepareImages(
    entityId: string,
    sources: readonly ImageSource[],
    signal?: AbortSignal,
  ): Promise<PreparedImage[]> {
    const { maxPerEntity } = this.deps.config.images;
    if (sources.length > maxPerEntity) {
      throw new BadInputError(
        `Entity "${entityId}" has ${sources.length} images; the limit is ${maxPerEntity}`,
        {
          field: 'images',
        },
      );
    }
    const prepared: PreparedImage[] = [];
    for (const [index, source] of sources.entries()) {
      signal?.throwIfAborted();
      try {
        prepared.push(await this.prepareImage(source));
      } catch (error) {
        if (error instanceof AppError) {
          const where = describeImage(entityId, index);
          const details = { ...error.extensions, entityId, imageIndex: index };
          throw new AppError(`${where}: ${error.message}`, error.code, details);
        }
        throw error;
      }
    }
    // The same image twice in one entity adds nothing; keep the first position.
    return prepared.filter(
      (image, index) => prepared.findIndex((other) => other.sha256 === image.sha256) === index,
    );
  }

  private async prepareImage(source: ImageSource): Promise<PreparedImage> {
    const limits = this.deps.config.images;
    if (source.kind === 'stored') {
      const sha256 = source.sha256.toLowerCase();
      if (!isSha256Hex(sha256))
        throw new BadInputError('sha256 must be 64 hex digits', { field: 'sha256' });
      const [stored] = await this.deps.graph.read('images.find', (tx) =>
        entities.findImagesBySha256(tx, [sha256]),
      );
      if (!stored) throw new NotFoundError('Image', sha256);
      // Kept to put the file back should a concurrent deletion remove it (ensureImageFiles).
      const fileBytes = await this.deps.imageStore.read(sha256).catch(() => null);
      return { ...stored, bytes: null, fileBytes };
    }
    const bytes = await this.deps.imageReader.readSent(source);
    const inspected: InspectedImage = await inspectImage(bytes, limits);
    const sha256 = sha256Hex(bytes);
    return {
      sha256,
      mime: inspected.mime,
      format: inspected.format,
      width: inspected.width,
      height: inspected.height,
      byteSize: bytes.byteLength,
      url: this.imageUrl(sha256),
      bytes,
      fileBytes: bytes,
    };
  }

  /** Writes bytes before the transaction: content-addressed files are harmless if it then fails. */
  private async storeImageBytes(images: readonly PreparedImage[]): Promise<string[]> {
    const newlyStored: string[] = [];
    for (const image of images) {
      if (image.bytes === null || (await this.deps.imageStore.has(image.sha256))) continue;
      await this.deps.imageStore.put(image.sha256, image.bytes);
      newlyStored.push(image.sha256);
    }
    return newlyStored;
  }

  /**
   * After the commit, puts back any file a concurrent deletion removed (it found the image
   * unreferenced before this transaction committed); the argument is at
   * ImageStore.removeUnreferenced. The write is committed, so a failure here is logged, not thrown.
   */
  private async ensureImageFiles(images: readonly PreparedImage[]): Promise<void> {
    for (const image of images) {
      if (image.fileBytes === null) continue;
      try {
        await this.deps.imageStore.put(image.sha256, image.fileBytes);
      } catch (error) {
        this.deps.logger.error(
          { err: error, sha256: image.sha256 },
          'could not put back the file of a committed image',
        );
      }
    }
  }

  private async createOrConfirm(
    tx: Tx,
    writes: readonly EntityWrite[],
  ): Promise<RegistrationResult[]> {
    const ids = writes.map((write) => write.id);
    const existing = await entities.findContentHashes(tx, ids);
    const statuses = new Map<string, RegistrationStatus>();
    const created: EntityWrite[] = [];
    for (const write of writes) {
      const storedHash = existing.get(write.id);
      if (storedHash === undefined) {
        created.push(write);
        statuses.set(write.id, 'CREATED');
      } else if (storedHash === write.contentHash) {
        statuses.set(write.id, 'UNCHANGED');
      } else {
        throw new ConflictError(
          `Entity "${write.id}" already exists with different content; use updateEntity to change it`,
          { id: write.id },
        );
      }
    }
    await entities.createEntities(tx, created);
    const records = new Map((await entities.findEntitiesByIds(tx, ids)).map((e) => [e.id, e]));
    return writes.map((write) => {
      const entity = records.get(write.id);
      if (!entity) throw new Error(`Entity ${write.id} vanished inside its own transaction`);
      return { entity, status: statuses.get(write.id) ?? 'UNCHANGED' };
    });
  }

  /**
   * Two concurrent registrations of one new id both see it absent; the loser hits the uniqueness
   * constraint. Running the loser again turns that into UNCHANGED (or a real content conflict).
   */
  private async writeWithRaceRetry<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof UniquenessViolationError) return write();
      throw error;
    }
  }

  /** Files this call wrote before a transaction that failed: removed unless an Image node uses them. */
  private async discardUnreferencedImages(hashes: readonly string[]): Promise<void> {
    await this.removeImageFiles(hashes);
  }

  /**
   * Removes files of images a committed transaction deleted, putting back any that an Image node
   * uses again by the time the file is gone (a concurrent registration of the same bytes).
   */
  private async removeImageFiles(hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    try {
      await this.deps.imageStore.removeUnreferenced(hashes, async (removed) => {
        const images = await this.deps.graph.read('images.find', (tx) =>
          entities.findImagesBySha256(tx, removed),
        );
        return new Set(images.map((image) => image.sha256));
      });
    } catch (error) {
      this.deps.logger.warn({ err: error, hashes }, 'could not remove orphaned image files');
    }
  }
}
