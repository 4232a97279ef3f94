import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';

/**
 * scripts/setup-cuda.sh on synthetic wheels with the real wheels' names, versions and layout (the
 * real ones are 1.5 GB), served offline through --wheels-dir and checked by pip against the
 * hashes of a requirements file written here; and the service's CPU fallback when CUDA is asked
 * for on this machine, which has no GPU.
 */
const run = promisify(execFile);
const SCRIPT = path.join(PROJECT_ROOT, 'scripts/setup-cuda.sh');
const REAL_REQUIREMENTS = path.join(PROJECT_ROOT, 'scripts/cuda/requirements-cuda13.txt');
const PYTHON = existsSync(path.join(PROJECT_ROOT, 'var/pyenv/bin/python'))
  ? path.join(PROJECT_ROOT, 'var/pyenv/bin/python')
  : 'python3';
const BIN = 'bin/napi-v6/linux/x64';

/** What each synthetic wheel holds: the libraries of the real one (names only, fake bytes). */
const LIBRARIES: Record<string, readonly string[]> = {
  'onnxruntime-gpu': [
    'onnxruntime/capi/libonnxruntime_providers_cuda.so',
    'onnxruntime/capi/libonnxruntime_providers_shared.so',
    'onnxruntime/capi/libonnxruntime.so.1.30.0',
  ],
  'nvidia-cuda-runtime': ['nvidia/cu13/lib/libcudart.so.13'],
  'nvidia-cublas': ['nvidia/cu13/lib/libcublas.so.13', 'nvidia/cu13/lib/libcublasLt.so.13'],
  'nvidia-curand': ['nvidia/cu13/lib/libcurand.so.10'],
  'nvidia-cufft': ['nvidia/cu13/lib/libcufft.so.12'],
  'nvidia-cudnn-cu13': ['nvidia/cudnn/lib/libcudnn.so.9', 'nvidia/cudnn/lib/libcudnn_ops.so.9'],
  'nvidia-cuda-nvrtc': ['nvidia/cu13/lib/libnvrtc.so.13'],
};

/** The start of a 64-bit little-endian ELF file for a machine (0x3e x86-64, 0xb7 aarch64). */
function elfHeader(machine: number): Buffer {
  const header = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
  header.writeUInt16LE(machine, 18);
  return header;
}

interface Requirement {
  readonly name: string;
  readonly version: string;
}

const requirements: Requirement[] = [];
let work: string;

/** Builds a wheel with pip's expected dist-info; returns its sha256. */
async function buildWheel(
  dir: string,
  { name, version }: Requirement,
  files: Readonly<Record<string, Buffer>>,
): Promise<string> {
  const project = name.replace(/-/g, '_');
  const tag =
    name === 'onnxruntime-gpu'
      ? 'cp312-cp312-manylinux_2_28_x86_64'
      : 'py3-none-manylinux_2_27_x86_64';
  const wheel = path.join(dir, `${project}-${version}-${tag}.whl`);
  const spec = {
    wheel,
    files: {
      ...Object.fromEntries(
        Object.entries(files).map(([file, bytes]) => [file, bytes.toString('base64')]),
      ),
      [`${project}-${version}.dist-info/METADATA`]: Buffer.from(
        `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
      ).toString('base64'),
      [`${project}-${version}.dist-info/WHEEL`]: Buffer.from(
        `Wheel-Version: 1.0\nGenerator: polylink-test\nRoot-Is-Purelib: false\nTag: ${tag}\n`,
      ).toString('base64'),
    },
  };
  await run(PYTHON, [
    '-c',
    [
      'import base64, json, sys, zipfile',
      'spec = json.loads(sys.argv[1])',
      'with zipfile.ZipFile(spec["wheel"], "w") as z:',
      '    names = list(spec["files"])',
      '    for n in names: z.writestr(n, base64.b64decode(spec["files"][n]))',
      '    record = [n for n in names if n.endswith("/WHEEL")][0].rsplit("/", 1)[0] + "/RECORD"',
      '    z.writestr(record, "\\n".join(n + ",," for n in names + [record]) + "\\n")',
    ].join('\n'),
    JSON.stringify(spec),
  ]);
  return createHash('sha256')
    .update(await readFile(wheel))
    .digest('hex');
}

function defaultFiles(name: string): Record<string, Buffer> {
  return Object.fromEntries(
    (LIBRARIES[name] ?? []).map((file) => [
      file,
      Buffer.concat([elfHeader(0x3e), Buffer.from(`fake ${file}`)]),
    ]),
  );
}

/** Wheels for every pinned requirement (with `override` files for some) and their requirements file. */
async function buildWheels(
  label: string,
  override: Record<string, Record<string, Buffer>> = {},
): Promise<{ wheels: string; requirementsFile: string }> {
  const wheels = path.join(work, `${label}-wheels`);
  await mkdir(wheels, { recursive: true });
  const lines: string[] = [`# synthetic: ${label}`];
  for (const requirement of requirements) {
    const sha = await buildWheel(
      wheels,
      requirement,
      override[requirement.name] ?? defaultFiles(requirement.name),
    );
    lines.push(`${requirement.name}==${requirement.version} --hash=sha256:${sha}`);
  }
  const requirementsFile = path.join(work, `${label}-requirements.txt`);
  await writeFile(requirementsFile, `${lines.join('\n')}\n`);
  return { wheels, requirementsFile };
}

/** A stand-in onnxruntime-node 1.30.0 package (with its onnxruntime-common) of a few bytes. */
async function fakeOnnxruntimeNode(): Promise<string> {
  const dir = path.join(work, 'fake-ort', 'onnxruntime-node');
  await mkdir(path.join(dir, BIN), { recursive: true });
  await mkdir(path.join(dir, 'dist'), { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'onnxruntime-node', version: '1.30.0', main: 'dist/index.js' }),
  );
  await writeFile(path.join(dir, 'dist/index.js'), 'module.exports = {};\n');
  await writeFile(path.join(dir, BIN, 'libonnxruntime.so.1'), elfHeader(0x3e));
  await writeFile(path.join(dir, BIN, 'onnxruntime_binding.node'), elfHeader(0x3e));
  const common = path.join(dir, 'node_modules', 'onnxruntime-common');
  await mkdir(path.join(common, 'dist/cjs'), { recursive: true });
  await writeFile(
    path.join(common, 'package.json'),
    JSON.stringify({ name: 'onnxruntime-common', version: '1.30.0', main: 'dist/cjs/index.js' }),
  );
  await writeFile(path.join(common, 'dist/cjs/index.js'), 'module.exports = {};\n');
  return dir;
}

async function setupCuda(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [SCRIPT, ...args], {
      env: { ...process.env, PYTHON, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'polylink-cuda-setup-'));
  for (const match of (await readFile(REAL_REQUIREMENTS, 'utf8')).matchAll(
    /^([\w.-]+)==(\S+) --hash=sha256:[0-9a-f]{64}$/gm,
  )) {
    requirements.push({ name: match[1]!, version: match[2]! });
  }
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the pinned requirements', () => {
  it('pin onnxruntime-gpu at the version of onnxruntime-node and CUDA 13 wheels, each with a hash', async () => {
    const ortNode = createRequire(import.meta.url)('onnxruntime-node/package.json') as {
      version: string;
    };
    const pinned = Object.fromEntries(requirements.map((each) => [each.name, each.version]));
    expect(pinned['onnxruntime-gpu']).toBe(ortNode.version);
    expect(Object.keys(pinned).sort()).toEqual(Object.keys(LIBRARIES).sort());
    expect(pinned['nvidia-cuda-runtime']).toMatch(/^13\./);
    expect(pinned['nvidia-cublas']).toMatch(/^13\./);
    expect(pinned['nvidia-cuda-nvrtc']).toMatch(/^13\./);
  });
});

describe('scripts/setup-cuda.sh', () => {
  it('places the providers next to a private libonnxruntime.so.1 and the CUDA libraries in runtime/lib', async () => {
    const { wheels, requirementsFile } = await buildWheels('good');
    const dest = path.join(work, 'good-dest');
    const ortNode = await fakeOnnxruntimeNode();
    const args = [
      '--dest',
      dest,
      '--wheels-dir',
      wheels,
      '--requirements',
      requirementsFile,
      '--onnxruntime-node',
      ortNode,
      '--skip-driver-check',
    ];
    const first = await setupCuda(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const runtime = path.join(dest, 'runtime');
    const bin = path.join(runtime, 'node_modules/onnxruntime-node', BIN);
    for (const file of [
      'libonnxruntime.so.1',
      'onnxruntime_binding.node',
      'libonnxruntime_providers_cuda.so',
      'libonnxruntime_providers_shared.so',
    ]) {
      expect(existsSync(path.join(bin, file)), file).toBe(true);
    }
    // Only the two providers: not the wheel's own libonnxruntime, which would shadow the binding's.
    expect(existsSync(path.join(bin, 'libonnxruntime.so.1.30.0'))).toBe(false);
    expect(await readFile(path.join(bin, 'libonnxruntime_providers_cuda.so'), 'utf8')).toContain(
      'fake onnxruntime/capi/libonnxruntime_providers_cuda.so',
    );
    expect(existsSync(path.join(runtime, 'node_modules/onnxruntime-common/package.json'))).toBe(
      true,
    );
    for (const soname of [
      'libcudart.so.13',
      'libcublas.so.13',
      'libcublasLt.so.13',
      'libcurand.so.10',
      'libcufft.so.12',
      'libcudnn.so.9',
      'libcudnn_ops.so.9',
      'libnvrtc.so.13',
    ]) {
      expect(existsSync(path.join(runtime, 'lib', soname)), soname).toBe(true);
    }
    const assembly = JSON.parse(await readFile(path.join(runtime, 'assembly.json'), 'utf8')) as {
      wheels: { name: string; sha256: string }[];
    };
    expect(assembly.wheels.map((wheel) => wheel.name).sort()).toEqual(
      requirements.map((each) => each.name).sort(),
    );
    // Nothing of the source package is touched.
    expect(existsSync(path.join(ortNode, BIN, 'libonnxruntime_providers_cuda.so'))).toBe(false);

    const again = await setupCuda(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('is assembled from');
  });

  it('refuses a wheel whose bytes differ from its pinned hash and keeps the earlier assembly', async () => {
    const { wheels, requirementsFile } = await buildWheels('tamper');
    const dest = path.join(work, 'tamper-dest');
    const ortNode = await fakeOnnxruntimeNode();
    const common = [
      '--dest',
      dest,
      '--wheels-dir',
      wheels,
      '--onnxruntime-node',
      ortNode,
      '--skip-driver-check',
    ];
    expect((await setupCuda([...common, '--requirements', requirementsFile])).code).toBe(0);
    const before = await readFile(path.join(dest, 'runtime/assembly.json'), 'utf8');

    // Another requirements file (so the assembly is redone), one wheel rebuilt with other bytes.
    const changed = path.join(work, 'tamper-requirements-2.txt');
    await writeFile(changed, `# again\n${await readFile(requirementsFile, 'utf8')}`);
    await rm(path.join(dest, 'wheels'), { recursive: true });
    const cublas = requirements.find((each) => each.name === 'nvidia-cublas')!;
    await buildWheel(wheels, cublas, {
      ...defaultFiles('nvidia-cublas'),
      'nvidia/cu13/lib/libcublas.so.13': Buffer.from('something else'),
    });
    const result = await setupCuda([...common, '--requirements', changed]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('THESE PACKAGES DO NOT MATCH THE HASHES');
    expect(result.stderr).toContain('does not match its pinned sha256');
    expect(await readFile(path.join(dest, 'runtime/assembly.json'), 'utf8')).toBe(before);
  });

  it('refuses CUDA 12 libraries and a provider built for another processor', async () => {
    const ortNode = await fakeOnnxruntimeNode();
    const cuda12 = await buildWheels('cuda12', {
      'nvidia-cuda-runtime': { 'nvidia/cuda_runtime/lib/libcudart.so.12': elfHeader(0x3e) },
    });
    const dest12 = path.join(work, 'cuda12-dest');
    const result12 = await setupCuda([
      '--dest',
      dest12,
      '--wheels-dir',
      cuda12.wheels,
      '--requirements',
      cuda12.requirementsFile,
      '--onnxruntime-node',
      ortNode,
      '--skip-driver-check',
    ]);
    expect(result12.code).toBe(3);
    expect(result12.stderr).toContain('libcudart.so.13 is missing');
    expect(result12.stderr).toContain('not a CUDA 13 set');
    expect(existsSync(path.join(dest12, 'runtime'))).toBe(false);

    const arm = await buildWheels('arm', {
      'onnxruntime-gpu': {
        'onnxruntime/capi/libonnxruntime_providers_cuda.so': elfHeader(0xb7),
        'onnxruntime/capi/libonnxruntime_providers_shared.so': elfHeader(0xb7),
      },
    });
    const resultArm = await setupCuda([
      '--dest',
      path.join(work, 'arm-dest'),
      '--wheels-dir',
      arm.wheels,
      '--requirements',
      arm.requirementsFile,
      '--onnxruntime-node',
      ortNode,
      '--skip-driver-check',
    ]);
    expect(resultArm.code).toBe(3);
    expect(resultArm.stderr).toContain('is not an x86-64 ELF library');
  });

  it('checks the NVIDIA driver: none, too old for CUDA 13, new enough', async () => {
    const none = await setupCuda(['--check-driver'], {
      NVIDIA_SMI: path.join(work, 'no-such-nvidia-smi'),
      NVIDIA_PROC_VERSION: path.join(work, 'no-such-version-file'),
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no NVIDIA driver found');
    expect(none.stderr).toContain('>= 580.65.06');

    const smi = path.join(work, 'nvidia-smi');
    await writeFile(smi, '#!/bin/sh\necho 535.104.05\n');
    await chmod(smi, 0o755);
    const old = await setupCuda(['--check-driver'], { NVIDIA_SMI: smi });
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('NVIDIA driver 535.104.05 is too old for CUDA 13');
    expect(old.stderr).toContain('>= 580.65.06');

    const proc = path.join(work, 'nvidia-version');
    await writeFile(
      proc,
      'NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.03  Thu Oct  2 19:40:04 UTC 2025\n' +
        'GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n',
    );
    const fine = await setupCuda(['--check-driver'], {
      NVIDIA_SMI: path.join(work, 'no-such-nvidia-smi'),
      NVIDIA_PROC_VERSION: proc,
    });
    expect(fine.code).toBe(0);
    expect(fine.stdout).toContain('NVIDIA driver 580.159.03 (>= 580.65.06)');
  });
});

/** The child's placements line and its log, with CUDA asked for. */
async function loadWithCuda(cudaDir: string) {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'test/helpers/cuda-fallback-child.ts')],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, POLYLINK_EXECUTION_PROVIDER: 'cuda', POLYLINK_CUDA_DIR: cudaDir },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    provider: string;
    fallbackReason: string | null;
    placements: {
      model: string;
      requested: string;
      provider: string;
      fallbackReason?: string;
      nodes?: Record<string, number>;
    }[];
  };
  return { ...result, log: stderr };
}

describe('CUDA asked for on a machine without it', () => {
  it('runs every model on CPU and logs that no CUDA runtime is assembled', async () => {
    const result = await loadWithCuda(path.join(work, 'no-cuda-here'));
    expect(result.provider).toBe('cpu');
    expect(result.fallbackReason).toContain('no CUDA runtime assembled under');
    expect(result.log).toContain('CUDA was requested; running every model on CPU');
    const models = result.placements.map((each) => each.model);
    expect(models).toEqual(
      expect.arrayContaining(['text', 'image', 'detector', 'linker/polyScore']),
    );
    for (const placement of result.placements) {
      expect(placement).toMatchObject({ requested: 'cuda', provider: 'cpu' });
      expect(placement.fallbackReason).toContain('no CUDA runtime assembled');
    }
    // Placement read from ONNX Runtime's profile of the first run: every node on CPU.
    const text = result.placements.find((each) => each.model === 'text')!;
    expect(Object.keys(text.nodes ?? {})).toEqual(['CPUExecutionProvider']);
    expect(text.nodes!.CPUExecutionProvider).toBeGreaterThan(10);
  });

  it('loads the assembled copy, whose provider cannot load here, and runs on CPU with the reason', async () => {
    // The real onnxruntime-node, copied by the script, with the synthetic (unloadable) providers.
    const { wheels, requirementsFile } = await buildWheels('real-ort');
    const dest = path.join(work, 'real-ort-dest');
    const assembled = await setupCuda([
      '--dest',
      dest,
      '--wheels-dir',
      wheels,
      '--requirements',
      requirementsFile,
      '--skip-driver-check',
    ]);
    expect(assembled.code).toBe(0);
    const binDir = path.join(dest, 'runtime/node_modules/onnxruntime-node', BIN);

    const result = await loadWithCuda(dest);
    expect(result.provider).toBe('cpu');
    expect(result.fallbackReason).toContain('Failed to load shared library');
    // ONNX Runtime looked for the providers in the private copy, next to its libonnxruntime.so.1
    // (the shared one first, which the fake bytes fail).
    expect(result.log).toContain(`Failed to load library ${binDir}/libonnxruntime_providers_`);
    for (const placement of result.placements) {
      expect(placement).toMatchObject({ requested: 'cuda', provider: 'cpu' });
    }
    // Only the Linux x64 build travels into the copy.
    const napi = path.join(dest, 'runtime/node_modules/onnxruntime-node/bin/napi-v6');
    expect(existsSync(path.join(napi, 'darwin'))).toBe(false);
  });
});
