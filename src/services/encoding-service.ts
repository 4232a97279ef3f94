import { BadInputError, ImageError } from '../errors.js';
import { readIfStored, type ImageStore } from '../images/image-store.js';
import type { Logger } from '../logger.js';
import type { Graph } from '../neo4j/driver.js';
import * as vectors from '../neo4j/vector-repository.js';
import type { EntityEncoders, ImageVectorEncoder } from '../inference/encoders.js';
import {
  entityCandidateVectors,
  entityTextVectors,
  imageVectors,
  type StoredImageVectors,
} from './entity-vectors.js';

export type EncodingJobState = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface EncodingJob {
  readonly id: number;
  state: EncodingJobState;
  readonly batchSize: number;
  readonly startedAt: string;
  finishedAt: string | null;
  encodedEntities: number;
  encodedImages: number;
  /** Candidate vectors (the linker's) computed. */
  encodedCandidateVectors: number;
  /** Stale text vectors, images and candidate vectors when the job started: the denominator for progress. */
  readonly total: number;
  error: string | null;
}

export interface EncodingStatus {
  readonly bundleId: string | null;
  readonly textEncoder: string | null;
  readonly imageEncoder: string | null;
  /** The linker's fingerprint, which `Entity.candidateModel` must equal. */
  readonly candidateEncoder: string | null;
  readonly staleEntities: number;
  readonly staleImages: number;
  readonly staleCandidateVectors: number;
  readonly job: EncodingJob | null;
}

const DEFAULT_BATCH = 32;
const MAX_BATCH = 512;

/**
 * Keeps cached vectors in step with the active bundle. Re-encoding works in batches, each in its
 * own transaction, selecting whatever is still stale: an interrupted run resumes where it stopped,
 * and the service keeps answering meanwhile.
 */
export class EncodingService {
  private current: EncodingJob | null = null;
  private jobCount = 0;

  constructor(
    private readonly deps: {
      readonly graph: Graph;
      readonly encoders: EntityEncoders | null;
      readonly imageStore: ImageStore;
      readonly logger: Logger;
      /** Called after each committed batch of vectors (the in-process index, as EntityService); never throws. */
      readonly vectorsWritten?: () => Promise<void>;
    },
  ) {}

  private fingerprints() {
    return {
      text: this.deps.encoders?.text?.fingerprint ?? null,
      image: this.deps.encoders?.image?.fingerprint ?? null,
      candidate: this.deps.encoders?.candidate?.fingerprint ?? null,
    };
  }

  async status(): Promise<EncodingStatus> {
    const stale = await this.deps.graph.read('encoding.status', (tx) =>
      vectors.countStale(tx, this.fingerprints()),
    );
    return {
      bundleId: this.deps.encoders?.bundleId ?? null,
      textEncoder: this.fingerprints().text,
      imageEncoder: this.fingerprints().image,
      candidateEncoder: this.fingerprints().candidate,
      staleEntities: stale.entities,
      staleImages: stale.images,
      staleCandidateVectors: stale.candidates,
      job: this.current ? { ...this.current } : null,
    };
  }

  /** Starts re-encoding in the background, or returns the job already running. */
  async start(batchSize = DEFAULT_BATCH): Promise<EncodingJob> {
    if (this.current?.state === 'RUNNING') return { ...this.current };
    const job = await this.createJob(batchSize);
    void this.execute(job).catch(() => undefined);
    return { ...job };
  }

  /** Re-encodes everything stale and resolves when done (the CLI's path). */
  async run(
    batchSize = DEFAULT_BATCH,
    onProgress?: (job: EncodingJob) => void,
  ): Promise<EncodingJob> {
    if (this.current?.state === 'RUNNING') throw new Error('A re-encoding job is already running');
    const job = await this.createJob(batchSize);
    await this.execute(job, onProgress);
    return { ...job };
  }

  private async createJob(batchSize: number): Promise<EncodingJob> {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
      throw new BadInputError(`batchSize must be between 1 and ${MAX_BATCH}`, {
        field: 'batchSize',
      });
    }
    const stale = await this.deps.graph.read('encoding.count', (tx) =>
      vectors.countStale(tx, this.fingerprints()),
    );
    this.jobCount += 1;
    this.current = {
      id: this.jobCount,
      state: 'RUNNING',
      batchSize,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      encodedEntities: 0,
      encodedImages: 0,
      encodedCandidateVectors: 0,
      total: stale.entities + stale.images + stale.candidates,
      error: null,
    };
    return this.current;
  }

  private async execute(job: EncodingJob, onProgress?: (job: EncodingJob) => void): Promise<void> {
    try {
      while ((await this.encodeTextBatch(job)) > 0) onProgress?.(job);
      while ((await this.encodeImageBatch(job)) > 0) onProgress?.(job);
      // After the images: candidate vectors are made from the images' current vectors.
      while ((await this.encodeCandidateBatch(job)) > 0) onProgress?.(job);
      job.state = 'SUCCEEDED';
    } catch (error) {
      job.state = 'FAILED';
      job.error = error instanceof Error ? error.message : String(error);
      this.deps.logger.error({ err: error, job: job.id }, 're-encoding failed');
      throw error;
    } finally {
      job.finishedAt = new Date().toISOString();
      onProgress?.(job);
    }
  }

  private async encodeTextBatch(job: EncodingJob): Promise<number> {
    const encoder = this.deps.encoders?.text;
    if (!encoder) return 0;
    const batch = await this.deps.graph.read('encoding.staleEntities', (tx) =>
      vectors.findStaleEntities(tx, encoder.fingerprint, job.batchSize),
    );
    if (batch.length === 0) return 0;
    const encoded = await entityTextVectors(encoder, batch);
    await this.deps.graph.write('encoding.setEntityVectors', (tx) =>
      vectors.setEntityTextVectors(
        tx,
        encoder.fingerprint,
        batch.map((entity, index) => ({ id: entity.id, vector: encoded[index]! })),
      ),
    );
    await this.deps.vectorsWritten?.();
    job.encodedEntities += batch.length;
    return batch.length;
  }

  /** Reads an image from the store and encodes it; null (logged) when its file is missing or over the limits. */
  private async encodeStoredImage(
    encoder: ImageVectorEncoder,
    sha256: string,
  ): Promise<StoredImageVectors | null> {
    const bytes = await readIfStored(this.deps.imageStore, sha256);
    if (bytes === null) {
      this.deps.logger.warn({ sha256 }, 'image file missing from the store; left without a vector');
      return null;
    }
    try {
      return await imageVectors(encoder, bytes);
    } catch (error) {
      // Stored under older limits (POLYLINK_SVG, sizes, decode timeout): not decodable under the
      // current ones. Left without a vector like a missing file, so it cannot stop the whole job.
      if (!(error instanceof ImageError)) throw error;
      this.deps.logger.warn(
        { sha256, reason: error.message },
        'stored image outside the current image limits; left without a vector',
      );
      return null;
    }
  }

  private async encodeCandidateBatch(job: EncodingJob): Promise<number> {
    const encoder = this.deps.encoders?.candidate;
    const imageEncoder = this.deps.encoders?.image;
    if (!encoder || !imageEncoder) return 0;
    const batch = await this.deps.graph.read('encoding.staleCandidates', (tx) =>
      vectors.findStaleCandidates(tx, {
        fingerprint: encoder.fingerprint,
        imageFingerprint: imageEncoder.fingerprint,
        limit: job.batchSize,
      }),
    );
    if (batch.length === 0) return 0;
    const imageVectorOf = new Map<string, ArrayLike<number> | null>();
    for (const { sha256, embedding } of batch.flatMap((entity) => entity.images)) {
      if (imageVectorOf.get(sha256)) continue;
      // The image pass ran first; a vector still missing is one whose file is gone.
      const vector = embedding ?? (await this.encodeStoredImage(imageEncoder, sha256))?.embedding;
      imageVectorOf.set(sha256, vector ?? null);
    }
    const encoded = await entityCandidateVectors(
      encoder,
      batch.map((entity) => ({
        name: entity.name,
        description: entity.description,
        images: entity.images.map((image) => image.sha256),
      })),
      { vectorOf: (sha256) => imageVectorOf.get(sha256) },
    );
    // An entity changed since it was read keeps its newer vector (or stays stale for the next batch).
    const written = await this.deps.graph.write('encoding.setCandidateVectors', (tx) =>
      vectors.setEntityCandidateVectors(
        tx,
        encoder.fingerprint,
        batch.map((entity, index) => ({
          id: entity.id,
          contentHash: entity.contentHash,
          vector: encoded[index]!,
        })),
      ),
    );
    job.encodedCandidateVectors += written;
    return batch.length;
  }

  private async encodeImageBatch(job: EncodingJob): Promise<number> {
    const encoder = this.deps.encoders?.image;
    if (!encoder) return 0;
    const hashes = await this.deps.graph.read('encoding.staleImages', (tx) =>
      vectors.findStaleImages(tx, encoder.fingerprint, job.batchSize),
    );
    if (hashes.length === 0) return 0;
    const encoded: { sha256: string; vector: number[] | null; robust: number[] | null }[] = [];
    for (const sha256 of hashes) {
      // Without its file an image cannot be encoded; record that (vector null), or every run
      // would retry it.
      const vectors = await this.encodeStoredImage(encoder, sha256);
      encoded.push({ sha256, vector: vectors?.embedding ?? null, robust: vectors?.robust ?? null });
    }
    await this.deps.graph.write('encoding.setImageVectors', (tx) =>
      vectors.setImageVectors(tx, encoder.fingerprint, encoded),
    );
    await this.deps.vectorsWritten?.();
    job.encodedImages += hashes.length;
    return hashes.length;
  }
}
