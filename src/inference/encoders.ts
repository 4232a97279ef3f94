import type { PixelBox } from '../geometry/box.js';
import type { DecodedImage } from './vision/image-preprocess.js';

/**
 * What the registry and candidate generation need from the model bundle, whatever models
 * stand behind it. A fingerprint names the weights: vectors made by others are stale.
 */
export interface TextVectorEncoder {
  readonly fingerprint: string;
  readonly dimension: number;
  /** L2-normalised vectors for entity passages. */
  encodePassages(texts: readonly string[]): Promise<Float32Array[]>;
  /** L2-normalised vector for a mention or search text. */
  encodeQuery(text: string): Promise<Float32Array>;
}

export interface ImageVectorEncoder {
  /** Names the weights of both the encoder and its robust head (when there is one). */
  readonly fingerprint: string;
  readonly dimension: number;
  /**
   * The length of the style-robust vectors (`Image.robustEmbedding`, the DENSE_IMAGE_ROBUST
   * generator); null when the bundle has no `imageRobust` head.
   */
  readonly robustDimension: number | null;
  /** L2-normalised vector of a whole image, or of a box of it (pixels of the upright image). */
  encodeImage(bytes: Uint8Array, box?: PixelBox): Promise<Float32Array>;
  /** `encodeImage`'s vector and its style-robust vector (null without the head), one decode. */
  encodeImageVectors(bytes: Uint8Array, box?: PixelBox): Promise<ImageVectors>;
  /** The same model on an image decoded once (linkImage); absent in encoders that only take bytes. */
  readonly decoded?: DecodedImageEncoder;
}

export interface ImageVectors {
  readonly embedding: Float32Array;
  readonly robust: Float32Array | null;
}

/** The image encoder on a query image decoded once per request, for `linkImage`. */
export interface DecodedImageEncoder {
  /** Upright sRGB pixels, as every model of the bundle reads them. */
  decode(bytes: Uint8Array): Promise<DecodedImage>;
  /**
   * One vector per box, each box cropped at full resolution and embedded on its own: exactly
   * `encodeImage(bytes, box)` (what dense image retrieval of a region uses), without re-decoding.
   */
  embedCrops(image: DecodedImage, boxes: readonly PixelBox[]): Promise<Float32Array[]>;
  /**
   * One L2-normalised feature per box, RoI-average-pooled from one model run on the whole image
   * (`ImageEncoder.regionFeatures`): the region features the linker was trained on.
   */
  regionFeatures(image: DecodedImage, boxes: readonly PixelBox[]): Promise<Float32Array[]>;
  /**
   * `embedCrops`' vectors, and the style-robust vector of each box whose index is in `robust`
   * (null for the others, and for all when the bundle has no `imageRobust` head). Each box is
   * cropped once; when the head reads a mirrored view too, the plain and mirrored crops go through
   * the encoder in one batch.
   */
  embedCropsWithRobust(
    image: DecodedImage,
    boxes: readonly PixelBox[],
    robust: readonly number[],
  ): Promise<CropVectors>;
}

/** Per box, its vector and its style-robust vector (null when not asked for or no head). */
export interface CropVectors {
  readonly embeddings: Float32Array[];
  readonly robust: (Float32Array | null)[];
}

/** An entity as the linker's candidate encoder sees it. */
export interface CandidateEntity {
  readonly name: string;
  readonly description: string;
  /** Its images' vectors from the bundle's image encoder (`Image.embedding`), in image order. */
  readonly imageVectors: readonly ArrayLike<number>[];
}

/** The trained linker's candidate encoder: one vector per entity, cached on its node. */
export interface CandidateVectorEncoder {
  /** The linker's fingerprint (`linker:<sha16>`), stored as `Entity.candidateModel`. */
  readonly fingerprint: string;
  readonly dimension: number;
  encodeEntities(entities: readonly CandidateEntity[]): Promise<Float32Array[]>;
}

export interface EntityEncoders {
  readonly bundleId: string;
  readonly text: TextVectorEncoder | null;
  readonly image: ImageVectorEncoder | null;
  /** Null when the bundle has no linker (or lacks the text or image encoder it needs). */
  readonly candidate: CandidateVectorEncoder | null;
}
