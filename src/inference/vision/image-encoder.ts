import type { PixelBox } from '../../geometry/box.js';
import { readFile } from 'node:fs/promises';
import {
  toModelInput,
  type DecodedImage,
  type ImageTransform,
  type PixelSpec,
  type PreparedPixels,
} from './image-preprocess.js';
import { InferenceError, type ModelSession, type Tensor } from '../runtime/onnx-runtime.js';
import { boxToGrid, roiAveragePool, type FeatureGrid } from './roi-pool.js';

/**
 * EfficientNet-Lite0 (models/converted/efficientnet-lite0): the whole image stretched to
 * 224x224, (v - 127) / 128 per channel, as the TensorFlow Lite weights were trained.
 */
export const EFFICIENTNET_LITE0_PIXELS: PixelSpec = {
  width: 224,
  height: 224,
  resize: 'stretch',
  layout: 'nchw',
  mean: [127, 127, 127],
  std: [128, 128, 128],
};

/** One class of the classifier head; `id` is the WordNet id for ImageNet. */
export interface ImageClass {
  readonly id: string;
  readonly name: string;
}

export interface ClassScore {
  readonly index: number;
  /** Null when the encoder was given no class list. */
  readonly id: string | null;
  readonly name: string | null;
  /** Softmax over all logits. */
  readonly probability: number;
  readonly logit: number;
}

export interface FeatureMap extends FeatureGrid {
  /** How the original image was mapped onto the model input. */
  readonly transform: ImageTransform;
}

export interface ImageEncoding {
  /** L2-normalised pooled features. */
  readonly embedding: Float32Array;
  /** L2-normalised RoI-average-pooled features, one per box, same space as `embedding`. */
  readonly regions: Float32Array[];
  readonly featureMap: FeatureMap;
  /** Raw classifier logits, when the model has them. */
  readonly logits: Float32Array | null;
}

export interface ImageEncoderOptions {
  readonly session: ModelSession;
  readonly pixels?: PixelSpec;
  /** Names for the logits, index by index (e.g. from `loadClassList`). */
  readonly classes?: readonly ImageClass[];
  /** Most images per model run in `embedBatch`. */
  readonly maxBatch?: number;
  readonly outputs?: {
    readonly pooled?: string;
    readonly featureMap?: string;
    readonly logits?: string;
  };
}

/**
 * Parses a class list: one class per line, `<id>\t<name>` or just `<name>` (the id is then the
 * name). Blank lines are ignored only at the end, so line i stays logit i.
 */
export function parseClassList(text: string): ImageClass[] {
  const lines = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  return lines.map((line) => {
    const tab = line.indexOf('\t');
    return tab < 0
      ? { id: line.trim(), name: line.trim() }
      : { id: line.slice(0, tab).trim(), name: line.slice(tab + 1).trim() };
  });
}

export async function loadClassList(file: string): Promise<ImageClass[]> {
  return parseClassList(await readFile(file, 'utf8'));
}

/** Scales a vector to unit length (a zero vector stays zero). Returns a new array. */
export function l2Normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(vector.length);
  if (norm === 0) return out;
  for (let i = 0; i < vector.length; i += 1) out[i] = vector[i]! / norm;
  return out;
}

function floatOutput(results: Record<string, Tensor>, name: string, model: string): Tensor {
  const tensor = results[name];
  if (!tensor || !(tensor.data instanceof Float32Array)) {
    throw new InferenceError(`Model "${model}" returned no float32 output "${name}"`);
  }
  return tensor;
}

/**
 * A general-purpose image encoder over an ONNX model with one image input and outputs
 * `pooled` [batch, D], `feature_map` [batch, C, H, W] and optionally `logits` [batch, K].
 * Every method runs the model once per image (batched in `embedBatch`).
 */
export class ImageEncoder {
  readonly pixels: PixelSpec;
  readonly classes: readonly ImageClass[] | null;
  private readonly session: ModelSession;
  private readonly inputName: string;
  private readonly pooledName: string;
  private readonly featureMapName: string;
  private readonly logitsName: string | null;
  private readonly maxBatch: number;

  constructor(options: ImageEncoderOptions) {
    const { session } = options;
    this.session = session;
    this.pixels = options.pixels ?? EFFICIENTNET_LITE0_PIXELS;
    this.maxBatch = options.maxBatch ?? 8;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${this.maxBatch}`);
    }
    const [inputName, ...otherInputs] = session.inputNames;
    if (inputName === undefined || otherInputs.length > 0) {
      throw new InferenceError(
        `Image model "${session.name}" must take one input, takes [${session.inputNames.join(', ')}]`,
      );
    }
    this.inputName = inputName;
    this.pooledName = options.outputs?.pooled ?? 'pooled';
    this.featureMapName = options.outputs?.featureMap ?? 'feature_map';
    const logitsName = options.outputs?.logits ?? 'logits';
    for (const name of [this.pooledName, this.featureMapName]) {
      if (!session.outputNames.includes(name)) {
        throw new InferenceError(`Image model "${session.name}" has no output "${name}"`);
      }
    }
    this.logitsName = session.outputNames.includes(logitsName) ? logitsName : null;
    this.classes = options.classes ?? null;
  }

  /** The pooled embedding of one image, L2-normalised. */
  async embed(image: DecodedImage): Promise<Float32Array> {
    return (await this.encode(image)).embedding;
  }

  /** Embeddings of many images, in order, `maxBatch` images per model run. */
  async embedBatch(images: readonly DecodedImage[]): Promise<Float32Array[]> {
    const embeddings: Float32Array[] = [];
    for (let start = 0; start < images.length; start += this.maxBatch) {
      const chunk = images.slice(start, start + this.maxBatch);
      const prepared = await Promise.all(chunk.map((image) => toModelInput(image, this.pixels)));
      const results = await this.run(prepared);
      const pooled = floatOutput(results, this.pooledName, this.session.name);
      const width = this.rowWidth(pooled, prepared.length);
      for (let item = 0; item < prepared.length; item += 1) {
        embeddings.push(l2Normalize(this.row(pooled, item, width)));
      }
    }
    return embeddings;
  }

  /** The last convolutional stage for one image, raw (not normalised), channel-major. */
  async featureMap(image: DecodedImage): Promise<FeatureMap> {
    return (await this.encode(image)).featureMap;
  }

  /**
   * One feature vector per box (original-image pixels), average-pooled over the feature map of a
   * single model run, L2-normalised into the space of `embed`. No boxes: no run.
   */
  async regionFeatures(image: DecodedImage, boxes: readonly PixelBox[]): Promise<Float32Array[]> {
    if (boxes.length === 0) return [];
    return (await this.encode(image, boxes)).regions;
  }

  /** The `topK` most probable classes (needs a model with logits). */
  async classify(image: DecodedImage, topK = 5): Promise<ClassScore[]> {
    const { logits } = await this.encode(image);
    if (!logits) throw new InferenceError(`Image model "${this.session.name}" has no logits`);
    return this.topClasses(logits, topK);
  }

  /** Everything one model run gives for an image: embedding, box regions, map and logits. */
  async encode(image: DecodedImage, boxes: readonly PixelBox[] = []): Promise<ImageEncoding> {
    const prepared = await toModelInput(image, this.pixels);
    const results = await this.run([prepared]);
    const pooled = floatOutput(results, this.pooledName, this.session.name);
    const mapTensor = floatOutput(results, this.featureMapName, this.session.name);
    const [batch, channels, height, width] = mapTensor.dims;
    if (
      mapTensor.dims.length !== 4 ||
      batch !== 1 ||
      channels === undefined ||
      height === undefined ||
      width === undefined
    ) {
      throw new InferenceError(
        `Model "${this.session.name}" output "${this.featureMapName}" has dims [${mapTensor.dims.join(', ')}], expected [1, C, H, W]`,
      );
    }
    const featureMap: FeatureMap = {
      data: Float32Array.from(mapTensor.data as Float32Array),
      channels,
      height,
      width,
      transform: prepared.transform,
    };
    const regions = boxes.map((box) =>
      l2Normalize(
        roiAveragePool(featureMap, boxToGrid(box, prepared.transform, this.pixels, featureMap)),
      ),
    );
    let logits: Float32Array | null = null;
    if (this.logitsName !== null) {
      const tensor = floatOutput(results, this.logitsName, this.session.name);
      logits = Float32Array.from(tensor.data as Float32Array);
    }
    return {
      embedding: l2Normalize(this.row(pooled, 0, this.rowWidth(pooled, 1))),
      regions,
      featureMap,
      logits,
    };
  }

  /** Softmax and the `topK` best classes of a logit vector. */
  topClasses(logits: Float32Array, topK: number): ClassScore[] {
    if (this.classes !== null && this.classes.length !== logits.length) {
      throw new InferenceError(
        `Model "${this.session.name}" has ${logits.length} classes but ${this.classes.length} names`,
      );
    }
    let max = -Infinity;
    for (const value of logits) max = Math.max(max, value);
    let total = 0;
    for (const value of logits) total += Math.exp(value - max);
    const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
    return order.slice(0, Math.max(0, topK)).map((index) => {
      const logit = logits[index]!;
      const named = this.classes?.[index];
      return {
        index,
        id: named?.id ?? null,
        name: named?.name ?? null,
        probability: Math.exp(logit - max) / total,
        logit,
      };
    });
  }

  private async run(prepared: readonly PreparedPixels[]): Promise<Record<string, Tensor>> {
    const first = prepared[0];
    if (!first) throw new RangeError('no images to run');
    const size = first.data.length;
    const data = new Float32Array(size * prepared.length);
    prepared.forEach((item, index) => data.set(item.data, index * size));
    const [, ...itemDims] = first.dims;
    return this.session.run({
      [this.inputName]: { type: 'float32', data, dims: [prepared.length, ...itemDims] },
    });
  }

  private rowWidth(tensor: Tensor, batch: number): number {
    const [rows, width] = tensor.dims;
    if (tensor.dims.length !== 2 || rows !== batch || width === undefined) {
      throw new InferenceError(
        `Model "${this.session.name}" output has dims [${tensor.dims.join(', ')}], expected [${batch}, D]`,
      );
    }
    return width;
  }

  private row(tensor: Tensor, index: number, width: number): Float32Array {
    return (tensor.data as Float32Array).subarray(index * width, (index + 1) * width);
  }
}
