import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface Tensor {
  readonly type: 'float32' | 'int64' | 'int32' | 'uint8';
  readonly data: TensorData;
  readonly dims: readonly number[];
}

/** A model input or output as the ONNX file declares it; symbolic dimensions stay strings. */
export interface TensorSignature {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

export interface ModelSession {
  readonly name: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
  /** Runs the model; every input it declares must be fed, and nothing else. */
  run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface OnnxRuntimeOptions {
  readonly executionProvider: ExecutionProvider;
  /** Threads inside one operator; 0 lets ONNX Runtime choose (one per core). */
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  /**
   * Whether idle intra-op threads spin-wait for work (ONNX Runtime's default). Off by default: a
   * request runs its text and image models at once, next to Neo4j, and on a small machine
   * spinning threads take the cores the others need (2 cores, bench/link-image-latency.ts, V&T-KG,
   * 20 queries x 2 runs, 2026-11-25, a run not committed: p50 141 ms spinning, 111 ms not).
   */
  readonly spinning?: boolean;
  readonly logger: Logger;
}

export interface OnnxRuntime {
  /** The provider sessions really run on, after any fallback. */
  readonly provider: ExecutionProvider;
  /** A model from its file, or from its bytes (a model small enough to live in the source). */
  load(name: string, file: string | Uint8Array): Promise<ModelSession>;
  /** Releases every session this runtime created. */
  close(): Promise<void>;
}

/** Inference failures reach clients as INTERNAL_SERVER_ERROR-class errors with a stable code. */
export class InferenceError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(message, ErrorCode.InferenceFailed);
    this.cause = cause;
  }
}

/**
 * True when this onnxruntime-node can create CUDA sessions: the npm package ships without the
 * CUDA provider library, which its install step adds only when told to (ONNXRUNTIME_NODE_INSTALL=cuda12).
 */
export function cudaAvailable(): boolean {
  const cuda = ort.listSupportedBackends().find((backend) => backend.name === 'cuda');
  if (!cuda) return false;
  if (cuda.bundled) return true;
  const packageDir = path.dirname(
    createRequire(import.meta.url).resolve('onnxruntime-node/package.json'),
  );
  const binDir = path.join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(path.join(binDir, 'libonnxruntime_providers_cuda.so'));
}

function toOrtTensor(tensor: Tensor): ort.Tensor {
  return new ort.Tensor(tensor.type, tensor.data, tensor.dims);
}

function fromOrtTensor(tensor: ort.Tensor): Tensor {
  return {
    type: tensor.type as Tensor['type'],
    data: tensor.data as TensorData,
    dims: [...tensor.dims],
  };
}

function toSignature(metadata: ort.InferenceSession.ValueMetadata): TensorSignature {
  return metadata.isTensor
    ? { name: metadata.name, type: metadata.type, shape: [...metadata.shape] }
    : { name: metadata.name, type: 'non-tensor', shape: [] };
}

/**
 * The one owner of onnxruntime-node. CUDA is used only when asked for and loadable;
 * otherwise sessions run on CPU and the fallback is logged once, with the reason.
 */
export function createOnnxRuntime(options: OnnxRuntimeOptions): OnnxRuntime {
  let provider: ExecutionProvider = options.executionProvider;
  if (provider === 'cuda' && !cudaAvailable()) {
    options.logger.warn(
      'CUDA was requested but this onnxruntime-node has no CUDA provider; running on CPU ' +
        '(reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 where the internet is reachable)',
    );
    provider = 'cpu';
  }
  const sessions = new Set<ModelSession>();

  async function createSession(file: string | Uint8Array): Promise<ort.InferenceSession> {
    // The two overloads (path, bytes) take the same options.
    const open = (sessionOptions: ort.InferenceSession.SessionOptions) =>
      typeof file === 'string'
        ? ort.InferenceSession.create(file, sessionOptions)
        : ort.InferenceSession.create(file, sessionOptions);
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: options.interOpThreads,
      extra: {
        session: {
          intra_op: { allow_spinning: options.spinning ? '1' : '0' },
          inter_op: { allow_spinning: options.spinning ? '1' : '0' },
        },
      },
    };
    if (provider === 'cuda') {
      try {
        return await open({ ...base, executionProviders: ['cuda', 'cpu'] });
      } catch (error) {
        options.logger.warn(
          { err: error, file: typeof file === 'string' ? file : 'bytes' },
          'CUDA session failed; falling back to CPU',
        );
        provider = 'cpu';
      }
    }
    return open({ ...base, executionProviders: ['cpu'] });
  }

  return {
    get provider() {
      return provider;
    },
    async load(name, file) {
      let session: ort.InferenceSession;
      try {
        session = await createSession(file);
      } catch (error) {
        const from = typeof file === 'string' ? file : `${file.byteLength} bytes`;
        throw new InferenceError(`Cannot load model "${name}" from ${from}`, error);
      }
      const inputNames = [...session.inputNames];
      const outputNames = [...session.outputNames];
      const model: ModelSession = {
        name,
        inputNames,
        outputNames,
        inputs: session.inputMetadata.map(toSignature),
        outputs: session.outputMetadata.map(toSignature),
        async run(feeds) {
          const given = Object.keys(feeds).sort();
          const expected = [...inputNames].sort();
          if (given.join('\0') !== expected.join('\0')) {
            throw new InferenceError(
              `Model "${name}" takes inputs [${expected.join(', ')}], was given [${given.join(', ')}]`,
            );
          }
          const ortFeeds = Object.fromEntries(
            Object.entries(feeds).map(([key, tensor]) => [key, toOrtTensor(tensor)]),
          );
          let results: ort.InferenceSession.ReturnType;
          try {
            results = await session.run(ortFeeds);
          } catch (error) {
            throw new InferenceError(`Model "${name}" failed to run`, error);
          }
          return Object.fromEntries(
            Object.entries(results).map(([key, tensor]) => [key, fromOrtTensor(tensor)]),
          );
        },
        async release() {
          sessions.delete(model);
          await session.release();
        },
      };
      sessions.add(model);
      return model;
    },
    async close() {
      await Promise.all([...sessions].map((session) => session.release()));
    },
  };
}
