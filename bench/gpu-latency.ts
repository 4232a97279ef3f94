/**
 * GPU against CPU latency of the model bundle, per component of a linkImage request (issue 15):
 * the image encoder's whole-image run, the region crops, the text encoder, the context encoder,
 * the poly scorer, the detector (and faces and OCR), each run through the service's own model
 * registry with POLYLINK_EXECUTION_PROVIDER=cpu and then =cuda, each provider in a process of its
 * own (a process holds one onnxruntime-node). With --link-image, also per linkImage request over
 * HTTP (bench/link-image-latency.ts, which needs Java, a local Neo4j and the benchmark KB).
 * Writes bench/results/gpu-latency-<date>-<providers>.{json,md} with the machine, the GPU, the date
 * and, for cuda, how many nodes of each model ONNX Runtime ran on CUDA and on CPU.
 *
 *   npx tsx bench/gpu-latency.ts                          # setup-cuda.sh from PyPI, then cpu and cuda
 *   npx tsx bench/gpu-latency.ts --providers cpu          # the dry run on a machine without a GPU
 *   npx tsx bench/gpu-latency.ts --wheels-dir DIR --cuda-libs-from auto   # offline (below)
 *
 * On a GPU machine without internet (this workplace's device machine) the wheels travel:
 * `bash scripts/setup-cuda.sh --skip-driver-check` here fills var/cuda/wheels; the CUDA libraries
 * can be those of the machine's own PyTorch (`--cuda-libs-from auto`: python3's site-packages/nvidia,
 * which holds the same CUDA 13 sonames), so only onnxruntime-gpu's wheel (247 MB) must travel,
 * split into parts small enough to carry (`split -b 60M`), joined there with `cat` into
 * --wheels-dir; pip checks the joined wheel against its pinned sha256. Node 20, node_modules and
 * the assembled bundle (var/models) must be there too.
 *
 * A benchmark, not a test: the figures depend on the machine and on what else it is doing.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { parseConfig } from '../src/config.js';
import { decodeRgb } from '../src/images/image-decoding.js';
import { imageVectorEncoderFactory } from '../src/inference/vision/image-vector-encoder.js';
import type { ContextFeatures, ScoreRequest } from '../src/inference/linker/linker-model.js';
import { createModelRegistry } from '../src/inference/model-registry.js';
import type { SessionPlacement } from '../src/inference/runtime/onnx-runtime.js';
import { createLogger } from '../src/logger.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { benchMachine, round, timeRuns } from './report.js';

const { values } = parseArgs({
  options: {
    providers: { type: 'string', default: 'cpu,cuda' },
    runs: { type: 'string', default: '30' },
    /** Offline: the wheels come from this folder (scripts/setup-cuda.sh --wheels-dir). */
    'wheels-dir': { type: 'string' },
    /** A site-packages/nvidia folder, or `auto` for python3's, instead of NVIDIA's wheels. */
    'cuda-libs-from': { type: 'string' },
    'skip-setup': { type: 'boolean', default: false },
    'link-image': { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
    /** Internal: measure in this process with this provider and write the JSON here. */
    measure: { type: 'string' },
    'measure-out': { type: 'string' },
  },
});
const runs = Number(values.runs);
const cudaDir = path.resolve(process.env.POLYLINK_CUDA_DIR ?? path.join(PROJECT_ROOT, 'var/cuda'));

interface Timing {
  readonly component: string;
  readonly what: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly runs: number;
}

interface ProviderReport {
  readonly requested: string;
  readonly provider: string;
  readonly fallbackReason: string | null;
  readonly loadMs: number;
  readonly timings: readonly Timing[];
  readonly placements: readonly SessionPlacement[];
}

function log(message: string): void {
  process.stderr.write(`[gpu-latency ${new Date().toISOString()}] ${message}\n`);
}

/** Deterministic values in [-1, 1) (an LCG): synthetic features of the right shapes. */
function pseudoRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

/** One provider, in this process: the registry as the service loads it, then each component. */
async function measure(provider: 'cpu' | 'cuda'): Promise<ProviderReport> {
  const config = parseConfig(
    { ...process.env, POLYLINK_EXECUTION_PROVIDER: provider, POLYLINK_CUDA_DIR: cudaDir },
    PROJECT_ROOT,
  );
  const started = performance.now();
  const registry = await createModelRegistry(config.models, createLogger('warn'), {
    imageEncoder: imageVectorEncoderFactory(config.images),
  });
  const vision = await registry.vision();
  const loadMs = round(performance.now() - started);
  const timings: Timing[] = [];
  const record = async (component: string, what: string, work: () => Promise<unknown>) => {
    const { p50, p95 } = await timeRuns(work, runs);
    timings.push({ component, what, p50Ms: p50, p95Ms: p95, runs });
    log(`${provider} ${component.padEnd(16)} ${what.padEnd(48)} p50 ${p50} ms, p95 ${p95} ms`);
  };
  const read = (file: string) => readFile(path.join(PROJECT_ROOT, 'test/fixtures/images', file));
  const dog = await decodeRgb(await read('darknet-dog.jpg'), config.images);
  const boxes = (count: number) =>
    Array.from({ length: count }, (_, index) => ({
      x: (index * 57) % 500,
      y: 40 + ((index * 31) % 200),
      width: 220,
      height: 300,
    }));
  try {
    const image = registry.encoders.image?.decoded;
    if (image) {
      await record('image encoder', 'whole-image RoI features, 5 regions, one run', () =>
        image.regionFeatures(dog, boxes(5)),
      );
      await record('region crops', '5 crops embedded in one batch', () =>
        image.embedCrops(dog, boxes(5)),
      );
      await record('region crops', '8 crops embedded in one batch', () =>
        image.embedCrops(dog, boxes(8)),
      );
    }
    const text = registry.text;
    const caption =
      'The Holy Roman Emperor meets the Vikings and the Mongols under the flag of the Romans.';
    const mentions = ['Holy Roman Emperor', 'Vikings', 'Mongols', 'Romans', 'flag', 'the Romans'];
    if (text) {
      await record('text encoder', 'caption token states (16 words)', () =>
        text.encodeTokens(caption),
      );
      await record('text encoder', '6 mentions as queries, one batch', () =>
        text.encode(mentions, 'query'),
      );
    }
    const linker = registry.linker;
    if (linker) {
      const next = pseudoRandom(15);
      const { dimension: textWidth } = linker.manifest.text;
      const imageWidth = linker.manifest.image.dimension;
      const contexts: ContextFeatures[] = mentions.map((_, index) => ({
        tokenStates: Float32Array.from({ length: 24 * textWidth }, next),
        mentionPositions: [1 + index, 2 + index],
        regions: Array.from({ length: 5 }, (__, region) => ({
          features: Float32Array.from({ length: imageWidth }, () => Math.abs(next())),
          geometry: [0.1 * region, 0.1, 0.1 * region + 0.3, 0.6, 0.15],
          focus: region === index % 5,
        })),
      }));
      await record('context encoder', '6 contexts (24 tokens, 5 regions each)', () =>
        linker.contextCodes(contexts),
      );
      const codes = await linker.contextCodes(contexts);
      const featureWidth = linker.generatorFeatures.length;
      const requests = (candidates: number): ScoreRequest[] =>
        codes.map((block) => ({
          codes: block,
          vectors: Array.from({ length: candidates }, () =>
            Float32Array.from({ length: linker.dimension }, next),
          ),
          features: Array.from({ length: candidates }, () =>
            Array.from({ length: featureWidth }, () => Math.abs(next())),
          ),
        }));
      const hundred = requests(100);
      const thousand = requests(1000);
      await record('poly scorer', '6 contexts x 100 candidates', () => linker.scoreMany(hundred));
      await record('poly scorer', '6 contexts x 1,000 candidates', () =>
        linker.scoreMany(thousand),
      );
    }
    const { detector, faces, ocr } = vision;
    if (detector) {
      await record('detector', 'detect: 768x576 photo', () => detector.detect(dog));
    }
    if (faces) {
      const portrait = await decodeRgb(await read('grace-hopper.jpg'), config.images);
      await record('faces', 'detect + describe: one portrait', () => faces.analyze(portrait));
    }
    if (ocr) {
      const intro = await decodeRgb(await read('ocr/freeciv-intro.png'), config.images);
      await record('ocr', 'read: 510x300 game title', () => ocr.read(intro));
    }
    return {
      requested: provider,
      provider: registry.runtime.provider,
      fallbackReason: registry.runtime.fallbackReason,
      loadMs,
      timings,
      placements: registry.runtime.placements(),
    };
  } finally {
    await registry.close();
  }
}

function cudaLibraryPath(): string {
  const lib = path.join(cudaDir, 'runtime/lib');
  return [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

/** python3's site-packages/nvidia (PyTorch's CUDA wheels), for --cuda-libs-from auto. */
function pythonNvidiaDir(): string {
  return execFileSync(
    'python3',
    ['-c', 'import nvidia, sys; sys.stdout.write(list(nvidia.__path__)[0])'],
    { encoding: 'utf8' },
  );
}

function gpuInfo(): string | null {
  try {
    return execFileSync(
      'nvidia-smi',
      ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
      { encoding: 'utf8' },
    ).trim();
  } catch {
    return null;
  }
}

async function measureInChild(provider: string): Promise<ProviderReport> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'polylink-gpu-latency-'));
  const file = path.join(dir, `${provider}.json`);
  try {
    const child = execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(PROJECT_ROOT, 'bench/gpu-latency.ts'),
        '--measure',
        provider,
        '--measure-out',
        file,
        '--runs',
        String(runs),
      ],
      {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          ...(provider === 'cuda' ? { LD_LIBRARY_PATH: cudaLibraryPath() } : {}),
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    child.stderr?.pipe(process.stderr);
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${provider} run exited ${code}`)),
      );
    });
    return JSON.parse(await readFile(file, 'utf8')) as ProviderReport;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Per linkImage request over HTTP, when this machine can run the benchmark service. */
async function linkImageLatency(provider: string): Promise<unknown> {
  const missing = [
    ...(existsSync(path.join(PROJECT_ROOT, 'var/benchmark/kb.jsonl'))
      ? []
      : ['the benchmark KB (var/benchmark/kb.jsonl)']),
    ...(commandExists('java') ? [] : ['java (for the local Neo4j)']),
  ];
  if (missing.length > 0) return { skipped: `not on this machine: ${missing.join(', ')}` };
  const suffix = `-gpu-latency-${provider}`;
  await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(PROJECT_ROOT, 'bench/link-image-latency.ts'),
      '--modes',
      'vandt-kg,vt-kg-given',
      '--suffix',
      suffix,
    ],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        POLYLINK_EXECUTION_PROVIDER: provider,
        POLYLINK_CUDA_DIR: cudaDir,
        ...(provider === 'cuda' ? { LD_LIBRARY_PATH: cudaLibraryPath() } : {}),
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(
    await readFile(
      path.join(PROJECT_ROOT, `bench/results/link-image-latency${suffix}.json`),
      'utf8',
    ),
  );
}

function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

if (values.measure) {
  const provider = values.measure === 'cuda' ? 'cuda' : 'cpu';
  const report = await measure(provider);
  await writeFile(values['measure-out']!, JSON.stringify(report));
} else {
  const providers = values.providers.split(',').map((each) => each.trim());
  if (providers.includes('cuda') && !values['skip-setup']) {
    const cudaLibs =
      values['cuda-libs-from'] === 'auto' ? pythonNvidiaDir() : values['cuda-libs-from'];
    log(`scripts/setup-cuda.sh${cudaLibs ? ` (CUDA libraries from ${cudaLibs})` : ''}`);
    execFileSync(
      'bash',
      [
        path.join(PROJECT_ROOT, 'scripts/setup-cuda.sh'),
        '--dest',
        cudaDir,
        ...(values['wheels-dir'] ? ['--wheels-dir', values['wheels-dir']] : []),
        ...(cudaLibs ? ['--cuda-libs-from', cudaLibs] : []),
      ],
      { stdio: 'inherit' },
    );
  }
  const reports: Record<string, ProviderReport> = {};
  const requests: Record<string, unknown> = {};
  for (const provider of providers) {
    reports[provider] = await measureInChild(provider);
    if (values['link-image']) requests[provider] = await linkImageLatency(provider);
  }
  const fellBack = Object.values(reports).filter((report) => report.provider !== report.requested);
  const cpu = reports.cpu;
  const comparison = Object.values(reports)
    .filter((report) => report.requested !== 'cpu')
    .flatMap((report) =>
      report.timings.map((timing) => {
        const base = cpu?.timings.find(
          (each) => each.component === timing.component && each.what === timing.what,
        );
        return {
          provider: report.requested,
          component: timing.component,
          what: timing.what,
          p50Ms: timing.p50Ms,
          cpuP50Ms: base?.p50Ms ?? null,
          // A run that fell back to CPU compares CPU with CPU: no speed-up to report.
          speedup:
            base && report.provider === report.requested ? round(base.p50Ms / timing.p50Ms) : null,
        };
      }),
    );
  const date = new Date().toISOString();
  const result = {
    date,
    machine: benchMachine(),
    gpu: gpuInfo(),
    runs,
    bundle: parseConfig({}, PROJECT_ROOT).models.bundleDir,
    providers: reports,
    comparison,
    ...(values['link-image'] ? { linkImage: requests } : {}),
  };
  const name = `gpu-latency-${date.slice(0, 10)}-${providers.join('-')}`;
  await mkdir(values.out, { recursive: true });
  await writeFile(path.join(values.out, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const rows = (cpu?.timings ?? Object.values(reports)[0]?.timings ?? []).map((timing) => {
    const cells = providers.map(
      (provider) =>
        reports[provider]?.timings.find(
          (each) => each.component === timing.component && each.what === timing.what,
        )?.p50Ms ?? '–',
    );
    return `| ${timing.component} | ${timing.what} | ${cells.join(' | ')} |`;
  });
  await writeFile(
    path.join(values.out, `${name}.md`),
    [
      `Measured ${date.slice(0, 10)} on ${result.machine.cpuModel} (${result.machine.cores} cores), GPU: ${result.gpu ?? 'none'}; p50 ms of ${runs} runs after 3 warm-ups, each provider in its own process (bench/gpu-latency.ts).`,
      ...Object.values(reports)
        .filter((report) => report.provider !== report.requested)
        .map(
          (report) =>
            `**${report.requested} fell back to ${report.provider}**: ${report.fallbackReason}`,
        ),
      '',
      `| component | what | ${providers.map((provider) => `${provider} p50 ms`).join(' | ')} |`,
      `| --- | --- | ${providers.map(() => '--:').join(' | ')} |`,
      ...rows,
      '',
    ].join('\n'),
  );
  log(`wrote ${path.join(values.out, `${name}.json`)}`);
  if (fellBack.length > 0) {
    log(
      `FELL BACK: ${fellBack.map((report) => `${report.requested}: ${report.fallbackReason}`).join('; ')}`,
    );
    process.exitCode = 1;
  }
}
