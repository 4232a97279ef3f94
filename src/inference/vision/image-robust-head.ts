import path from 'node:path';
import type { ManifestComponent } from '../../models/bundle.js';
import { InferenceError, type ModelLoader } from '../runtime/onnx-runtime.js';

/**
 * The bundle's style-robust image head (component `imageRobust`, issue 12): a small ONNX graph
 * that maps the image encoder's L2-normalised pooled vectors to vectors in which the same thing
 * drawn in another style lies closer (PCA whitening fitted on an unlabelled pool of registry
 * pictures; models/converted/image-robust/SOURCE.md). It reads vectors, not pixels, so it costs
 * no second pass of the trunk: a region's robust vector comes from the crop vector the service
 * already computes for DENSE_IMAGE.
 */
export interface RobustImageHead {
  readonly fingerprint: string;
  readonly dimension: number;
  /**
   * Whether the head takes the mean direction of a picture's plain and mirrored views (a second
   * pass of the trunk, on the mirrored picture) rather than the plain vector alone.
   */
  readonly flip: boolean;
  /** One L2-normalised robust vector per input vector, in order. */
  project(vectors: readonly ArrayLike<number>[]): Promise<Float32Array[]>;
}

interface HeadConfig {
  /** The robust vector's length. */
  readonly dimension: number;
  /** The pooled vector's length the head takes (the image component's dimension). */
  readonly inputDimension: number;
  readonly input: string;
  readonly output: string;
  readonly views: 'plain' | 'plain+mirrored';
}

function readConfig(component: ManifestComponent): HeadConfig {
  const { dimension, inputDimension, input, output, views } =
    component.config as Partial<HeadConfig>;
  if (
    typeof dimension !== 'number' ||
    typeof inputDimension !== 'number' ||
    typeof input !== 'string' ||
    typeof output !== 'string' ||
    (views !== 'plain' && views !== 'plain+mirrored')
  ) {
    throw new InferenceError(
      'The imageRobust component needs config.dimension, inputDimension, input, output and views (plain or plain+mirrored)',
    );
  }
  return { dimension, inputDimension, input, output, views };
}

export async function loadRobustImageHead(
  runtime: ModelLoader,
  bundleDir: string,
  component: ManifestComponent,
): Promise<RobustImageHead> {
  const config = readConfig(component);
  const model = component.files['model.onnx'];
  if (!model) throw new InferenceError('The imageRobust component has no model.onnx');
  const session = await runtime.load('imageRobust', path.join(bundleDir, model.path));
  return {
    fingerprint: component.fingerprint,
    dimension: config.dimension,
    flip: config.views === 'plain+mirrored',
    async project(vectors) {
      if (vectors.length === 0) return [];
      const batch = new Float32Array(vectors.length * config.inputDimension);
      vectors.forEach((vector, row) => {
        if (vector.length !== config.inputDimension) {
          throw new InferenceError(
            `The robust image head takes ${config.inputDimension} values, not ${vector.length}`,
          );
        }
        batch.set(Array.from(vector), row * config.inputDimension);
      });
      const outputs = await session.run({
        [config.input]: {
          type: 'float32',
          data: batch,
          dims: [vectors.length, config.inputDimension],
        },
      });
      const projected = outputs[config.output];
      if (!projected || projected.data.length !== vectors.length * config.dimension) {
        throw new InferenceError(
          `The robust image head returned no ${config.output} of the expected size`,
        );
      }
      const data = projected.data as Float32Array;
      return vectors.map((_, row) =>
        data.slice(row * config.dimension, (row + 1) * config.dimension),
      );
    },
  };
}
