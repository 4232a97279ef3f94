import { iou, type PixelBox } from '../../geometry/box.js';
import {
  boxToOriginal,
  toModelInput,
  type DecodedImage,
  type ImageTransform,
  type PixelSpec,
} from './image-preprocess.js';
import { InferenceError, type ModelSession, type Tensor } from '../runtime/onnx-runtime.js';

/**
 * The 80 COCO object classes in the order of the detector's class output (0-based; the model's
 * class 16 is "dog"). These are the contiguous training indices, not COCO's sparse category ids
 * (1..90): @vladmandic/human's src/object/labels.ts reads `labels[class]` the same way.
 */
export const COCO_CLASSES = [
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
  'traffic light',
  'fire hydrant',
  'stop sign',
  'parking meter',
  'bench',
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'backpack',
  'umbrella',
  'handbag',
  'tie',
  'suitcase',
  'frisbee',
  'skis',
  'snowboard',
  'sports ball',
  'kite',
  'baseball bat',
  'baseball glove',
  'skateboard',
  'surfboard',
  'tennis racket',
  'bottle',
  'wine glass',
  'cup',
  'fork',
  'knife',
  'spoon',
  'bowl',
  'banana',
  'apple',
  'sandwich',
  'orange',
  'broccoli',
  'carrot',
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'chair',
  'couch',
  'potted plant',
  'bed',
  'dining table',
  'toilet',
  'tv',
  'laptop',
  'mouse',
  'remote',
  'keyboard',
  'cell phone',
  'microwave',
  'oven',
  'toaster',
  'sink',
  'refrigerator',
  'book',
  'clock',
  'vase',
  'scissors',
  'teddy bear',
  'hair drier',
  'toothbrush',
] as const;
export type CocoLabel = (typeof COCO_CLASSES)[number];

/**
 * models/converted/centernet: RGB 0-255, NHWC, the whole frame stretched to 512x512 (what
 * @vladmandic/human feeds it, by tf.image.resizeBilinear; here sharp's lanczos3).
 */
export const CENTERNET_PIXELS: PixelSpec = {
  width: 512,
  height: 512,
  resize: 'stretch',
  layout: 'nhwc',
  mean: [0, 0, 0],
  std: [1, 1, 1],
};
export const CENTERNET_INPUT = 'images';
export const CENTERNET_DETECTIONS = 'detections';
export const CENTERNET_FEATURES = 'features';
/** Input pixels per feature-map cell: 512 / 16. */
export const CENTERNET_FEATURE_STRIDE = 32;

export interface DetectedObject {
  /** In original-image pixels, clamped to the image. */
  readonly box: PixelBox;
  readonly label: CocoLabel;
  /** 0-based index into COCO_CLASSES. */
  readonly classId: number;
  /** The centre-heatmap peak (sigmoid), 0-1. */
  readonly score: number;
}

export interface DetectOptions {
  readonly minScore?: number;
  readonly maxDetections?: number;
}

export interface ObjectDetectorConfig {
  /** human's default: 0.2. */
  readonly minScore: number;
  /** human's default: 10. The model itself proposes at most 100. */
  readonly maxDetections: number;
  /** Same-class boxes overlapping more than this (IoU) are suppressed; human uses 0.4. */
  readonly iouThreshold: number;
}

export const DEFAULT_OBJECT_DETECTOR_CONFIG: ObjectDetectorConfig = {
  minScore: 0.2,
  maxDetections: 10,
  iouThreshold: 0.4,
};

/** A box in feature-map cells: cell (i, j) spans [i, i + 1) x [j, j + 1); fractions allowed. */
export interface FeatureCellBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** The backbone's last hard-swish block (MobileNetV3, stride 32) for one image. */
export interface BackboneFeatureMap {
  /** Row-major [height][width][channels] (the model's NHWC without the batch). */
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Input pixels per cell. */
  readonly stride: number;
  /** How the original image became the model input; with `spec`, maps boxes onto the map. */
  readonly transform: ImageTransform;
  readonly spec: PixelSpec;
}

/** Both outputs of one detector run, undecoded. */
export interface CenternetOutputs {
  /** [100, 6] rows: x1, y1, x2, y2 (512-px input space), score, class. */
  readonly detections: Float32Array;
  readonly features: BackboneFeatureMap;
}

/**
 * Maps a box in original-image pixels onto the feature map's cells (undoing the stretch to
 * 512x512, then dividing by the stride). The result may extend past the map when the box does.
 */
export function boxToFeatureCells(
  box: PixelBox,
  map: Pick<BackboneFeatureMap, 'transform' | 'spec' | 'stride'>,
): FeatureCellBox {
  const { transform, spec, stride } = map;
  const scaleX =
    spec.resize === 'letterbox' ? transform.scale : spec.width / transform.originalWidth;
  const scaleY =
    spec.resize === 'letterbox' ? transform.scale : spec.height / transform.originalHeight;
  const toX = (x: number): number => (x * scaleX + transform.offsetX) / stride;
  const toY = (y: number): number => (y * scaleY + transform.offsetY) / stride;
  return {
    x0: toX(box.x),
    y0: toY(box.y),
    x1: toX(box.x + box.width),
    y1: toY(box.y + box.height),
  };
}

/** The feature map as [channels][height][width] (channel-major, like one NCHW image). */
export function toChannelMajor(map: BackboneFeatureMap): Float32Array {
  const { data, height, width, channels } = map;
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let cell = 0; cell < plane; cell += 1) {
    for (let channel = 0; channel < channels; channel += 1) {
      out[channel * plane + cell] = data[cell * channels + channel]!;
    }
  }
  return out;
}

/**
 * Greedy non-maximum suppression: highest score first, dropping any box that overlaps a kept one
 * of the same group by more than `iouThreshold`. Returns at most `limit` items. Pure.
 */
export function nonMaxSuppression<T extends { readonly box: PixelBox; readonly score: number }>(
  items: readonly T[],
  options: { iouThreshold: number; limit: number; group?: (item: T) => number | string },
): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const item of sorted) {
    if (kept.length >= options.limit) break;
    const group = options.group?.(item);
    const overlaps = kept.some(
      (other) =>
        options.group?.(other) === group && iou(other.box, item.box) > options.iouThreshold,
    );
    if (!overlaps) kept.push(item);
  }
  return kept;
}

function output(outputs: Record<string, Tensor>, name: string, size: number): Float32Array {
  const tensor = outputs[name];
  if (!tensor || !(tensor.data instanceof Float32Array) || tensor.data.length !== size) {
    throw new InferenceError(`The object detector's output "${name}" is missing or malformed`);
  }
  return tensor.data;
}

function requireNames(session: ModelSession, inputs: string[], outputs: string[]): void {
  const missing = [
    ...inputs.filter((name) => !session.inputNames.includes(name)),
    ...outputs.filter((name) => !session.outputNames.includes(name)),
  ];
  if (missing.length > 0) {
    throw new InferenceError(
      `Model "${session.name}" lacks ${missing.join(', ')}; is it models/converted/centernet?`,
    );
  }
}

/**
 * COCO object detector over the converted MobileNetV3-CenterNet (models/converted/centernet).
 * The session belongs to the caller (a model registry), which releases it.
 */
export class ObjectDetector {
  private readonly config: ObjectDetectorConfig;

  constructor(
    private readonly session: ModelSession,
    config: Partial<ObjectDetectorConfig> = {},
  ) {
    requireNames(session, [CENTERNET_INPUT], [CENTERNET_DETECTIONS, CENTERNET_FEATURES]);
    this.config = { ...DEFAULT_OBJECT_DETECTOR_CONFIG, ...config };
  }

  /** One model run: the raw detections and the backbone map. */
  async run(image: DecodedImage): Promise<CenternetOutputs> {
    const pixels = await toModelInput(image, CENTERNET_PIXELS);
    const outputs = await this.session.run({
      [CENTERNET_INPUT]: { type: 'float32', data: pixels.data, dims: pixels.dims },
    });
    const side = CENTERNET_PIXELS.width / CENTERNET_FEATURE_STRIDE;
    const channels = 480;
    return {
      detections: output(outputs, CENTERNET_DETECTIONS, 100 * 6),
      features: {
        data: output(outputs, CENTERNET_FEATURES, side * side * channels),
        height: side,
        width: side,
        channels,
        stride: CENTERNET_FEATURE_STRIDE,
        transform: pixels.transform,
        spec: CENTERNET_PIXELS,
      },
    };
  }

  /** Objects found in the image, best first, after a score floor and per-class NMS. */
  async detect(image: DecodedImage, options: DetectOptions = {}): Promise<DetectedObject[]> {
    const { detections, features } = await this.run(image);
    return this.decode(detections, features.transform, options);
  }

  /** The [16, 16, 480] backbone map, with what maps original-pixel boxes onto it. */
  async featureMap(image: DecodedImage): Promise<BackboneFeatureMap> {
    return (await this.run(image)).features;
  }

  /** Detections of a run() in original pixels. Pure apart from the config. */
  decode(
    detections: Float32Array,
    transform: ImageTransform,
    options: DetectOptions = {},
  ): DetectedObject[] {
    const minScore = options.minScore ?? this.config.minScore;
    const maxDetections = options.maxDetections ?? this.config.maxDetections;
    const candidates: DetectedObject[] = [];
    for (let row = 0; row + 6 <= detections.length; row += 6) {
      const score = detections[row + 4]!;
      const classId = Math.round(detections[row + 5]!);
      const label = COCO_CLASSES[classId];
      if (!(score >= minScore) || label === undefined) continue;
      const x1 = detections[row]!;
      const y1 = detections[row + 1]!;
      const inputBox = {
        x: x1,
        y: y1,
        width: detections[row + 2]! - x1,
        height: detections[row + 3]! - y1,
      };
      const box = boxToOriginal(inputBox, transform, CENTERNET_PIXELS);
      if (box.width <= 0 || box.height <= 0) continue;
      candidates.push({ box, label, classId, score });
    }
    return nonMaxSuppression(candidates, {
      iouThreshold: this.config.iouThreshold,
      limit: maxDetections,
      group: (item) => item.classId,
    });
  }
}
