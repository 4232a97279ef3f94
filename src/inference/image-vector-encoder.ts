import path from 'node:path';
import { decodeRgb, type ImageLimits } from '../images/image-decoding.js';
import type { ManifestComponent } from '../models/bundle.js';
import type { ImageVectorEncoder } from '../services/encoders.js';
import { ImageEncoder, loadClassList } from './image-encoder.js';
import { loadRobustImageHead } from './image-robust-head.js';
import { cropRgb, type PixelSpec } from './image-preprocess.js';
import { InferenceError, type OnnxRuntime } from './onnx-runtime.js';

/** The image component's settings in the bundle manifest. */
interface ImageComponentConfig {
  readonly dimension: number;
  readonly pixels: PixelSpec;
}

function readConfig(component: ManifestComponent): ImageComponentConfig {
  const { dimension, pixels } = component.config as Partial<ImageComponentConfig>;
  if (typeof dimension !== 'number' || typeof pixels !== 'object') {
    throw new InferenceError('The image component needs config.dimension and config.pixels');
  }
  return { dimension, pixels };
}

/**
 * The model registry's image encoder factory, decoding under the service's image limits (SVG
 * policy, sizes, decode timeout): the encoders decode every pixel, stored images included.
 */
export function imageVectorEncoderFactory(limits: ImageLimits) {
  return (
    runtime: OnnxRuntime,
    bundleDir: string,
    component: ManifestComponent,
    robustComponent?: ManifestComponent,
  ) =>
    createImageVectorEncoder(runtime, {
      bundleDir,
      component,
      limits,
      ...(robustComponent ? { robustComponent } : {}),
    });
}

/**
 * The bundle's image model as the registry and candidate generation use it: a whole image or a
 * box of it in, one L2-normalised vector out. A box is cropped at full resolution before resizing,
 * so a small region keeps its detail.
 */
export async function createImageVectorEncoder(
  runtime: OnnxRuntime,
  {
    bundleDir,
    component,
    limits,
    robustComponent,
  }: {
    bundleDir: string;
    component: ManifestComponent;
    limits: ImageLimits;
    robustComponent?: ManifestComponent;
  },
): Promise<ImageVectorEncoder> {
  const decode = (bytes: Uint8Array) => decodeRgb(bytes, limits);
  const config = readConfig(component);
  const model = component.files['model.onnx'];
  if (!model) throw new InferenceError('The image component has no model.onnx');
  const classesFile = component.files['classes.txt'];
  const encoder = new ImageEncoder({
    session: await runtime.load('image', path.join(bundleDir, model.path)),
    pixels: config.pixels,
    ...(classesFile
      ? { classes: await loadClassList(path.join(bundleDir, classesFile.path)) }
      : {}),
  });
  const checked = (vector: Float32Array): Float32Array => {
    if (vector.length !== config.dimension) {
      throw new InferenceError(
        `The image encoder returned ${vector.length} values, not ${config.dimension}`,
      );
    }
    return vector;
  };
  const robust = robustComponent
    ? await loadRobustImageHead(runtime, bundleDir, robustComponent)
    : null;
  return {
    // One fingerprint for both vectors of an Image node: a new head makes the stored robust
    // vectors stale, and re-encoding rewrites both.
    fingerprint: robust ? `${component.fingerprint}+${robust.fingerprint}` : component.fingerprint,
    dimension: config.dimension,
    ...(robust ? { robust } : {}),
    async encodeImage(bytes, box) {
      const image = await decode(bytes);
      return checked(await encoder.embed(box ? await cropRgb(image, box) : image));
    },
    decoded: {
      decode,
      async embedCrops(image, boxes) {
        // One batched run: about a fifth faster than a run per crop on 2 cores, and on the CPU
        // provider the vectors equal encodeImage's per box (test/models/model-registry.test.ts).
        const crops = await Promise.all(boxes.map((box) => cropRgb(image, box)));
        return (await encoder.embedBatch(crops)).map(checked);
      },
      async regionFeatures(image, boxes) {
        return (await encoder.regionFeatures(image, boxes)).map(checked);
      },
      ...(robust ? { robust } : {}),
    },
  };
}
