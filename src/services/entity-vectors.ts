/**
 * How an entity's cached vectors are derived: its text vector, its images' vectors and the
 * linker's candidate vector. Registration (EntityService) and re-encoding (EncodingService) both
 * go through here, so a vector written by either is the one the other would write.
 */
import type {
  CandidateVectorEncoder,
  ImageVectorEncoder,
  TextVectorEncoder,
} from '../inference/encoders.js';

/** What an entity's text vector is computed from. */
export interface EntityText {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
}

/** An image's vectors as its Image node stores them. */
export interface StoredImageVectors {
  readonly embedding: number[];
  /** Null when the bundle has no style-robust head. */
  readonly robust: number[] | null;
}

/** The passage an entity's text vector is computed from: every name, then the description. */
export function entityPassage(entity: EntityText): string {
  const names =
    entity.aliases.length > 0 ? `${entity.name} (${entity.aliases.join('; ')})` : entity.name;
  return entity.description === '' ? names : `${names}. ${entity.description}`;
}

/** Each entity's text vector, in order. */
export async function entityTextVectors(
  encoder: Pick<TextVectorEncoder, 'encodePassages'>,
  entities: readonly EntityText[],
): Promise<number[][]> {
  const encoded = await encoder.encodePassages(entities.map(entityPassage));
  return encoded.map(toNumberArray);
}

/** One image's vector and style-robust vector. */
export async function imageVectors(
  encoder: Pick<ImageVectorEncoder, 'encodeImageVectors'>,
  bytes: Uint8Array,
): Promise<StoredImageVectors> {
  const vectors = await encoder.encodeImageVectors(bytes);
  return {
    embedding: toNumberArray(vectors.embedding),
    robust: vectors.robust ? toNumberArray(vectors.robust) : null,
  };
}

/** An entity as its candidate vector sees it: its images by content hash, in image order. */
export interface CandidateSource {
  readonly name: string;
  readonly description: string;
  readonly images: readonly string[];
}

/**
 * Each entity's candidate vector, from its name, description and its images' current vectors in
 * image order. An image without a current vector is left out (and reported to `onMissing`).
 */
export async function entityCandidateVectors(
  encoder: Pick<CandidateVectorEncoder, 'encodeEntities'>,
  entities: readonly CandidateSource[],
  images: {
    readonly vectorOf: (sha256: string) => ArrayLike<number> | null | undefined;
    readonly onMissing?: (entity: number, sha256: string) => void;
  },
): Promise<number[][]> {
  const encoded = await encoder.encodeEntities(
    entities.map((entity, index) => ({
      name: entity.name,
      description: entity.description,
      imageVectors: entity.images.flatMap((sha256) => {
        const vector = images.vectorOf(sha256);
        if (vector) return [vector];
        images.onMissing?.(index, sha256);
        return [];
      }),
    })),
  );
  return encoded.map(toNumberArray);
}

function toNumberArray(vector: Float32Array): number[] {
  return Array.from(vector);
}
