import type { PixelBox } from '../../geometry/box.js';
import {
  boxToOriginal,
  toModelInput,
  type DecodedImage,
  type ImageTransform,
  type PixelSpec,
} from './image-preprocess.js';
import { nonMaxSuppression } from './object-detector.js';
import { InferenceError, type ModelSession, type Tensor } from '../runtime/onnx-runtime.js';

/**
 * models/converted/blazeface: RGB scaled to -1..1 (v / 127.5 - 1), NHWC, 256x256. human
 * stretches the frame; letterboxing (padding with black, -1) keeps faces undistorted in
 * non-square photos, as MediaPipe's own pipeline does.
 */
export const BLAZEFACE_PIXELS: PixelSpec = {
  width: 256,
  height: 256,
  resize: 'letterbox',
  layout: 'nhwc',
  mean: [127.5, 127.5, 127.5],
  std: [127.5, 127.5, 127.5],
  padValue: 0,
};
export const BLAZEFACE_INPUT = 'input';
export const BLAZEFACE_OUTPUTS = {
  logits16: 'logits_stride16',
  logits32: 'logits_stride32',
  regressors16: 'regressors_stride16',
  regressors32: 'regressors_stride32',
} as const;

/** models/converted/faceres: a square face crop, RGB 0-255, NHWC, 224x224; batch is dynamic. */
export const FACERES_PIXELS: PixelSpec = {
  width: 224,
  height: 224,
  resize: 'stretch',
  layout: 'nhwc',
  mean: [0, 0, 0],
  std: [1, 1, 1],
};
export const FACERES_INPUT = 'input';
export const FACERES_OUTPUTS = { descriptor: 'descriptor', age: 'age', gender: 'gender' } as const;
export const FACE_DESCRIPTOR_DIMENSION = 1024;

/** BlazeFace's six keypoints, in output order ("right" is the subject's right). */
export const FACE_KEYPOINTS = [
  'rightEye',
  'leftEye',
  'noseTip',
  'mouth',
  'rightEarTragion',
  'leftEarTragion',
] as const;
export type FaceKeypointName = (typeof FACE_KEYPOINTS)[number];

export interface FaceKeypoint {
  readonly name: FaceKeypointName;
  readonly x: number;
  readonly y: number;
}

export interface DetectedFace {
  /** BlazeFace's (tight) face box in original-image pixels, clamped to the image. */
  readonly box: PixelBox;
  /** sigmoid of the anchor's logit, 0-1. */
  readonly score: number;
  /** In original-image pixels (not clamped). */
  readonly keypoints: readonly FaceKeypoint[];
}

export interface FaceDescription {
  /** 1024 values, L2-normalised: compare with a dot product (cosine similarity). */
  readonly descriptor: Float32Array;
  /** Expected age in years under the age head's softmax over 0..99. */
  readonly age: number;
  /** The gender head's sigmoid (human reads <= 0.5 as female). */
  readonly maleProbability: number;
}

export interface AnalyzedFace extends DetectedFace {
  /** The square region described (may extend past the image; the outside is black). */
  readonly crop: PixelBox;
  readonly description: FaceDescription;
}

export interface FaceDetectOptions {
  readonly minScore?: number;
  readonly maxFaces?: number;
}

export interface FaceAnalyzerConfig {
  /**
   * Faces below this score are dropped. human's 0.2 relies on its face mesh to confirm. On the
   * test photos frontal faces score 0.88-0.89, the dog's head in darknet's dog.jpg 0.68 and
   * everything else under 0.25: 0.7 keeps faces and drops the dog.
   */
  readonly minScore: number;
  /** Overlapping detections (IoU above this) are suppressed. */
  readonly iouThreshold: number;
  readonly maxFaces: number;
  /** The descriptor's crop: the face box's longer side times this, squared (human: 1.4). */
  readonly cropScale: number;
}

export const DEFAULT_FACE_ANALYZER_CONFIG: FaceAnalyzerConfig = {
  minScore: 0.7,
  iouThreshold: 0.3,
  maxFaces: 10,
  cropScale: 1.4,
};

export interface FaceAnalyzerSessions {
  /** models/converted/blazeface */
  readonly detector: ModelSession;
  /** models/converted/faceres */
  readonly descriptor: ModelSession;
}

interface AnchorLayer {
  readonly stride: number;
  readonly perCell: number;
  readonly logits: string;
  readonly regressors: string;
}

/** human's generateAnchors(256): the 16x16 grid (2 per cell) then the 8x8 grid (6 per cell). */
const ANCHOR_LAYERS: readonly AnchorLayer[] = [
  {
    stride: 16,
    perCell: 2,
    logits: BLAZEFACE_OUTPUTS.logits16,
    regressors: BLAZEFACE_OUTPUTS.regressors16,
  },
  {
    stride: 32,
    perCell: 6,
    logits: BLAZEFACE_OUTPUTS.logits32,
    regressors: BLAZEFACE_OUTPUTS.regressors32,
  },
];
const REGRESSOR_WIDTH = 4 + 2 * FACE_KEYPOINTS.length;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function floatOutput(outputs: Record<string, Tensor>, name: string, size: number): Float32Array {
  const tensor = outputs[name];
  if (!tensor || !(tensor.data instanceof Float32Array) || tensor.data.length !== size) {
    throw new InferenceError(`Face model output "${name}" is missing or malformed`);
  }
  return tensor.data;
}

function requireNames(session: ModelSession, names: string[], expected: string): void {
  const known = [...session.inputNames, ...session.outputNames];
  const missing = names.filter((name) => !known.includes(name));
  if (missing.length > 0) {
    throw new InferenceError(
      `Model "${session.name}" lacks ${missing.join(', ')}; is it models/converted/${expected}?`,
    );
  }
}

/** Raw BlazeFace outputs to faces in 256-px input space, before NMS. Pure. */
export function decodeBlazeFace(
  outputs: Record<string, Tensor>,
  minScore: number,
): { box: PixelBox; score: number; keypoints: { x: number; y: number }[] }[] {
  const side = BLAZEFACE_PIXELS.width;
  const faces: { box: PixelBox; score: number; keypoints: { x: number; y: number }[] }[] = [];
  for (const layer of ANCHOR_LAYERS) {
    const grid = Math.ceil(side / layer.stride);
    const count = grid * grid * layer.perCell;
    const logits = floatOutput(outputs, layer.logits, count);
    const regressors = floatOutput(outputs, layer.regressors, count * REGRESSOR_WIDTH);
    for (let anchor = 0; anchor < count; anchor += 1) {
      const score = sigmoid(logits[anchor]!);
      if (!(score >= minScore)) continue;
      const cell = Math.floor(anchor / layer.perCell);
      const anchorX = layer.stride * ((cell % grid) + 0.5);
      const anchorY = layer.stride * (Math.floor(cell / grid) + 0.5);
      const r = anchor * REGRESSOR_WIDTH;
      const centreX = anchorX + regressors[r]!;
      const centreY = anchorY + regressors[r + 1]!;
      const width = regressors[r + 2]!;
      const height = regressors[r + 3]!;
      const keypoints = FACE_KEYPOINTS.map((_, k) => ({
        x: anchorX + regressors[r + 4 + 2 * k]!,
        y: anchorY + regressors[r + 5 + 2 * k]!,
      }));
      faces.push({
        box: { x: centreX - width / 2, y: centreY - height / 2, width, height },
        score,
        keypoints,
      });
    }
  }
  return faces;
}

function pointToOriginal(
  point: { x: number; y: number },
  transform: ImageTransform,
): { x: number; y: number } {
  // BLAZEFACE_PIXELS letterboxes: one scale, both axes.
  return {
    x: (point.x - transform.offsetX) / transform.scale,
    y: (point.y - transform.offsetY) / transform.scale,
  };
}

/** The square descriptor crop around a face box: longer side times `scale`, same centre. */
export function faceCropBox(box: PixelBox, scale: number): PixelBox {
  const side = Math.max(1, Math.round(Math.max(box.width, box.height) * scale));
  return {
    x: Math.round(box.x + box.width / 2 - side / 2),
    y: Math.round(box.y + box.height / 2 - side / 2),
    width: side,
    height: side,
  };
}

/**
 * Copies an integer pixel box out of an image; the part outside the image is black (as
 * tf.image.cropAndResize's extrapolation in human). Pure.
 */
export function cropWithPadding(image: DecodedImage, box: PixelBox): DecodedImage {
  const left = Math.round(box.x);
  const top = Math.round(box.y);
  const width = Math.max(1, Math.round(box.width));
  const height = Math.max(1, Math.round(box.height));
  const rgb = new Uint8Array(width * height * 3);
  const x0 = Math.max(0, left);
  const x1 = Math.min(image.width, left + width);
  for (let row = 0; row < height; row += 1) {
    const y = top + row;
    if (y < 0 || y >= image.height || x1 <= x0) continue;
    const from = (y * image.width + x0) * 3;
    rgb.set(image.rgb.subarray(from, from + (x1 - x0) * 3), (row * width + (x0 - left)) * 3);
  }
  return { rgb, width, height };
}

function l2Normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  if (!(norm > 0)) throw new InferenceError('The face descriptor is all zeros');
  return vector.map((value) => value / norm);
}

/**
 * Face detection (BlazeFace, models/converted/blazeface) and face descriptors (HSE FaceRes,
 * models/converted/faceres). The sessions belong to the caller (a model registry), which
 * releases them.
 */
export class FaceAnalyzer {
  private readonly detector: ModelSession;
  private readonly descriptor: ModelSession;
  private readonly config: FaceAnalyzerConfig;

  constructor(sessions: FaceAnalyzerSessions, config: Partial<FaceAnalyzerConfig> = {}) {
    requireNames(
      sessions.detector,
      [BLAZEFACE_INPUT, ...Object.values(BLAZEFACE_OUTPUTS)],
      'blazeface',
    );
    requireNames(
      sessions.descriptor,
      [FACERES_INPUT, ...Object.values(FACERES_OUTPUTS)],
      'faceres',
    );
    this.detector = sessions.detector;
    this.descriptor = sessions.descriptor;
    this.config = { ...DEFAULT_FACE_ANALYZER_CONFIG, ...config };
  }

  /** Faces in the image, best first. */
  async detect(image: DecodedImage, options: FaceDetectOptions = {}): Promise<DetectedFace[]> {
    const minScore = options.minScore ?? this.config.minScore;
    const pixels = await toModelInput(image, BLAZEFACE_PIXELS);
    const outputs = await this.detector.run({
      [BLAZEFACE_INPUT]: { type: 'float32', data: pixels.data, dims: pixels.dims },
    });
    const kept = nonMaxSuppression(decodeBlazeFace(outputs, minScore), {
      iouThreshold: this.config.iouThreshold,
      limit: options.maxFaces ?? this.config.maxFaces,
    });
    return kept
      .map((face) => ({
        box: boxToOriginal(face.box, pixels.transform, BLAZEFACE_PIXELS),
        score: face.score,
        keypoints: face.keypoints.map((point, k) => ({
          name: FACE_KEYPOINTS[k]!,
          ...pointToOriginal(point, pixels.transform),
        })),
      }))
      .filter((face) => face.box.width > 0 && face.box.height > 0);
  }

  /** Descriptors of face images (crops, any size; each is stretched to 224x224), in one run. */
  async describe(faces: readonly DecodedImage[]): Promise<FaceDescription[]> {
    if (faces.length === 0) return [];
    const plane = FACERES_PIXELS.width * FACERES_PIXELS.height * 3;
    const data = new Float32Array(plane * faces.length);
    for (const [index, face] of faces.entries()) {
      data.set((await toModelInput(face, FACERES_PIXELS)).data, index * plane);
    }
    const outputs = await this.descriptor.run({
      [FACERES_INPUT]: {
        type: 'float32',
        data,
        dims: [faces.length, FACERES_PIXELS.height, FACERES_PIXELS.width, 3],
      },
    });
    const dimension = FACE_DESCRIPTOR_DIMENSION;
    const descriptors = floatOutput(outputs, FACERES_OUTPUTS.descriptor, faces.length * dimension);
    const ages = floatOutput(outputs, FACERES_OUTPUTS.age, faces.length * 100);
    const genders = floatOutput(outputs, FACERES_OUTPUTS.gender, faces.length);
    return faces.map((_, index) => {
      let age = 0;
      for (let year = 0; year < 100; year += 1) age += year * ages[index * 100 + year]!;
      return {
        descriptor: l2Normalize(descriptors.slice(index * dimension, (index + 1) * dimension)),
        age,
        maleProbability: genders[index]!,
      };
    });
  }

  /** The square crop describe() is given for a detected face (human's enlarged, squared box). */
  faceCrop(image: DecodedImage, face: Pick<DetectedFace, 'box'>): DecodedImage {
    return cropWithPadding(image, faceCropBox(face.box, this.config.cropScale));
  }

  /** Detects the faces and describes each one (one descriptor run for all of them). */
  async analyze(image: DecodedImage, options: FaceDetectOptions = {}): Promise<AnalyzedFace[]> {
    const faces = await this.detect(image, options);
    const crops = faces.map((face) => faceCropBox(face.box, this.config.cropScale));
    const descriptions = await this.describe(crops.map((crop) => cropWithPadding(image, crop)));
    return faces.map((face, index) => ({
      ...face,
      crop: crops[index]!,
      description: descriptions[index]!,
    }));
  }
}
