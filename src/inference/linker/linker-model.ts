import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FULL_IMAGE_GEOMETRY } from './linker-features.js';
import {
  InferenceError,
  type ModelSession,
  type OnnxRuntime,
  type Tensor,
  type TensorSignature,
} from '../runtime/onnx-runtime.js';

/** The graphs of a linker release (models/zemel/release.py), by their key in linker.json. */
export const LINKER_GRAPHS = ['context', 'candidate', 'polyScore'] as const;
export type LinkerGraph = (typeof LINKER_GRAPHS)[number];

export interface LinkerGraphEntry {
  readonly file: string;
  readonly sha256: string;
  /** Input names, in the order the graph was exported with. */
  readonly inputs: readonly string[];
}

/** `linker.json`, the manifest written next to the graphs by models/zemel/release.py. */
export interface LinkerManifest {
  readonly manifestVersion: 1;
  readonly name: string;
  readonly version: string;
  readonly untrained?: boolean;
  readonly head: 'poly';
  /** Poly codes per context (m). */
  readonly codes: number;
  /** Width of candidate vectors and codes (H). */
  readonly width: number;
  readonly text: {
    readonly dimension: number;
    /** Tokens per text, [CLS] and the final [SEP] included. */
    readonly maxTokens: number;
    readonly entitySeparator: string;
    readonly prefix: string;
  };
  readonly image: { readonly dimension: number; readonly geometry: readonly string[] };
  /** Order of the per-candidate generator features poly scoring takes (may be empty). */
  readonly generatorFeatures: readonly string[];
  readonly graphs: Readonly<Record<LinkerGraph, LinkerGraphEntry>>;
  /** NIL thresholds chosen on dev, per task ("V&T-KG", "VT-KG"); empty for an untrained release. */
  readonly thresholds: Readonly<Record<string, number | null>>;
  /** How the service decides, chosen after training on a held-out dev source; absent: as trained. */
  readonly calibration?: LinkerCalibration;
  readonly parity: { readonly file: string; readonly maxAbsDiff: number };
}

/**
 * Decisions the service makes around the trained scores (issue 12), chosen on a source the
 * linker never saw and no other choice was made on. Not part of the linker's fingerprint: it
 * changes no candidate vector.
 */
export interface LinkerCalibration {
  /**
   * Region-only units: the linker's score plus this weight times the region's image cosine
   * (DENSE_IMAGE_ROBUST when the bundle has the style-robust head, else DENSE_IMAGE).
   */
  readonly regionDenseImageWeight: number;
  /** NIL thresholds per task and unit kind (`pair`, `mention`, `region`); a kind left out keeps `thresholds`. */
  readonly thresholds: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  /** Where and how it was chosen, for the model card and the API. */
  readonly chosenOn: string;
}

export const LINKER_MANIFEST_FILE = 'linker.json';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** Validates a parsed linker.json; throws naming the first problem. */
export function parseLinkerManifest(value: unknown): LinkerManifest {
  const fail = (problem: string): never => {
    throw new InferenceError(`${LINKER_MANIFEST_FILE}: ${problem}`);
  };
  if (!isRecord(value)) return fail('must be a JSON object');
  const { manifestVersion, name, version, head, codes, width, text, image } = value;
  if (manifestVersion !== 1) fail(`manifestVersion ${String(manifestVersion)} is not supported`);
  if (typeof name !== 'string' || typeof version !== 'string') fail('needs name and version');
  if (head !== 'poly') fail(`head "${String(head)}" is not served (only "poly")`);
  if (!isPositiveInteger(codes) || !isPositiveInteger(width)) fail('codes and width must be > 0');
  if (
    !isRecord(text) ||
    !isPositiveInteger(text.dimension) ||
    !isPositiveInteger(text.maxTokens) ||
    typeof text.entitySeparator !== 'string' ||
    typeof text.prefix !== 'string'
  ) {
    fail('text needs dimension, maxTokens, entitySeparator and prefix');
  }
  if (!isRecord(image) || !isPositiveInteger(image.dimension) || !isStringList(image.geometry)) {
    fail('image needs dimension and geometry');
  }
  if (!isStringList(value.generatorFeatures)) fail('generatorFeatures must be a list of names');
  const graphs = value.graphs;
  if (!isRecord(graphs)) return fail('graphs must be an object');
  for (const key of LINKER_GRAPHS) {
    const graph = graphs[key];
    if (
      !isRecord(graph) ||
      typeof graph.file !== 'string' ||
      !/^[0-9a-f]{64}$/.test(String(graph.sha256)) ||
      !isStringList(graph.inputs)
    ) {
      fail(`graphs.${key} needs file, sha256 and inputs`);
    }
  }
  const thresholds = value.thresholds ?? {};
  if (
    !isRecord(thresholds) ||
    !Object.values(thresholds).every((t) => t === null || typeof t === 'number')
  ) {
    fail('thresholds must map tasks to numbers or null');
  }
  if (!isRecord(value.parity) || typeof value.parity.file !== 'string') fail('parity needs file');
  const calibration = value.calibration;
  if (calibration !== undefined) {
    const isThreshold = (t: unknown) => t === null || typeof t === 'number';
    if (
      !isRecord(calibration) ||
      typeof calibration.regionDenseImageWeight !== 'number' ||
      !(calibration.regionDenseImageWeight >= 0) ||
      typeof calibration.chosenOn !== 'string' ||
      !isRecord(calibration.thresholds) ||
      !Object.values(calibration.thresholds).every(
        (byKind) => isRecord(byKind) && Object.values(byKind).every(isThreshold),
      )
    ) {
      fail('calibration needs regionDenseImageWeight >= 0, thresholds per task and kind, chosenOn');
    }
  }
  return { ...value, thresholds } as unknown as LinkerManifest;
}

/** One entity as the candidate encoder takes it. */
export interface CandidateFeatures {
  /** Token states of its `name [SEP] description`, row-major [tokens, text.dimension]. */
  readonly tokenStates: Float32Array;
  /** Pooled, L2-normalised image embeddings (`ImageEncoder.embed`), one per image; may be none. */
  readonly images: readonly ArrayLike<number>[];
  /** Per image `[x1, y1, x2, y2, area]`; whole images (`[0, 0, 1, 1, 1]`) when absent. */
  readonly geometry?: readonly (readonly number[])[];
}

export interface ContextRegion {
  /** Its image-encoder feature (`ImageEncoder.regionFeatures`), image.dimension values. */
  readonly features: ArrayLike<number>;
  /** `[x1, y1, x2, y2, area]` (`boxGeometry`). */
  readonly geometry: readonly number[];
  /** The region the mention is paired with. */
  readonly focus?: boolean;
}

/** One mention in context as the context encoder takes it. */
export interface ContextFeatures {
  /** Token states of the caption, row-major [tokens, text.dimension]. */
  readonly tokenStates: Float32Array;
  /** Token indices of the mention (`mentionTokenPositions`). */
  readonly mentionPositions: readonly number[];
  readonly regions: readonly ContextRegion[];
}

/** One context's codes and the cached vectors (and generator features) of its candidates. */
export interface ScoreRequest {
  /** `contextCodes` output for the context: codes × width values. */
  readonly codes: Float32Array;
  readonly vectors: readonly ArrayLike<number>[];
  /** Per candidate, `generatorFeatures` values (required when the release has any). */
  readonly features?: readonly (readonly number[])[];
}

export interface LinkerModelOptions {
  /** Folder holding linker.json and the graphs it names (the bundle's linker component). */
  readonly dir: string;
  /** Names the weights (the bundle's `linker:<sha16>`): vectors made by others are stale. */
  readonly fingerprint: string;
  /** Entities or contexts per model run (default 16). */
  readonly batchSize?: number;
}

type Dim = number | '*';
interface Expected {
  readonly type: 'float32' | 'int64';
  readonly shape: readonly Dim[];
}

const DEFAULT_BATCH_SIZE = 16;

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

function checkSignature(
  graph: string,
  what: string,
  signature: TensorSignature | undefined,
  expected: Expected,
): void {
  if (!signature) throw new InferenceError(`Linker graph ${graph} has no ${what}`);
  const matches =
    signature.type === expected.type &&
    signature.shape.length === expected.shape.length &&
    expected.shape.every(
      (dim, index) =>
        dim === '*' || typeof signature.shape[index] !== 'number' || signature.shape[index] === dim,
    );
  if (!matches) {
    throw new InferenceError(
      `Linker graph ${graph}: ${what} is ${signature.type} [${signature.shape.join(', ')}], ` +
        `the manifest says ${expected.type} [${expected.shape.join(', ')}]`,
    );
  }
}

/** Copies `rows` (each `width` values) into `into` from `offset`, one after the other. */
function putRows(
  rows: readonly ArrayLike<number>[],
  width: number,
  into: Float32Array,
  offset: number,
): void {
  rows.forEach((row, index) => into.set(row, offset + index * width));
}

/**
 * The trained poly-encoder linker (Zemel), served from its three ONNX graphs through the
 * project's one ONNX Runtime: the candidate encoder (one vector per entity, cached on its node),
 * the context encoder (poly codes per mention in context) and poly scoring of cached candidate
 * vectors against those codes. Inputs are checked against linker.json before every run.
 */
export class LinkerModel {
  private constructor(
    readonly manifest: LinkerManifest,
    readonly fingerprint: string,
    private readonly sessions: Readonly<Record<LinkerGraph, ModelSession>>,
    private readonly batchSize: number,
  ) {}

  static async load(runtime: OnnxRuntime, options: LinkerModelOptions): Promise<LinkerModel> {
    const batchSize: number = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InferenceError(`Linker batchSize must be a positive integer, got ${batchSize}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path.join(options.dir, LINKER_MANIFEST_FILE), 'utf8'));
    } catch (error) {
      throw new InferenceError(`Cannot read ${LINKER_MANIFEST_FILE} in ${options.dir}`, error);
    }
    const manifest = parseLinkerManifest(raw);
    const sessions: Partial<Record<LinkerGraph, ModelSession>> = {};
    try {
      for (const key of LINKER_GRAPHS) {
        const entry = manifest.graphs[key];
        const file = path.join(options.dir, entry.file);
        const sha256 = await sha256Of(file).catch((error: unknown) => {
          throw new InferenceError(`Linker graph ${entry.file} is missing`, error);
        });
        if (sha256 !== entry.sha256) {
          throw new InferenceError(
            `Linker graph ${entry.file} has sha256 ${sha256}, ${LINKER_MANIFEST_FILE} says ${entry.sha256}`,
          );
        }
        sessions[key] = await runtime.load(`linker/${key}`, file);
      }
      const model = new LinkerModel(
        manifest,
        options.fingerprint,
        sessions as Record<LinkerGraph, ModelSession>,
        batchSize,
      );
      model.checkSignatures();
      return model;
    } catch (error) {
      await Promise.all(Object.values(sessions).map((session) => session.release()));
      throw error;
    }
  }

  get name(): string {
    return this.manifest.name;
  }
  get version(): string {
    return this.manifest.version;
  }
  /** NIL thresholds per task, as chosen on dev (empty for an untrained release). */
  get thresholds(): Readonly<Record<string, number | null>> {
    return this.manifest.thresholds;
  }
  get calibration(): LinkerCalibration | null {
    return this.manifest.calibration ?? null;
  }
  get generatorFeatures(): readonly string[] {
    return this.manifest.generatorFeatures;
  }
  /** Width of candidate vectors (H). */
  get dimension(): number {
    return this.manifest.width;
  }
  get codes(): number {
    return this.manifest.codes;
  }

  /** What each input and output of each graph must be, from the manifest's widths. */
  private expectations(): Record<LinkerGraph, Record<string, Expected>> {
    const { text, image, width, codes, generatorFeatures } = this.manifest;
    const states: Expected = { type: 'float32', shape: ['*', '*', text.dimension] };
    const mask: Expected = { type: 'int64', shape: ['*', '*'] };
    const features: Expected = { type: 'float32', shape: ['*', '*', image.dimension] };
    const geometry: Expected = { type: 'float32', shape: ['*', '*', image.geometry.length] };
    const codesShape: Expected = { type: 'float32', shape: ['*', codes, width] };
    return {
      candidate: {
        token_states: states,
        token_mask: mask,
        image_features: features,
        image_geometry: geometry,
        image_mask: mask,
        candidate_vector: { type: 'float32', shape: ['*', width] },
      },
      context: {
        token_states: states,
        token_mask: mask,
        mention_mask: mask,
        region_features: features,
        region_geometry: geometry,
        region_mask: mask,
        region_focus: mask,
        context_codes: codesShape,
      },
      polyScore: {
        context_codes: codesShape,
        candidate_vectors: { type: 'float32', shape: ['*', '*', width] },
        ...(generatorFeatures.length > 0
          ? {
              candidate_features: {
                type: 'float32',
                shape: ['*', '*', generatorFeatures.length],
              },
            }
          : {}),
        scores: { type: 'float32', shape: ['*', '*'] },
      },
    };
  }

  private static readonly OUTPUTS: Readonly<Record<LinkerGraph, string>> = {
    candidate: 'candidate_vector',
    context: 'context_codes',
    polyScore: 'scores',
  };

  private checkSignatures(): void {
    const expectations = this.expectations();
    for (const key of LINKER_GRAPHS) {
      const session = this.sessions[key];
      const declared = this.manifest.graphs[key].inputs;
      const expected = expectations[key];
      const output = LinkerModel.OUTPUTS[key];
      const wanted = Object.keys(expected).filter((name) => name !== output);
      const sorted = (names: readonly string[]) => [...names].sort().join(', ');
      if (sorted(session.inputNames) !== sorted(declared) || sorted(declared) !== sorted(wanted)) {
        throw new InferenceError(
          `Linker graph ${key} takes [${session.inputNames.join(', ')}]; ${LINKER_MANIFEST_FILE} ` +
            `says [${declared.join(', ')}]; the service feeds [${wanted.join(', ')}]`,
        );
      }
      for (const name of wanted) {
        checkSignature(
          key,
          `input ${name}`,
          session.inputs.find((input) => input.name === name),
          expected[name]!,
        );
      }
      checkSignature(
        key,
        `output ${output}`,
        session.outputs.find((candidate) => candidate.name === output),
        expected[output]!,
      );
    }
  }

  /**
   * Runs one graph on tensors as given (the parity check's path) and returns its output, after
   * checking every feed against the manifest's widths.
   */
  async run(graph: LinkerGraph, feeds: Readonly<Record<string, Tensor>>): Promise<Tensor> {
    const expected = this.expectations()[graph];
    for (const [name, tensor] of Object.entries(feeds)) {
      const want = expected[name];
      if (!want) continue; // The session names unknown inputs itself.
      const product = tensor.dims.reduce((total, dim) => total * dim, 1);
      const fits =
        tensor.type === want.type &&
        tensor.dims.length === want.shape.length &&
        want.shape.every((dim, index) => dim === '*' || tensor.dims[index] === dim) &&
        tensor.data.length === product;
      if (!fits) {
        throw new InferenceError(
          `Linker graph ${graph}: input ${name} is ${tensor.type} [${tensor.dims.join(', ')}] ` +
            `(${tensor.data.length} values), expected ${want.type} [${want.shape.join(', ')}]`,
        );
      }
    }
    const outputs = await this.sessions[graph].run(feeds);
    const output = outputs[LinkerModel.OUTPUTS[graph]];
    if (!output || !(output.data instanceof Float32Array)) {
      throw new InferenceError(`Linker graph ${graph} returned no float32 output`);
    }
    return output;
  }

  private tokenCount(states: Float32Array, what: string): number {
    const { dimension, maxTokens } = this.manifest.text;
    const tokens = states.length / dimension;
    if (!Number.isInteger(tokens) || tokens < 1 || tokens > maxTokens) {
      throw new InferenceError(
        `${what}: token states must be 1 to ${maxTokens} rows of ${dimension}, got ${states.length} values`,
      );
    }
    return tokens;
  }

  /** `what` names the row in the error; a function when it is built per candidate (1,000s a request). */
  private checkRow(row: ArrayLike<number>, width: number, what: string | (() => string)): void {
    if (row.length !== width) {
      const name = typeof what === 'string' ? what : what();
      throw new InferenceError(`${name} has ${row.length} values, expected ${width}`);
    }
  }

  /** Splits `items` into runs of `batchSize`. */
  private batches<T>(items: readonly T[]): T[][] {
    const runs: T[][] = [];
    for (let first = 0; first < items.length; first += this.batchSize) {
      runs.push(items.slice(first, first + this.batchSize));
    }
    return runs;
  }

  /**
   * Candidate vectors (width H) of entities, in input order, batched: texts are padded to the
   * longest and image lists to the longest, with masks. A batch with no image at all gets one
   * masked zero row (the exported graph rejects zero images in onnxruntime-node; masked rows do
   * not change the output).
   */
  async encodeCandidates(inputs: readonly CandidateFeatures[]): Promise<Float32Array[]> {
    const { text, image, width } = this.manifest;
    const geometryWidth = image.geometry.length;
    const vectors: Float32Array[] = [];
    for (const batch of this.batches(inputs)) {
      const tokens = batch.map((input, row) => this.tokenCount(input.tokenStates, `entity ${row}`));
      batch.forEach((input, row) => {
        input.images.forEach((vector, index) =>
          this.checkRow(vector, image.dimension, `entity ${row}: image ${index}`),
        );
        if (input.geometry && input.geometry.length !== input.images.length) {
          throw new InferenceError(`entity ${row}: one geometry row per image is needed`);
        }
        input.geometry?.forEach((box, index) =>
          this.checkRow(box, geometryWidth, `entity ${row}: geometry ${index}`),
        );
      });
      const size = batch.length;
      const maxTokens = Math.max(...tokens);
      const maxImages = Math.max(1, ...batch.map((input) => input.images.length));
      const states = new Float32Array(size * maxTokens * text.dimension);
      const tokenMask = new BigInt64Array(size * maxTokens);
      const features = new Float32Array(size * maxImages * image.dimension);
      const geometry = new Float32Array(size * maxImages * geometryWidth);
      const imageMask = new BigInt64Array(size * maxImages);
      batch.forEach((input, row) => {
        states.set(input.tokenStates, row * maxTokens * text.dimension);
        tokenMask.fill(1n, row * maxTokens, row * maxTokens + tokens[row]!);
        const count = input.images.length;
        putRows(input.images, image.dimension, features, row * maxImages * image.dimension);
        const boxes = input.geometry ?? input.images.map(() => FULL_IMAGE_GEOMETRY);
        putRows(boxes, geometryWidth, geometry, row * maxImages * geometryWidth);
        imageMask.fill(1n, row * maxImages, row * maxImages + count);
      });
      const output = await this.run('candidate', {
        token_states: { type: 'float32', data: states, dims: [size, maxTokens, text.dimension] },
        token_mask: { type: 'int64', data: tokenMask, dims: [size, maxTokens] },
        image_features: {
          type: 'float32',
          data: features,
          dims: [size, maxImages, image.dimension],
        },
        image_geometry: { type: 'float32', data: geometry, dims: [size, maxImages, geometryWidth] },
        image_mask: { type: 'int64', data: imageMask, dims: [size, maxImages] },
      });
      if (output.dims[0] !== size || output.dims[1] !== width) {
        throw new InferenceError(
          `The candidate encoder returned [${output.dims.join(', ')}] for ${size} entities`,
        );
      }
      const data = output.data as Float32Array;
      for (let row = 0; row < size; row++) vectors.push(data.slice(row * width, (row + 1) * width));
    }
    return vectors;
  }

  /**
   * Poly codes of mentions in context, in input order: one `codes × width` array (row-major) each.
   * Regions are padded like images in `encodeCandidates`.
   */
  async contextCodes(inputs: readonly ContextFeatures[]): Promise<Float32Array[]> {
    const { text, image, width, codes } = this.manifest;
    const geometryWidth = image.geometry.length;
    const results: Float32Array[] = [];
    for (const batch of this.batches(inputs)) {
      const tokens = batch.map((input, row) =>
        this.tokenCount(input.tokenStates, `context ${row}`),
      );
      batch.forEach((input, row) => {
        input.mentionPositions.forEach((position) => {
          if (!Number.isInteger(position) || position < 0 || position >= tokens[row]!) {
            throw new InferenceError(`context ${row}: mention position ${position} is not a token`);
          }
        });
        input.regions.forEach((region, index) => {
          this.checkRow(region.features, image.dimension, `context ${row}: region ${index}`);
          this.checkRow(region.geometry, geometryWidth, `context ${row}: region ${index} geometry`);
        });
      });
      const size = batch.length;
      const maxTokens = Math.max(...tokens);
      const maxRegions = Math.max(1, ...batch.map((input) => input.regions.length));
      const states = new Float32Array(size * maxTokens * text.dimension);
      const tokenMask = new BigInt64Array(size * maxTokens);
      const mentionMask = new BigInt64Array(size * maxTokens);
      const features = new Float32Array(size * maxRegions * image.dimension);
      const geometry = new Float32Array(size * maxRegions * geometryWidth);
      const regionMask = new BigInt64Array(size * maxRegions);
      const regionFocus = new BigInt64Array(size * maxRegions);
      batch.forEach((input, row) => {
        states.set(input.tokenStates, row * maxTokens * text.dimension);
        tokenMask.fill(1n, row * maxTokens, row * maxTokens + tokens[row]!);
        for (const position of input.mentionPositions) mentionMask[row * maxTokens + position] = 1n;
        const count = input.regions.length;
        putRows(
          input.regions.map((region) => region.features),
          image.dimension,
          features,
          row * maxRegions * image.dimension,
        );
        putRows(
          input.regions.map((region) => region.geometry),
          geometryWidth,
          geometry,
          row * maxRegions * geometryWidth,
        );
        regionMask.fill(1n, row * maxRegions, row * maxRegions + count);
        input.regions.forEach((region, index) => {
          if (region.focus) regionFocus[row * maxRegions + index] = 1n;
        });
      });
      const regionDims = [size, maxRegions] as const;
      const output = await this.run('context', {
        token_states: { type: 'float32', data: states, dims: [size, maxTokens, text.dimension] },
        token_mask: { type: 'int64', data: tokenMask, dims: [size, maxTokens] },
        mention_mask: { type: 'int64', data: mentionMask, dims: [size, maxTokens] },
        region_features: {
          type: 'float32',
          data: features,
          dims: [...regionDims, image.dimension],
        },
        region_geometry: { type: 'float32', data: geometry, dims: [...regionDims, geometryWidth] },
        region_mask: { type: 'int64', data: regionMask, dims: regionDims },
        region_focus: { type: 'int64', data: regionFocus, dims: regionDims },
      });
      const block = codes * width;
      if (output.dims[0] !== size) {
        throw new InferenceError(
          `The context encoder returned [${output.dims.join(', ')}] for ${size} contexts`,
        );
      }
      const data = output.data as Float32Array;
      for (let row = 0; row < size; row++) results.push(data.slice(row * block, (row + 1) * block));
    }
    return results;
  }

  /**
   * Poly scores of one context's codes against K cached candidate vectors, with each candidate's
   * generator features in `generatorFeatures` order (required when the release has any).
   */
  async score(
    codes: Float32Array,
    vectors: readonly ArrayLike<number>[],
    features?: readonly (readonly number[])[],
  ): Promise<Float32Array> {
    const { width, generatorFeatures } = this.manifest;
    this.checkRow(codes, this.manifest.codes * width, 'context codes');
    vectors.forEach((vector, index) =>
      this.checkRow(vector, width, () => `candidate vector ${index}`),
    );
    const featureWidth = generatorFeatures.length;
    if (featureWidth > 0) {
      if (!features || features.length !== vectors.length) {
        throw new InferenceError(
          `Poly scoring needs ${featureWidth} generator features per candidate (${generatorFeatures.join(', ')})`,
        );
      }
      features.forEach((row, index) =>
        this.checkRow(row, featureWidth, () => `generator features of candidate ${index}`),
      );
    }
    const count = vectors.length;
    if (count === 0) return new Float32Array(0);
    const candidateVectors = new Float32Array(count * width);
    putRows(vectors, width, candidateVectors, 0);
    const feeds: Record<string, Tensor> = {
      context_codes: { type: 'float32', data: codes, dims: [1, this.manifest.codes, width] },
      candidate_vectors: { type: 'float32', data: candidateVectors, dims: [1, count, width] },
    };
    if (featureWidth > 0) {
      const flat = new Float32Array(count * featureWidth);
      putRows(features ?? [], featureWidth, flat, 0);
      feeds.candidate_features = { type: 'float32', data: flat, dims: [1, count, featureWidth] };
    }
    const output = await this.run('polyScore', feeds);
    if (output.data.length !== count) {
      throw new InferenceError(`Poly scoring returned [${output.dims.join(', ')}] for ${count}`);
    }
    return output.data as Float32Array;
  }

  /**
   * Poly scores of many contexts at once, each against its own candidates: `batchSize` contexts per
   * model run, candidate lists padded to the longest with zero rows whose scores are dropped (each
   * candidate attends over its context's codes alone, so padding does not change the others).
   * Same results as `score` per context, in input order.
   */
  async scoreMany(items: readonly ScoreRequest[]): Promise<Float32Array[]> {
    const { width, generatorFeatures } = this.manifest;
    const codeCount = this.manifest.codes;
    const featureWidth = generatorFeatures.length;
    items.forEach((item, row) => this.checkScoreRequest(item, row));
    const results: Float32Array[] = [];
    for (const batch of this.batches(items)) {
      const size = batch.length;
      const most = Math.max(...batch.map((item) => item.vectors.length));
      if (most === 0) {
        batch.forEach(() => results.push(new Float32Array(0)));
        continue;
      }
      const codes = new Float32Array(size * codeCount * width);
      const vectors = new Float32Array(size * most * width);
      const features = new Float32Array(size * most * featureWidth);
      batch.forEach((item, row) => {
        codes.set(item.codes, row * codeCount * width);
        putRows(item.vectors, width, vectors, row * most * width);
        if (featureWidth > 0) {
          putRows(item.features ?? [], featureWidth, features, row * most * featureWidth);
        }
      });
      const feeds: Record<string, Tensor> = {
        context_codes: { type: 'float32', data: codes, dims: [size, codeCount, width] },
        candidate_vectors: { type: 'float32', data: vectors, dims: [size, most, width] },
      };
      if (featureWidth > 0) {
        feeds.candidate_features = {
          type: 'float32',
          data: features,
          dims: [size, most, featureWidth],
        };
      }
      const output = await this.run('polyScore', feeds);
      if (output.data.length !== size * most) {
        throw new InferenceError(
          `Poly scoring returned [${output.dims.join(', ')}] for ${size} x ${most}`,
        );
      }
      const data = output.data as Float32Array;
      batch.forEach((item, row) =>
        results.push(data.slice(row * most, row * most + item.vectors.length)),
      );
    }
    return results;
  }

  private checkScoreRequest(item: ScoreRequest, row: number): void {
    const { width, generatorFeatures } = this.manifest;
    this.checkRow(item.codes, this.manifest.codes * width, `context codes ${row}`);
    item.vectors.forEach((vector, index) =>
      this.checkRow(vector, width, () => `context ${row}: candidate vector ${index}`),
    );
    const featureWidth = generatorFeatures.length;
    if (featureWidth === 0) return;
    if (!item.features || item.features.length !== item.vectors.length) {
      throw new InferenceError(
        `Poly scoring needs ${featureWidth} generator features per candidate (${generatorFeatures.join(', ')})`,
      );
    }
    item.features.forEach((features, index) =>
      this.checkRow(features, featureWidth, () => `context ${row}: generator features ${index}`),
    );
  }

  async release(): Promise<void> {
    await Promise.all(LINKER_GRAPHS.map((key) => this.sessions[key].release()));
  }
}
