import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { AppError, ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

export interface Tensor {
  readonly type: 'float32' | 'int64' | 'int32' | 'uint8' | 'int8';
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
  /**
   * Where scripts/setup-cuda.sh assembled the CUDA runtime (`<dir>/runtime`): a private copy of
   * onnxruntime-node with the CUDA providers next to its libonnxruntime.so.1. Read only for cuda.
   */
  readonly cudaDir?: string;
  /**
   * Reads which provider ran each node from ONNX Runtime's profile of every session's first run
   * (onnxruntime-node reports no placement otherwise). On by default for cuda, where a session
   * may create fine and still run most of its nodes on CPU.
   */
  readonly reportPlacement?: boolean;
  readonly logger: Logger;
}

/** Where a model session really runs, as opposed to where it was asked to. */
export interface SessionPlacement {
  readonly model: string;
  readonly requested: ExecutionProvider;
  /** The providers the session was created with: cuda (with CPU for the nodes CUDA lacks) or cpu. */
  readonly provider: ExecutionProvider;
  /** Why a cuda request runs on CPU. */
  readonly fallbackReason?: string;
  /** Nodes per ONNX Runtime provider in the session's first run (`reportPlacement`). */
  readonly nodes?: Readonly<Record<string, number>>;
}

export interface OnnxRuntime {
  /** The provider sessions really run on, after any fallback. */
  readonly provider: ExecutionProvider;
  /** Why a cuda request fell back to CPU, when it did. */
  readonly fallbackReason: string | null;
  /** Each loaded model's placement; `nodes` appears after its first run when reported. */
  placements(): readonly SessionPlacement[];
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

const PROVIDER_LIBRARY = 'libonnxruntime_providers_cuda.so';
const BINDING_DIR = path.join('bin', 'napi-v6', process.platform, process.arch);

/** The onnxruntime-node this process runs; a process can hold one (see `loadOrt`). */
let loadedOrt: { readonly module: typeof Ort; readonly packageDir: string } | null = null;

/**
 * Loads onnxruntime-node from `packageDir`, or returns the copy already loaded. Only one can live
 * in a process: the binding links libonnxruntime.so.1 by soname, so a second copy's binding
 * would bind to the first copy's library, and ONNX Runtime opens provider libraries from the
 * folder of the libonnxruntime.so it runs from.
 */
function loadOrt(packageDir: string): { module: typeof Ort; packageDir: string } {
  loadedOrt ??= {
    module: createRequire(import.meta.url)(packageDir) as typeof Ort,
    packageDir,
  };
  return loadedOrt;
}

function npmPackageDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
}

/** The assembled CUDA copy of onnxruntime-node under `cudaDir`, when setup-cuda.sh made one. */
export function cudaPackageDir(cudaDir: string): string | null {
  const dir = path.join(cudaDir, 'runtime', 'node_modules', 'onnxruntime-node');
  return existsSync(path.join(dir, BINDING_DIR, PROVIDER_LIBRARY)) ? dir : null;
}

/**
 * Why the CUDA provider library cannot load, from the dynamic linker: ONNX Runtime's own error
 * says only "Failed to load shared library" (the detail goes to stderr). Null when ldd is missing
 * or finds nothing missing.
 */
function missingLibraries(packageDir: string): string | null {
  let listing: string;
  try {
    listing = execFileSync('ldd', [path.join(packageDir, BINDING_DIR, PROVIDER_LIBRARY)], {
      encoding: 'utf8',
      timeout: 10_000,
    });
  } catch {
    return null;
  }
  const missing = [...listing.matchAll(/^\s*(\S+) => not found/gm)].map((match) => match[1]!);
  if (missing.length === 0) return null;
  const driver = missing.includes('libcuda.so.1')
    ? 'libcuda.so.1 (the NVIDIA driver) is not installed'
    : null;
  const libraries = missing.filter((name) => name !== 'libcuda.so.1');
  const cuda =
    libraries.length > 0
      ? `CUDA libraries not on the library path: ${[...new Set(libraries)].join(', ')} ` +
        '(LD_LIBRARY_PATH must include <POLYLINK_CUDA_DIR>/runtime/lib; scripts/start.sh sets it)'
      : null;
  return [driver, cuda].filter((part) => part !== null).join('; ');
}

/** Nodes per provider in an ONNX Runtime profile (Chrome trace events with `args.provider`). */
export function nodesPerProvider(profile: unknown): Record<string, number> {
  const nodes = new Map<string, Set<string>>();
  if (!Array.isArray(profile)) return {};
  for (const event of profile as {
    cat?: unknown;
    name?: unknown;
    args?: { provider?: unknown };
  }[]) {
    const provider = event.args?.provider;
    if (event.cat !== 'Node' || typeof provider !== 'string' || typeof event.name !== 'string') {
      continue;
    }
    const names = nodes.get(provider) ?? new Set<string>();
    names.add(event.name);
    nodes.set(provider, names);
  }
  return Object.fromEntries([...nodes].map(([provider, names]) => [provider, names.size]));
}

function toOrtTensor(ort: typeof Ort, tensor: Tensor): Ort.Tensor {
  return new ort.Tensor(tensor.type, tensor.data, tensor.dims);
}

function fromOrtTensor(tensor: Ort.Tensor): Tensor {
  return {
    type: tensor.type as Tensor['type'],
    data: tensor.data as TensorData,
    dims: [...tensor.dims],
  };
}

function toSignature(metadata: Ort.InferenceSession.ValueMetadata): TensorSignature {
  return metadata.isTensor
    ? { name: metadata.name, type: metadata.type, shape: [...metadata.shape] }
    : { name: metadata.name, type: 'non-tensor', shape: [] };
}

/**
 * The one owner of onnxruntime-node. CUDA is used only when asked for and loadable; otherwise
 * sessions run on CPU, and the fallback is logged with the reason. Every session's placement
 * (where it really runs) is logged and kept for `placements()`.
 */
export function createOnnxRuntime(options: OnnxRuntimeOptions): OnnxRuntime {
  const { logger } = options;
  const requested = options.executionProvider;
  let provider: ExecutionProvider = requested;
  let fallbackReason: string | null = null;
  const fallBack = (reason: string) => {
    provider = 'cpu';
    fallbackReason = reason;
    logger.warn({ reason }, 'CUDA was requested; running every model on CPU');
  };

  let ort: typeof Ort;
  const cudaDir = options.cudaDir ?? path.resolve('var/cuda');
  const cudaPackage = requested === 'cuda' ? cudaPackageDir(cudaDir) : null;
  if (requested === 'cuda' && cudaPackage === null) {
    ort = loadOrt(npmPackageDir()).module;
    fallBack(
      `no CUDA runtime assembled under ${cudaDir} (scripts/setup-cuda.sh assembles it from PyPI)`,
    );
  } else if (cudaPackage !== null) {
    const loaded = loadOrt(cudaPackage);
    ort = loaded.module;
    if (loaded.packageDir !== cudaPackage) {
      fallBack(
        `this process loaded onnxruntime-node from ${loaded.packageDir} before the CUDA copy in ` +
          `${cudaPackage}, and can hold only one`,
      );
    }
  } else {
    // CPU sessions run as well from an already loaded CUDA copy: the same ONNX Runtime build.
    ort = loadOrt(npmPackageDir()).module;
  }

  const reportPlacement = options.reportPlacement ?? requested === 'cuda';
  let profileDir: string | null = null;
  const sessions = new Set<ModelSession>();
  const placements = new Map<string, SessionPlacement>();

  async function createSession(
    name: string,
    file: string | Uint8Array,
  ): Promise<{ session: Ort.InferenceSession; profilePrefix: string | null }> {
    // The two overloads (path, bytes) take the same options.
    const open = (sessionOptions: Ort.InferenceSession.SessionOptions) =>
      typeof file === 'string'
        ? ort.InferenceSession.create(file, sessionOptions)
        : ort.InferenceSession.create(file, sessionOptions);
    let profilePrefix: string | null = null;
    if (reportPlacement) {
      profileDir ??= mkdtempSync(path.join(os.tmpdir(), 'polylink-ort-profile-'));
      profilePrefix = path.join(profileDir, `${sessions.size}-${name.replace(/[^\w.-]/g, '_')}`);
    }
    const base: Ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: options.interOpThreads,
      ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
      extra: {
        session: {
          intra_op: { allow_spinning: options.spinning ? '1' : '0' },
          inter_op: { allow_spinning: options.spinning ? '1' : '0' },
        },
      },
    };
    if (provider === 'cuda') {
      try {
        // CUDA alone: ONNX Runtime still adds CPU for the nodes CUDA has no kernel for, and a
        // provider that cannot load fails here instead of passing unnoticed.
        return { session: await open({ ...base, executionProviders: ['cuda'] }), profilePrefix };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const diagnosis = cudaPackage ? missingLibraries(cudaPackage) : null;
        fallBack(
          `the CUDA session of "${name}" failed: ${message}${diagnosis ? ` (${diagnosis})` : ''}`,
        );
      }
    }
    return { session: await open({ ...base, executionProviders: ['cpu'] }), profilePrefix };
  }

  /** Reads the first run's profile, then stops profiling: later runs pay nothing. */
  function recordPlacement(name: string, session: Ort.InferenceSession, profilePrefix: string) {
    session.endProfiling();
    const dir = path.dirname(profilePrefix);
    const prefix = path.basename(profilePrefix);
    let nodes: Record<string, number> = {};
    for (const entry of readdirSync(dir).filter((each) => each.startsWith(`${prefix}_`))) {
      const file = path.join(dir, entry);
      try {
        nodes = nodesPerProvider(JSON.parse(readFileSync(file, 'utf8')));
      } catch (error) {
        logger.warn({ err: error, model: name, file }, 'cannot read the ONNX Runtime profile');
      }
      rmSync(file, { force: true });
    }
    const placement = { ...placements.get(name)!, nodes };
    placements.set(name, placement);
    const onCpu = nodes.CPUExecutionProvider ?? 0;
    const total = Object.values(nodes).reduce((sum, count) => sum + count, 0);
    const level = placement.provider === 'cuda' && onCpu === total ? 'warn' : 'info';
    logger[level]({ ...placement }, 'model session placement (first run)');
  }

  return {
    get provider() {
      return provider;
    },
    get fallbackReason() {
      return fallbackReason;
    },
    placements() {
      return [...placements.values()];
    },
    async load(name, file) {
      let created: Awaited<ReturnType<typeof createSession>>;
      try {
        created = await createSession(name, file);
      } catch (error) {
        const from = typeof file === 'string' ? file : `${file.byteLength} bytes`;
        throw new InferenceError(`Cannot load model "${name}" from ${from}`, error);
      }
      const { session } = created;
      let profilePrefix = created.profilePrefix;
      const placement: SessionPlacement = {
        model: name,
        requested,
        provider,
        ...(fallbackReason !== null && requested === 'cuda' ? { fallbackReason } : {}),
      };
      placements.set(name, placement);
      logger[requested === 'cuda' ? 'info' : 'debug']({ ...placement }, 'model session created');
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
            Object.entries(feeds).map(([key, tensor]) => [key, toOrtTensor(ort, tensor)]),
          );
          // Only the first run is profiled; runs that overlap it are profiled with it.
          const profiledRun = profilePrefix;
          profilePrefix = null;
          let results: Ort.InferenceSession.ReturnType;
          try {
            results = await session.run(ortFeeds);
          } catch (error) {
            profilePrefix = profiledRun;
            throw new InferenceError(`Model "${name}" failed to run`, error);
          }
          if (profiledRun !== null) recordPlacement(name, session, profiledRun);
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
      if (profileDir !== null) rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
