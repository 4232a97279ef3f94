import type { LinkerModel } from '../inference/linker/linker-model.js';
import { InferenceError } from '../inference/runtime/onnx-runtime.js';
import type { TextEncoder } from '../inference/text/text-encoder.js';
import type { DecodedImageEncoder, TextVectorEncoder } from '../inference/encoders.js';
import { featureLayout, type FeatureSlot } from './link-units.js';
import type { RegionModels } from './regions.js';

/** What `linkImage` needs of the trained linker. */
export type LinkingLinker = Pick<
  LinkerModel,
  | 'fingerprint'
  | 'name'
  | 'version'
  | 'manifest'
  | 'thresholds'
  | 'calibration'
  | 'contextCodes'
  | 'scoreMany'
>;

/** The bundle's models as `linkImage` uses them; null where the bundle lacks one. */
export interface LinkingModels {
  readonly bundleId: string;
  readonly linker: LinkingLinker | null;
  /** Caption token states (the text encoder). */
  readonly tokens: Pick<TextEncoder, 'encodeTokens' | 'maxLength'> | null;
  /** Mention vectors for dense text retrieval. */
  readonly text: Pick<TextVectorEncoder, 'encodeQuery'> | null;
  readonly image: DecodedImageEncoder | null;
  /** Detector, faces and OCR for region proposals (loaded on first use). */
  vision(): Promise<RegionModels>;
}

/** The models of one request, every one `linkImage` cannot do without present. */
export interface ReadyModels extends LinkingModels {
  readonly linker: LinkingLinker;
  readonly tokens: NonNullable<LinkingModels['tokens']>;
  readonly text: NonNullable<LinkingModels['text']>;
  readonly image: DecodedImageEncoder;
  readonly layout: readonly FeatureSlot[];
}

/** The bundle's models with the linker's feature layout; INFERENCE_FAILED when one is missing. */
export function readyModels(models: LinkingModels | null): ReadyModels {
  if (!models?.linker) {
    throw new InferenceError(
      'linkImage needs the trained linker, and the model bundle has no linker' +
        (models ? '' : ' (the service runs without models)'),
    );
  }
  const { linker, tokens, text, image } = models;
  if (!tokens || !text || !image) {
    throw new InferenceError('linkImage needs the bundle’s text and image encoders as well');
  }
  return {
    ...models,
    linker,
    tokens,
    text,
    image,
    layout: featureLayout(linker.manifest.generatorFeatures),
  };
}
