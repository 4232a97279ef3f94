/**
 * Parity of models/converted/{centernet,blazeface,faceres} (ONNX, by models/convert/convert_tfjs.py)
 * with the tfjs graph models they came from (node_modules/@vladmandic/human/models), run by
 * tfjs itself (tfjs-core + tfjs-converter + the pure-JS CPU backend) on the same real-image
 * tensors. The tfjs runs are slow (centernet 6-15 s on a 2-core machine), hence one run each.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BLAZEFACE_OUTPUTS,
  BLAZEFACE_PIXELS,
  FACERES_OUTPUTS,
  FACERES_PIXELS,
  cropWithPadding,
  faceCropBox,
} from '../../src/inference/vision/face-analyzer.js';
import {
  toModelInput,
  type DecodedImage,
  type PreparedPixels,
} from '../../src/inference/vision/image-preprocess.js';
import { decodeRgb } from '../helpers/decode.js';
import { CENTERNET_PIXELS } from '../../src/inference/vision/object-detector.js';
import {
  createOnnxRuntime,
  type ModelSession,
  type OnnxRuntime,
  type Tensor,
} from '../../src/inference/runtime/onnx-runtime.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const HUMAN_MODELS = path.join(PROJECT_ROOT, 'node_modules/@vladmandic/human/models');
const CONVERTED = path.join(PROJECT_ROOT, 'models/converted');

interface TfjsModelJson {
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string;
  readonly signature?: object;
  readonly userDefinedMetadata?: Record<string, object>;
  readonly modelTopology: object;
  readonly weightsManifest: readonly {
    readonly paths: readonly string[];
    readonly weights: tf.io.WeightsManifestEntry[];
  }[];
}

/** Loads a tfjs graph model from disk through an in-memory IOHandler (no fetch, no tfjs-node). */
async function loadTfjs(name: string): Promise<GraphModel> {
  const json = JSON.parse(
    await readFile(path.join(HUMAN_MODELS, `${name}.json`), 'utf8'),
  ) as TfjsModelJson;
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const file of group.paths) buffers.push(await readFile(path.join(HUMAN_MODELS, file)));
  }
  const weights = Buffer.concat(buffers);
  return loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      ...(json.signature ? { signature: json.signature } : {}),
      ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
    }),
  );
}

/** Runs the tfjs model on the tensor and returns the named nodes' values. */
async function runTfjs(
  model: GraphModel,
  input: { data: Float32Array; dims: readonly number[] },
  nodes: readonly string[],
): Promise<Float32Array[]> {
  const x = tf.tensor(input.data, [...input.dims], 'float32');
  const outputs = model.execute(x, [...nodes]);
  const list = Array.isArray(outputs) ? outputs : [outputs];
  const values = await Promise.all(
    list.map(async (tensor) => (await tensor.data()) as Float32Array),
  );
  tf.dispose([x, ...list]);
  return values;
}

function onnxOutput(outputs: Record<string, Tensor>, name: string): Float32Array {
  const data = outputs[name]?.data;
  if (!(data instanceof Float32Array)) throw new Error(`no float output ${name}`);
  return data;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function maxAbs(a: Float32Array): number {
  let max = 0;
  for (const value of a) max = Math.max(max, Math.abs(value));
  return max;
}

/**
 * The tolerance for float32 tensors: max |onnx - tfjs| <= RELATIVE_TOLERANCE x max |tfjs|. Both
 * runtimes compute in float32 but sum in different orders (ORT's MLAS kernels vs tfjs's JS
 * loops), so differences scale with the values. Measured on this project's machine (x86-64,
 * AVX-512): 1.0e-6 (centernet features), <= 7e-7 (blazeface), 1.6e-6 (faceres descriptor).
 * 1e-5 leaves 6-25x room for other CPUs' kernels; a conversion error (a wrong weight, layout or
 * activation) is not rounding-sized.
 */
const RELATIVE_TOLERANCE = 1e-5;

function expectClose(actual: Float32Array, reference: Float32Array): void {
  expect(maxAbsDiff(actual, reference)).toBeLessThanOrEqual(RELATIVE_TOLERANCE * maxAbs(reference));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

async function fixture(name: string): Promise<DecodedImage> {
  return decodeRgb(await readFile(path.join(PROJECT_ROOT, 'test/fixtures/images', name)));
}

function feed(pixels: PreparedPixels): Tensor {
  return { type: 'float32', data: pixels.data, dims: pixels.dims };
}

describe('tfjs -> ONNX conversions agree with the original tfjs models', () => {
  let runtime: OnnxRuntime;

  /** Loads a converted model; runtime.close() releases it. */
  function session(name: string): Promise<ModelSession> {
    return runtime.load(name, path.join(CONVERTED, name, 'model.onnx'));
  }

  beforeAll(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
    runtime = createOnnxRuntime({
      executionProvider: 'cpu',
      intraOpThreads: 2,
      interOpThreads: 1,
      logger: createLogger('silent'),
    });
  });

  afterAll(async () => {
    await runtime.close();
  });

  it('centernet: detections and the backbone feature map (darknet dog photo)', async () => {
    const pixels = await toModelInput(await fixture('darknet-dog.jpg'), CENTERNET_PIXELS);
    const onnx = await (await session('centernet')).run({ images: feed(pixels) });
    const [detections, features] = await runTfjs(await loadTfjs('centernet'), pixels, [
      'tower_0/detections',
      'tower_0/extern1/hard_swish/mul_1',
    ]);
    const onnxDetections = onnxOutput(onnx, 'detections');
    const onnxFeatures = onnxOutput(onnx, 'features');
    expect(onnx.features?.dims).toEqual([1, 16, 16, 480]);
    expect(onnx.detections?.dims).toEqual([1, 100, 6]);

    // Feature map: measured max |diff| 7.2e-6 with values up to 7.06.
    expect(maxAbs(features!)).toBeGreaterThan(1);
    expectClose(onnxFeatures, features!);

    // Detections: the top-100 peaks come out in the same order. Rows that matter (score >= 0.1)
    // are compared field by field: same class, boxes within 1e-2 px of 512 (measured 5.3e-5),
    // scores within 1e-4 (measured 4.8e-7). Among the low-score tail a near-tie could swap
    // two rows on other hardware, so there only the sorted scores are compared.
    const rows = (data: Float32Array): number[][] =>
      Array.from({ length: 100 }, (_, row) => Array.from(data.subarray(row * 6, row * 6 + 6)));
    const tfjsRows = rows(detections!);
    const onnxRows = rows(onnxDetections);
    const confident = tfjsRows.filter((row) => row[4]! >= 0.1).length;
    expect(confident).toBeGreaterThanOrEqual(5);
    for (let row = 0; row < confident; row += 1) {
      const [x1, y1, x2, y2, score, classId] = tfjsRows[row]!;
      const other = onnxRows[row]!;
      expect(other[5]).toBe(classId);
      expect(Math.abs(other[4]! - score!)).toBeLessThan(1e-4);
      const boxDiff = Math.max(
        ...[x1!, y1!, x2!, y2!].map((value, i) => Math.abs(other[i]! - value)),
      );
      expect(boxDiff).toBeLessThan(1e-2);
    }
    const sortedScores = (r: number[][]): Float32Array =>
      Float32Array.from(r.map((row) => row[4]!).sort((a, b) => b - a));
    expect(maxAbsDiff(sortedScores(onnxRows), sortedScores(tfjsRows))).toBeLessThan(1e-4);
  });

  it('blazeface: raw logits and regressors (Grace Hopper portrait)', async () => {
    const pixels = await toModelInput(await fixture('grace-hopper.jpg'), BLAZEFACE_PIXELS);
    const onnx = await (await session('blazeface')).run({ input: feed(pixels) });
    const names = [
      BLAZEFACE_OUTPUTS.logits16,
      BLAZEFACE_OUTPUTS.logits32,
      BLAZEFACE_OUTPUTS.regressors16,
      BLAZEFACE_OUTPUTS.regressors32,
    ];
    // The original graph's outputs, in the same order (models/converted/blazeface/SOURCE.md).
    const tfjs = await runTfjs(await loadTfjs('blazeface'), pixels, [
      'Identity',
      'Identity_1',
      'Identity_2',
      'Identity_3',
    ]);
    // Logits reach |1480| (far background anchors), regressors |152| (256-px units); measured
    // max |diff| 6.1e-4, 2.3e-5, 1.1e-4, 7.2e-5 respectively, i.e. <= 7e-7 of the range.
    for (const [index, name] of names.entries()) expectClose(onnxOutput(onnx, name), tfjs[index]!);
    // The face is the most confident anchor in both.
    const best = (data: Float32Array): number => data.indexOf(Math.max(...data));
    expect(best(onnxOutput(onnx, BLAZEFACE_OUTPUTS.logits16))).toBe(best(tfjs[0]!));
  });

  it('faceres: descriptor, age and gender heads for a batch of two face crops', async () => {
    // Face crops as FaceAnalyzer makes them (square, 1.4x BlazeFace's box, measured on these
    // fixtures), batched: the converted model's batch dimension is dynamic.
    const hopper = cropWithPadding(
      await fixture('grace-hopper.jpg'),
      faceCropBox({ x: 167, y: 137, width: 199, height: 199 }, 1.4),
    );
    const astronaut = cropWithPadding(
      await fixture('skimage-astronaut.jpg'),
      faceCropBox({ x: 172, y: 74, width: 106, height: 106 }, 1.4),
    );
    const plane = 224 * 224 * 3;
    const data = new Float32Array(2 * plane);
    data.set((await toModelInput(hopper, FACERES_PIXELS)).data, 0);
    data.set((await toModelInput(astronaut, FACERES_PIXELS)).data, plane);
    const input = { data, dims: [2, 224, 224, 3] };
    const onnx = await (await session('faceres')).run({ input: { type: 'float32', ...input } });
    const [gender, descriptor, age] = await runTfjs(await loadTfjs('faceres'), input, [
      'gender_pred/Sigmoid',
      'global_pooling/Mean',
      'age_pred/Softmax',
    ]);
    expect(onnx[FACERES_OUTPUTS.descriptor]?.dims).toEqual([2, 1024]);
    const onnxDescriptor = onnxOutput(onnx, FACERES_OUTPUTS.descriptor);
    // Descriptor values reach 1.99; measured max |diff| 3.2e-6, cosine 1 - 9e-13.
    expectClose(onnxDescriptor, descriptor!);
    for (const face of [0, 1]) {
      const slice = (d: Float32Array): Float32Array => d.subarray(face * 1024, (face + 1) * 1024);
      expect(cosine(slice(onnxDescriptor), slice(descriptor!))).toBeGreaterThan(0.99999);
    }
    // Probabilities: within 1e-4 (measured 5.2e-8 for age, 4.5e-7 for gender).
    expect(maxAbsDiff(onnxOutput(onnx, FACERES_OUTPUTS.age), age!)).toBeLessThan(1e-4);
    expect(maxAbsDiff(onnxOutput(onnx, FACERES_OUTPUTS.gender), gender!)).toBeLessThan(1e-4);
  });
});
