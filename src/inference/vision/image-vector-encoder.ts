import type { PixelBox } from '../../geometry/box.js';
import path from 'node:path';
import { decodeRgb, type ImageLimits } from '../../images/image-decoding.js';
import type { ManifestComponent } from '../../models/bundle.js';
import type { ImageVectorEncoder } from '../encoders.js';
import { ImageEncoder, loadClassList } from './image-encoder.js';
import { loadRobustImageHead } from './image-robust-head.js';
import { cropRgb, mirrorRgb, type DecodedImage, type PixelSpec } from './image-preprocess.js';
import { InferenceError, type ModelLoader } from '../runtime/onnx-runtime.js';

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
    runtime: ModelLoader,
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
  runtime: ModelLoader,
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
  const head = robustComponent
    ? await loadRobustImageHead(runtime, bundleDir, robustComponent)
    : null;
  // The head's input: the plain vector, or (flip) the plain and mirrored views' vectors summed and
  // re-normalised, as it was fitted (models/xdep/robust_head.py).
  const robustOf = head
    ? async (pictures: readonly DecodedImage[], plain: readonly Float32Array[]) => {
        if (!head.flip) return head.project(plain);
        const mirrored = (await encoder.embedBatch(pictures.map(mirrorRgb))).map(checked);
        return head.project(plain.map((vector, index) => averaged(vector, mirrored[index]!)));
      }
    : null;
  const picture = async (bytes: Uint8Array, box?: PixelBox) => {
    const image = await decode(bytes);
    return box ? cropRgb(image, box) : image;
  };
  return {
    // One fingerprint for both vectors of an Image node: a new head makes the stored robust
    // vectors stale, and re-encoding rewrites both.
    fingerprint: head ? `${component.fingerprint}+${head.fingerprint}` : component.fingerprint,
    dimension: config.dimension,
    robustDimension: head?.dimension ?? null,
    async encodeImage(bytes, box) {
      return checked(await encoder.embed(await picture(bytes, box)));
    },
    async encodeImageVectors(bytes, box) {
      const image = await picture(bytes, box);
      const embedding = checked(await encoder.embed(image));
      const [robust] = robustOf ? await robustOf([image], [embedding]) : [];
      return { embedding, robust: robust ?? null };
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
      async embedCropsWithRobust(image, boxes, robust) {
        const crops = await Promise.all(boxes.map((box) => cropRgb(image, box)));
        const wanted = head ? robust : [];
        // The mirrored views ride in the plain crops' batch: one model run fewer per request.
        const mirrored = head?.flip ? wanted.map((index) => mirrorRgb(crops[index]!)) : [];
        const vectors = (await encoder.embedBatch([...crops, ...mirrored])).map(checked);
        const embeddings = vectors.slice(0, crops.length);
        const projected =
          head && wanted.length > 0
            ? await head.project(
                wanted.map((index, row) =>
                  head.flip
                    ? averaged(embeddings[index]!, vectors[crops.length + row]!)
                    : embeddings[index]!,
                ),
              )
            : [];
        const robustVectors: (Float32Array | null)[] = boxes.map(() => null);
        wanted.forEach((index, row) => (robustVectors[index] = projected[row] ?? null));
        return { embeddings, robust: robustVectors };
      },
    },
  };
}

/** The L2-normalised sum of two L2-normalised vectors (their mean direction). */
function averaged(a: Float32Array, b: Float32Array): Float32Array {
  const sum = new Float32Array(a.length);
  let norm = 0;
  for (let i = 0; i < a.length; i += 1) {
    sum[i] = a[i]! + b[i]!;
    norm += sum[i]! * sum[i]!;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < sum.length; i += 1) sum[i]! *= scale;
  return sum;
}
