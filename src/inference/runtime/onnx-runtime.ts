import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
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

/** What a loaded model declares. */
export interface ModelSignature {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

export interface ModelSession extends ModelSignature {
  readonly name: string;
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

/** What loading a model needs: a runtime, or one of its worker threads (`OnnxRuntime.worker`). */
export type ModelLoader = Pick<OnnxRuntime, 'load'>;

export interface OnnxRuntime {
  /** The provider sessions really run on, after any fallback. */
  readonly provider: ExecutionProvider;
  /** Why a cuda request fell back to CPU, when it did. */
  readonly fallbackReason: string | null;
  /** Each loaded model's placement; `nodes` appears after its first run when reported. */
  placements(): readonly SessionPlacement[];
  /** A model from its file, or from its bytes (a model small enough to live in the source). */
  load(name: string, file: string | Uint8Array): Promise<ModelSession>;
  /**
   * Loads models into the worker thread of that name (started on first load, one per name), so
   * that their runs leave the event loop free and overlap the caller's own models: onnxruntime-node
   * runs every model synchronously on the thread that calls `run`. CPU only: with cuda, or with
   * placement profiling, this is the runtime itself and sessions stay in process.
   */
  worker(name: string): ModelLoader;
  /** Releases every session this runtime created and stops its worker threads. */
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
export function loadOrt(packageDir: string): { module: typeof Ort; packageDir: string } {
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

export function toOrtTensor(ort: typeof Ort, tensor: Tensor): Ort.Tensor {
  return new ort.Tensor(tensor.type, tensor.data, tensor.dims);
}

export function fromOrtTensor(tensor: Ort.Tensor): Tensor {
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

export function sessionSignature(session: Ort.InferenceSession): ModelSignature {
  return {
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputs: session.inputMetadata.map(toSignature),
    outputs: session.outputMetadata.map(toSignature),
  };
}

/** A call to a worker thread (src/inference/runtime/onnx-worker.ts). */
type WorkerCall =
  | {
      readonly kind: 'load';
      readonly file: string | Uint8Array;
      readonly options: Ort.InferenceSession.SessionOptions;
    }
  | { readonly kind: 'run'; readonly session: number; readonly feeds: Record<string, Tensor> }
  | { readonly kind: 'release'; readonly session: number };

export type WorkerRequest = WorkerCall & { readonly id: number };
export type WorkerReply =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: string };

/** A session the worker created: its number there and what the model declares. */
export interface SessionInWorker extends ModelSignature {
  readonly session: number;
}

/** A model session wherever it runs; `createOnnxRuntime` adds the checks every run makes. */
export type SessionCore = Omit<ModelSession, 'name'>;

function signatureOf({ inputNames, outputNames, inputs, outputs }: ModelSignature): ModelSignature {
  return { inputNames, outputNames, inputs, outputs };
}

/**
 * The worker's script: compiled next to this file in dist/, or else the TypeScript source (under
 * tsx and vitest), imported after registering tsx's loader in the worker itself: Node 20 applies
 * neither the parent's loader nor `--import` in a worker's execArgv to the worker's entry file.
 */
function workerScript(): { script: URL | string; eval: boolean } {
  const compiled = new URL('./onnx-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { script: compiled, eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = new URL('./onnx-worker.ts', import.meta.url).href;
  return {
    script: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`,
    eval: true,
  };
}

/**
 * Inputs go over as copies the worker owns, handed over without a second copy: callers may
 * reuse their arrays, and cloning a view would copy its whole buffer.
 */
function copiedForTransfer(feeds: Readonly<Record<string, Tensor>>): {
  feeds: Record<string, Tensor>;
  transfer: ArrayBuffer[];
} {
  const transfer: ArrayBuffer[] = [];
  const copies = Object.entries(feeds).map(([key, tensor]): [string, Tensor] => {
    const data = tensor.data.slice() as TensorData;
    transfer.push(data.buffer as ArrayBuffer);
    return [key, { type: tensor.type, data, dims: [...tensor.dims] }];
  });
  return { feeds: Object.fromEntries(copies), transfer };
}

/**
 * One worker thread holding ONNX Runtime sessions. When the thread dies (an uncaught error), the
 * calls it had are rejected with InferenceError, and the next call starts a new thread, which
 * loads each session again from its file before running it. The thread keeps the process alive
 * only while calls are pending, as in-process sessions do. It is never terminated with a run in
 * flight: onnxruntime-node 1.30 then throws a C++ Napi::Error as the run returns into the dying
 * thread, which aborts the whole process (seen in its tests), so `close` lets pending calls finish.
 * Exported for its tests; the service reaches it through `OnnxRuntime.worker`.
 */
export class ModelWorker {
  #thread: Worker | null = null;
  /** Counts the threads started: a session loaded under an older one must be loaded again. */
  #generation = 0;
  #nextId = 0;
  #closed = false;
  readonly #pending = new Map<
    number,
    {
      readonly settled: Promise<unknown>;
      readonly resolve: (value: unknown) => void;
      readonly reject: (error: Error) => void;
    }
  >();

  constructor(
    readonly name: string,
    private readonly packageDir: string,
    private readonly logger: Logger,
    /** The thread's script; tests give a stand-in. */
    private readonly script: { script: URL | string; eval: boolean } = workerScript(),
  ) {}

  async load(
    file: string | Uint8Array,
    options: Ort.InferenceSession.SessionOptions,
  ): Promise<SessionCore> {
    const load = async () => (await this.#call({ kind: 'load', file, options })) as SessionInWorker;
    const first = await load();
    let loaded = { generation: this.#generation, session: Promise.resolve(first.session) };
    const sessionNumber = () => {
      this.#start();
      if (loaded.generation !== this.#generation) {
        loaded = {
          generation: this.#generation,
          session: load().then((again) => again.session),
        };
      }
      return loaded.session;
    };
    return {
      ...signatureOf(first),
      run: async (feeds) => {
        const session = await sessionNumber();
        const copies = copiedForTransfer(feeds);
        const call = { kind: 'run', session, feeds: copies.feeds } as const;
        return (await this.#call(call, copies.transfer)) as Record<string, Tensor>;
      },
      release: async () => {
        if (this.#thread === null || loaded.generation !== this.#generation) return;
        try {
          await this.#call({ kind: 'release', session: await loaded.session });
        } catch (error) {
          // A thread that stopped meanwhile took its sessions with it.
          if (this.#thread !== null) throw error;
        }
      },
    };
  }

  /** Refuses new calls, lets the pending ones finish, then stops the thread. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending.values()].map(({ settled }) => settled));
    const thread = this.#thread;
    if (thread === null) return;
    await thread.terminate();
    this.#stopped(thread, new Error('closed'));
  }

  #start(): Worker {
    if (this.#closed) throw new InferenceError(`ONNX worker "${this.name}" is closed`);
    if (this.#thread !== null) return this.#thread;
    const { script, eval: isCode } = this.script;
    const thread = new Worker(script, {
      name: `onnx-${this.name}`,
      eval: isCode,
      workerData: { packageDir: this.packageDir },
    });
    thread.unref();
    thread.on('message', (reply: WorkerReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) thread.unref();
      if ('error' in reply) pending.reject(new Error(reply.error));
      else pending.resolve(reply.value);
    });
    // An uncaught error ends the thread by itself, between runs (a run holds its JS thread).
    thread.on('error', (error) => this.#stopped(thread, error));
    thread.on('exit', (code) => this.#stopped(thread, new Error(`exited with code ${code}`)));
    this.#thread = thread;
    this.#generation += 1;
    return thread;
  }

  #call(call: WorkerCall, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const thread = this.#start();
    const id = this.#nextId++;
    let settle!: { resolve: (value: unknown) => void; reject: (error: Error) => void };
    const settled = new Promise<unknown>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#pending.set(id, { settled, ...settle });
    thread.ref();
    try {
      thread.postMessage({ ...call, id } satisfies WorkerRequest, transfer);
    } catch (error) {
      this.#pending.delete(id);
      if (this.#pending.size === 0) thread.unref();
      settle.reject(
        new InferenceError(`Cannot send a ${call.kind} call to ONNX worker "${this.name}"`, error),
      );
    }
    return settled;
  }

  #stopped(thread: Worker, cause: Error) {
    if (this.#thread !== thread) return;
    this.#thread = null;
    const error = new InferenceError(`ONNX worker "${this.name}" stopped`, cause);
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
    if (!this.#closed) {
      this.logger.error(
        { err: cause, worker: this.name },
        'ONNX worker stopped; restarting on next use',
      );
    }
  }
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

  let loaded: { module: typeof Ort; packageDir: string };
  const cudaDir = options.cudaDir ?? path.resolve('var/cuda');
  const cudaPackage = requested === 'cuda' ? cudaPackageDir(cudaDir) : null;
  if (requested === 'cuda' && cudaPackage === null) {
    loaded = loadOrt(npmPackageDir());
    fallBack(
      `no CUDA runtime assembled under ${cudaDir} (scripts/setup-cuda.sh assembles it from PyPI)`,
    );
  } else if (cudaPackage !== null) {
    loaded = loadOrt(cudaPackage);
    if (loaded.packageDir !== cudaPackage) {
      fallBack(
        `this process loaded onnxruntime-node from ${loaded.packageDir} before the CUDA copy in ` +
          `${cudaPackage}, and can hold only one`,
      );
    }
  } else {
    // CPU sessions run as well from an already loaded CUDA copy: the same ONNX Runtime build.
    loaded = loadOrt(npmPackageDir());
  }
  const ort = loaded.module;

  const reportPlacement = options.reportPlacement ?? requested === 'cuda';
  let profileDir: string | null = null;
  const sessions = new Set<ModelSession>();
  const placements = new Map<string, SessionPlacement>();
  // CUDA sessions and profiled ones stay in process: the placement profile is read from this
  // process's files, and the worker path has not been run on a GPU.
  const workersAllowed = requested === 'cpu' && !reportPlacement;
  const workers = new Map<string, ModelWorker>();

  const cpuOptions: Ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: options.interOpThreads,
    extra: {
      session: {
        intra_op: { allow_spinning: options.spinning ? '1' : '0' },
        inter_op: { allow_spinning: options.spinning ? '1' : '0' },
      },
    },
    executionProviders: ['cpu'],
  };

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
      ...cpuOptions,
      ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
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
    return { session: await open(base), profilePrefix };
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

  /** The in-process session: onnxruntime-node runs it on the calling thread. */
  async function loadInProcess(name: string, file: string | Uint8Array): Promise<SessionCore> {
    const { session, profilePrefix: firstProfile } = await createSession(name, file);
    let profilePrefix = firstProfile;
    return {
      ...sessionSignature(session),
      async run(feeds) {
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
          throw error;
        }
        if (profiledRun !== null) recordPlacement(name, session, profiledRun);
        return Object.fromEntries(
          Object.entries(results).map(([key, tensor]) => [key, fromOrtTensor(tensor)]),
        );
      },
      release: () => session.release(),
    };
  }

  /** Loads a model in process or in a worker, and adds the checks and errors every run has. */
  async function load(
    name: string,
    file: string | Uint8Array,
    worker: ModelWorker | null,
  ): Promise<ModelSession> {
    let core: SessionCore;
    try {
      core = worker ? await worker.load(file, cpuOptions) : await loadInProcess(name, file);
    } catch (error) {
      const from = typeof file === 'string' ? file : `${file.byteLength} bytes`;
      throw new InferenceError(`Cannot load model "${name}" from ${from}`, error);
    }
    const placement: SessionPlacement = {
      model: name,
      requested,
      provider,
      ...(fallbackReason !== null && requested === 'cuda' ? { fallbackReason } : {}),
    };
    placements.set(name, placement);
    logger[requested === 'cuda' ? 'info' : 'debug'](
      { ...placement, ...(worker ? { worker: worker.name } : {}) },
      'model session created',
    );
    const { inputNames } = core;
    const model: ModelSession = {
      name,
      ...signatureOf(core),
      async run(feeds) {
        const given = Object.keys(feeds).sort();
        const expected = [...inputNames].sort();
        if (given.join('\0') !== expected.join('\0')) {
          throw new InferenceError(
            `Model "${name}" takes inputs [${expected.join(', ')}], was given [${given.join(', ')}]`,
          );
        }
        try {
          return await core.run(feeds);
        } catch (error) {
          throw new InferenceError(`Model "${name}" failed to run`, error);
        }
      },
      async release() {
        sessions.delete(model);
        await core.release();
      },
    };
    sessions.add(model);
    return model;
  }

  const runtime: OnnxRuntime = {
    get provider() {
      return provider;
    },
    get fallbackReason() {
      return fallbackReason;
    },
    placements() {
      return [...placements.values()];
    },
    load: (name, file) => load(name, file, null),
    worker(workerName) {
      if (!workersAllowed) {
        logger.info(
          { worker: workerName, requested, reportPlacement },
          'ONNX worker threads hold CPU sessions without placement profiles only; these stay in process',
        );
        return runtime;
      }
      return {
        load(name, file) {
          let worker = workers.get(workerName);
          if (worker === undefined) {
            worker = new ModelWorker(workerName, loaded.packageDir, logger);
            workers.set(workerName, worker);
          }
          return load(name, file, worker);
        },
      };
    },
    async close() {
      await Promise.all([...sessions].map((session) => session.release()));
      await Promise.all([...workers.values()].map((worker) => worker.close()));
      if (profileDir !== null) rmSync(profileDir, { recursive: true, force: true });
    },
  };
  return runtime;
}
