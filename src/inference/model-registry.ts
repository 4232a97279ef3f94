import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { readManifest, type BundleManifest, type ManifestComponent } from '../models/bundle.js';
import type {
  CandidateVectorEncoder,
  EntityEncoders,
  ImageVectorEncoder,
  TextVectorEncoder,
} from './encoders.js';
import { checkEntitySeparator, linkerEntityText } from './linker/linker-features.js';
import {
  LINKER_MANIFEST_FILE,
  LinkerModel,
  type CandidateFeatures,
} from './linker/linker-model.js';
import {
  createOnnxRuntime,
  InferenceError,
  type ModelLoader,
  type OnnxRuntime,
} from './runtime/onnx-runtime.js';
import { FaceAnalyzer, type FaceAnalyzerConfig } from './vision/face-analyzer.js';
import { ObjectDetector, type ObjectDetectorConfig } from './vision/object-detector.js';
import { OcrReader, type OcrOptions } from './vision/ocr.js';
import { createTextEncoder, type TextEncoder, type TextPooling } from './text/text-encoder.js';

/** The bundle's vision models for reading a query image; null where the bundle lacks them. */
export interface VisionModels {
  readonly detector: ObjectDetector | null;
  readonly faces: FaceAnalyzer | null;
  readonly ocr: OcrReader | null;
}

/** Sessions of the active bundle, created once and released on shutdown. */
export interface ModelRegistry {
  readonly manifest: BundleManifest;
  readonly runtime: OnnxRuntime;
  readonly text: TextEncoder | null;
  /** The trained linker, when the bundle has one. */
  readonly linker: LinkerModel | null;
  /**
   * Detector, faces and OCR, loaded on first use: registration and candidate generation do not
   * need them, so a service that never links images never pays for them.
   */
  vision(): Promise<VisionModels>;
  /** The registry's models as the services see them. */
  readonly encoders: EntityEncoders;
  close(): Promise<void>;
}

function fileOf(bundleDir: string, component: ManifestComponent, name: string): string {
  const file = component.files[name];
  if (!file) throw new InferenceError(`Bundle component is missing its ${name}`);
  return path.join(bundleDir, file.path);
}

function numberSetting(component: ManifestComponent, key: string): number {
  const value = component.config[key];
  if (typeof value !== 'number') throw new InferenceError(`Bundle setting ${key} must be a number`);
  return value;
}

function optionalString(component: ManifestComponent, key: string): string | undefined {
  const value = component.config[key];
  return typeof value === 'string' ? value : undefined;
}

async function loadTextEncoder(
  runtime: OnnxRuntime,
  bundleDir: string,
  component: ManifestComponent,
): Promise<TextEncoder> {
  const queryPrefix = optionalString(component, 'queryPrefix');
  const passagePrefix = optionalString(component, 'passagePrefix');
  return createTextEncoder(runtime, {
    name: 'text',
    modelFile: fileOf(bundleDir, component, 'model.onnx'),
    tokenizerFile: fileOf(bundleDir, component, 'tokenizer.json'),
    maxLength: numberSetting(component, 'maxLength'),
    pooling: component.config.pooling as TextPooling,
    dimension: numberSetting(component, 'dimension'),
    ...(typeof component.config.batchSize === 'number'
      ? { batchSize: component.config.batchSize }
      : {}),
    ...(queryPrefix !== undefined ? { queryPrefix } : {}),
    ...(passagePrefix !== undefined ? { passagePrefix } : {}),
  });
}

function textVectorEncoder(encoder: TextEncoder, fingerprint: string): TextVectorEncoder {
  return {
    fingerprint,
    dimension: encoder.dimension,
    async encodePassages(texts) {
      return (await encoder.encode(texts, 'passage')).pooled;
    },
    async encodeQuery(text) {
      const [vector] = (await encoder.encode([text], 'query')).pooled;
      if (!vector) throw new InferenceError('The text encoder returned no vector');
      return vector;
    },
  };
}

async function loadLinker(
  runtime: OnnxRuntime,
  bundleDir: string,
  component: ManifestComponent,
): Promise<LinkerModel> {
  const manifestFile = fileOf(bundleDir, component, LINKER_MANIFEST_FILE);
  const { batchSize } = component.config;
  return LinkerModel.load(runtime, {
    dir: path.dirname(manifestFile),
    fingerprint: component.fingerprint,
    ...(typeof batchSize === 'number' ? { batchSize } : {}),
  });
}

/**
 * The linker's candidate encoder over the bundle's text encoder: an entity's `name [SEP]
 * description` is encoded as the features the linker was trained on (eval/features/FORMAT.md: no
 * prefix, at most `maxTokens` tokens, last hidden states), its images are the image encoder's
 * vectors, and the linker turns both into one vector.
 */
async function candidateVectorEncoder(
  linker: LinkerModel,
  text: TextEncoder,
  image: ImageVectorEncoder,
): Promise<CandidateVectorEncoder> {
  const { text: textLayout, image: imageLayout } = linker.manifest;
  if (textLayout.dimension !== text.dimension || imageLayout.dimension !== image.dimension) {
    throw new InferenceError(
      `The linker takes ${textLayout.dimension}-d token states and ${imageLayout.dimension}-d ` +
        `image vectors; the bundle's encoders give ${text.dimension} and ${image.dimension}`,
    );
  }
  await checkEntitySeparator(text, textLayout.entitySeparator);
  const tokenOptions = {
    maxLength: Math.min(textLayout.maxTokens, text.maxLength),
    prefix: textLayout.prefix,
  };
  return {
    fingerprint: linker.fingerprint,
    dimension: linker.dimension,
    async encodeEntities(entities) {
      const features: CandidateFeatures[] = [];
      for (const entity of entities) {
        const tokens = await text.encodeTokens(
          linkerEntityText(entity, textLayout.entitySeparator),
          'passage',
          tokenOptions,
        );
        features.push({ tokenStates: tokens.states, images: entity.imageVectors });
      }
      return linker.encodeCandidates(features);
    },
  };
}

function settings<T extends object>(
  component: ManifestComponent,
  keys: readonly (keyof T)[],
): Partial<T> {
  return Object.fromEntries(
    keys
      .filter((key) => typeof component.config[key as string] === 'number')
      .map((key) => [key, component.config[key as string]]),
  ) as Partial<T>;
}

async function loadVision(
  runtime: ModelLoader,
  bundleDir: string,
  manifest: BundleManifest,
): Promise<VisionModels> {
  const { detector, faceDetector, faceDescriptor, ocrDetector, ocrRecognizer } =
    manifest.components;
  return {
    detector: detector
      ? new ObjectDetector(
          await runtime.load('detector', fileOf(bundleDir, detector, 'model.onnx')),
          settings<ObjectDetectorConfig>(detector, ['minScore', 'maxDetections', 'iouThreshold']),
        )
      : null,
    faces:
      faceDetector && faceDescriptor
        ? new FaceAnalyzer(
            {
              detector: await runtime.load(
                'faceDetector',
                fileOf(bundleDir, faceDetector, 'model.onnx'),
              ),
              descriptor: await runtime.load(
                'faceDescriptor',
                fileOf(bundleDir, faceDescriptor, 'model.onnx'),
              ),
            },
            settings<FaceAnalyzerConfig>(faceDetector, ['minScore', 'iouThreshold']),
          )
        : null,
    ocr:
      ocrDetector && ocrRecognizer
        ? await OcrReader.load(
            runtime,
            {
              detector: fileOf(bundleDir, ocrDetector, 'model.onnx'),
              recognizer: fileOf(bundleDir, ocrRecognizer, 'model.onnx'),
              dictionary: fileOf(bundleDir, ocrRecognizer, 'keys.txt'),
            },
            {
              ...settings<OcrOptions>(ocrDetector, ['detLimitSideLen', 'detMinSideLen']),
              ...settings<OcrOptions>(ocrRecognizer, ['recHeight']),
            },
          )
        : null,
  };
}

/**
 * Reads the bundle's manifest and loads the models the service uses. Fails with the bundle path
 * and the command that builds it when the bundle is missing.
 */
export async function createModelRegistry(
  config: Config['models'],
  logger: Logger,
  options: {
    imageEncoder?: (
      runtime: ModelLoader,
      bundleDir: string,
      component: ManifestComponent,
      robustComponent?: ManifestComponent,
    ) => Promise<ImageVectorEncoder>;
  } = {},
): Promise<ModelRegistry> {
  const manifest = await readManifest(config.bundleDir);
  const runtime = createOnnxRuntime({
    executionProvider: config.executionProvider,
    cudaDir: config.cudaDir,
    intraOpThreads: config.intraOpThreads,
    interOpThreads: config.interOpThreads,
    spinning: config.spinning,
    logger,
  });
  // onnxruntime-node runs a model on the thread that calls it: the image side of a request
  // overlaps its text side (src/linking/) only from another thread.
  const visionRuntime = config.onnxWorkers === 'vision' ? runtime.worker('vision') : runtime;
  try {
    const started = performance.now();
    const textComponent = manifest.components.text;
    const text = textComponent
      ? await loadTextEncoder(runtime, config.bundleDir, textComponent)
      : null;
    const imageComponent = manifest.components.image;
    const image =
      imageComponent && options.imageEncoder
        ? await options.imageEncoder(
            visionRuntime,
            config.bundleDir,
            imageComponent,
            manifest.components.imageRobust,
          )
        : null;
    const linkerComponent = manifest.components.linker;
    const linker = linkerComponent
      ? await loadLinker(runtime, config.bundleDir, linkerComponent)
      : null;
    const candidate =
      linker && text && image ? await candidateVectorEncoder(linker, text, image) : null;
    if (linker && !candidate) {
      logger.warn('the bundle has a linker but no text or image encoder: no candidate vectors');
    }
    logger.info(
      {
        bundle: manifest.id,
        ...(linker
          ? {
              linker: `${linker.name}@${linker.version}`,
              ...(linker.manifest.untrained ? { untrained: true } : {}),
            }
          : {}),
        provider: runtime.provider,
        loadMs: Math.round(performance.now() - started),
      },
      'model bundle loaded',
    );
    let vision: Promise<VisionModels> | null = null;
    return {
      manifest,
      runtime,
      text,
      linker,
      vision() {
        vision ??= loadVision(visionRuntime, config.bundleDir, manifest);
        return vision;
      },
      encoders: {
        bundleId: manifest.id,
        text: text && textComponent ? textVectorEncoder(text, textComponent.fingerprint) : null,
        image,
        candidate,
      },
      close: () => runtime.close(),
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}
