import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { readManifest, type BundleManifest, type ManifestComponent } from '../models/bundle.js';
import type {
  EntityEncoders,
  ImageVectorEncoder,
  TextVectorEncoder,
} from '../services/encoders.js';
import { createOnnxRuntime, InferenceError, type OnnxRuntime } from './onnx-runtime.js';
import { createTextEncoder, type TextEncoder, type TextPooling } from './text-encoder.js';

/** Sessions of the active bundle, created once at start-up and released on shutdown. */
export interface ModelRegistry {
  readonly manifest: BundleManifest;
  readonly runtime: OnnxRuntime;
  readonly text: TextEncoder | null;
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

/**
 * Reads the bundle's manifest and loads the models the service uses. Fails with the bundle path
 * and the command that builds it when the bundle is missing.
 */
export async function createModelRegistry(
  config: Config['models'],
  logger: Logger,
  options: {
    imageEncoder?: (
      runtime: OnnxRuntime,
      bundleDir: string,
      component: ManifestComponent,
    ) => Promise<ImageVectorEncoder>;
  } = {},
): Promise<ModelRegistry> {
  const manifest = await readManifest(config.bundleDir);
  const runtime = createOnnxRuntime({
    executionProvider: config.executionProvider,
    intraOpThreads: config.intraOpThreads,
    interOpThreads: config.interOpThreads,
    logger,
  });
  try {
    const started = performance.now();
    const textComponent = manifest.components.text;
    const text = textComponent
      ? await loadTextEncoder(runtime, config.bundleDir, textComponent)
      : null;
    const imageComponent = manifest.components.image;
    const image =
      imageComponent && options.imageEncoder
        ? await options.imageEncoder(runtime, config.bundleDir, imageComponent)
        : null;
    logger.info(
      {
        bundle: manifest.id,
        provider: runtime.provider,
        loadMs: Math.round(performance.now() - started),
      },
      'model bundle loaded',
    );
    return {
      manifest,
      runtime,
      text,
      encoders: {
        bundleId: manifest.id,
        text: text && textComponent ? textVectorEncoder(text, textComponent.fingerprint) : null,
        image,
      },
      close: () => runtime.close(),
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}
