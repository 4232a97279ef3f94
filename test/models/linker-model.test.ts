import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { imageVectorEncoderFactory } from '../../src/inference/vision/image-vector-encoder.js';
import { LINKER_MAX_TOKENS, linkerEntityText } from '../../src/inference/linker/linker-features.js';
import {
  LinkerModel,
  type CandidateFeatures,
  type ContextFeatures,
  type LinkerGraph,
} from '../../src/inference/linker/linker-model.js';
import { createModelRegistry, type ModelRegistry } from '../../src/inference/model-registry.js';
import {
  createOnnxRuntime,
  InferenceError,
  type OnnxRuntime,
  type Tensor,
} from '../../src/inference/runtime/onnx-runtime.js';
import { createTextEncoder } from '../../src/inference/text/text-encoder.js';
import { createLogger } from '../../src/logger.js';
import type { BundleManifest } from '../../src/models/bundle.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { CandidateVectorEncoder } from '../../src/inference/encoders.js';
import { fixtureNation, readFixture } from '../helpers/fixtures.js';

// The bundle's linker folder (linker.json, the three graphs, parity.json). The tests skip only when
// the folder is absent (no bundle assembled, or a spec without a linker); missing files fail them.
const linkerDir = path.resolve(
  PROJECT_ROOT,
  process.env.POLYLINK_TEST_LINKER_DIR ?? 'var/models/polylink-default/linker',
);
const bundleDir = path.dirname(linkerDir);
const linkerPresent = existsSync(linkerDir);

/** PyTorch's outputs on fixed inputs (models/zemel/release.py); ONNX Runtime must agree. */
const TOLERANCE = 1e-4;

interface ParityTensor {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int64';
  readonly data: number[];
}
type Parity = Record<
  'context' | 'candidate' | 'poly_score',
  { inputs: Record<string, ParityTensor>; output: ParityTensor }
>;
const PARITY_GRAPHS: Record<keyof Parity, LinkerGraph> = {
  context: 'context',
  candidate: 'candidate',
  poly_score: 'polyScore',
};

function toTensor(tensor: ParityTensor): Tensor {
  return tensor.dtype === 'int64'
    ? { type: 'int64', data: BigInt64Array.from(tensor.data, BigInt), dims: tensor.shape }
    : { type: 'float32', data: Float32Array.from(tensor.data), dims: tensor.shape };
}

function maxAbsDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let index = 0; index < actual.length; index++) {
    max = Math.max(max, Math.abs((actual[index] ?? NaN) - (expected[index] ?? NaN)));
  }
  return max;
}

/** Row `row` of a [B, N, width] parity tensor, the first `count` of its N rows. */
function rowsOf(tensor: ParityTensor, row: number, count: number): number[][] {
  const [, n = 0, width = 0] = tensor.shape;
  const start = row * n * width;
  return Array.from({ length: count }, (_, index) =>
    tensor.data.slice(start + index * width, start + (index + 1) * width),
  );
}

/** How many leading ones row `row` of a [B, N] 0/1 mask has (masks here are prefixes). */
function maskCount(mask: ParityTensor, row: number): number {
  const n = mask.shape[1] ?? 0;
  return mask.data.slice(row * n, (row + 1) * n).filter((value) => value === 1).length;
}

function indicesOf(mask: ParityTensor, row: number): number[] {
  const n = mask.shape[1] ?? 0;
  return mask.data
    .slice(row * n, (row + 1) * n)
    .flatMap((value, index) => (value === 1 ? [index] : []));
}

describe.skipIf(!linkerPresent)(
  `linker model (${linkerPresent ? linkerDir : `skipped: no linker folder ${linkerDir}; assemble a bundle whose spec has a linker, or set POLYLINK_TEST_LINKER_DIR`})`,
  () => {
    let runtime: OnnxRuntime;
    let linker: LinkerModel;
    let parity: Parity;
    let fingerprint: string;

    beforeAll(async () => {
      const manifest = JSON.parse(
        readFileSync(path.join(bundleDir, 'manifest.json'), 'utf8'),
      ) as BundleManifest;
      fingerprint = manifest.components.linker?.fingerprint ?? 'missing';
      parity = JSON.parse(readFileSync(path.join(linkerDir, 'parity.json'), 'utf8')) as Parity;
      runtime = createOnnxRuntime({
        executionProvider: 'cpu',
        intraOpThreads: 0,
        interOpThreads: 1,
        logger: createLogger('silent'),
      });
      linker = await LinkerModel.load(runtime, { dir: linkerDir, fingerprint });
    });

    afterAll(async () => {
      await runtime?.close();
    });

    it('reads the manifest: widths, generator features, thresholds, fingerprint', () => {
      expect(linker.fingerprint).toMatch(/^linker:[0-9a-f]{16}$/);
      expect(linker.manifest.head).toBe('poly');
      expect(linker.codes).toBe(16);
      expect(linker.dimension).toBe(192);
      expect(linker.manifest.text).toMatchObject({
        dimension: 384,
        maxTokens: LINKER_MAX_TOKENS,
        entitySeparator: '[SEP]',
        prefix: '',
      });
      expect(linker.manifest.image.dimension).toBe(1280);
      expect(linker.generatorFeatures).toHaveLength(12);
      for (const value of Object.values(linker.thresholds)) {
        expect(value === null || typeof value === 'number').toBe(true);
      }
      expect(typeof linker.version).toBe('string');
    });

    it.each(Object.keys(PARITY_GRAPHS) as (keyof Parity)[])(
      'graph %s matches PyTorch on the parity inputs',
      async (name) => {
        const { inputs, output } = parity[name];
        const feeds = Object.fromEntries(
          Object.entries(inputs).map(([input, tensor]) => [input, toTensor(tensor)]),
        );
        const result = await linker.run(PARITY_GRAPHS[name], feeds);
        expect(result.dims).toEqual(output.shape);
        expect(maxAbsDifference(result.data as Float32Array, output.data)).toBeLessThan(TOLERANCE);
      },
    );

    it('encodeCandidates, contextCodes and score give the parity outputs from unpadded inputs', async () => {
      const candidate = parity.candidate;
      const [batch = 0, , textWidth = 0] = candidate.inputs.token_states!.shape;
      const candidates: CandidateFeatures[] = Array.from({ length: batch }, (_, row) => {
        const images = maskCount(candidate.inputs.image_mask!, row);
        return {
          tokenStates: Float32Array.from(
            rowsOf(
              candidate.inputs.token_states!,
              row,
              maskCount(candidate.inputs.token_mask!, row),
            )
              .flat()
              .slice(),
          ),
          images: rowsOf(candidate.inputs.image_features!, row, images),
          geometry: rowsOf(candidate.inputs.image_geometry!, row, images),
        };
      });
      expect(textWidth).toBe(384);
      const vectors = await linker.encodeCandidates(candidates);
      expect(vectors).toHaveLength(batch);
      expect(
        maxAbsDifference(
          vectors.flatMap((vector) => [...vector]),
          candidate.output.data,
        ),
      ).toBeLessThan(TOLERANCE);

      const context = parity.context;
      const contexts: ContextFeatures[] = Array.from(
        { length: context.inputs.token_states!.shape[0] ?? 0 },
        (_, row) => {
          const regions = maskCount(context.inputs.region_mask!, row);
          const focus = new Set(indicesOf(context.inputs.region_focus!, row));
          const features = rowsOf(context.inputs.region_features!, row, regions);
          const geometry = rowsOf(context.inputs.region_geometry!, row, regions);
          return {
            tokenStates: Float32Array.from(
              rowsOf(
                context.inputs.token_states!,
                row,
                maskCount(context.inputs.token_mask!, row),
              ).flat(),
            ),
            mentionPositions: indicesOf(context.inputs.mention_mask!, row),
            regions: features.map((values, index) => ({
              features: values,
              geometry: geometry[index]!,
              focus: focus.has(index),
            })),
          };
        },
      );
      const codes = await linker.contextCodes(contexts);
      expect(
        maxAbsDifference(
          codes.flatMap((block) => [...block]),
          context.output.data,
        ),
      ).toBeLessThan(TOLERANCE);

      const score = parity.poly_score;
      const count = score.inputs.candidate_vectors!.shape[1] ?? 0;
      const scores = await linker.score(
        Float32Array.from(score.inputs.context_codes!.data),
        rowsOf(score.inputs.candidate_vectors!, 0, count),
        score.inputs.candidate_features ? rowsOf(score.inputs.candidate_features, 0, count) : [],
      );
      expect(maxAbsDifference(scores, score.output.data)).toBeLessThan(TOLERANCE);
    });

    it('rejects inputs that do not fit the manifest', async () => {
      await expect(
        linker.encodeCandidates([{ tokenStates: new Float32Array(100), images: [] }]),
      ).rejects.toThrow(InferenceError);
      await expect(
        linker.encodeCandidates([
          { tokenStates: new Float32Array(384), images: [new Float32Array(512)] },
        ]),
      ).rejects.toThrow(/image 0 has 512 values/);
      await expect(
        linker.score(new Float32Array(16 * 192), [new Float32Array(192)]),
      ).rejects.toThrow(/generator features/);
    });

    describe('candidate vectors of real entities, through the model registry', () => {
      let registry: ModelRegistry;
      let candidates: CandidateVectorEncoder;
      const roman = fixtureNation('roman');
      let flag: Float32Array;

      beforeAll(async () => {
        const config = parseConfig({}, PROJECT_ROOT);
        registry = await createModelRegistry(
          { ...config.models, bundleDir },
          createLogger('silent'),
          { imageEncoder: imageVectorEncoderFactory(config.images) },
        );
        candidates = registry.encoders.candidate!;
        flag = await registry.encoders.image!.encodeImage(readFixture(roman.images[0]!.path));
      });

      afterAll(async () => {
        await registry?.close();
      });

      it('loads the linker eagerly with the bundle, under its fingerprint', () => {
        expect(registry.linker?.fingerprint).toBe(fingerprint);
        expect(candidates.fingerprint).toBe(fingerprint);
        expect(candidates.dimension).toBe(192);
      });

      it('feeds the token states the features were extracted with (no prefix, 128 tokens)', async () => {
        // eval/features/extract-features.ts builds its own encoder truncating at 128 tokens.
        const textComponent = registry.manifest.components.text!;
        const extractor = await createTextEncoder(runtime, {
          name: 'extractor-text',
          modelFile: path.join(bundleDir, textComponent.files['model.onnx']!.path),
          tokenizerFile: path.join(bundleDir, textComponent.files['tokenizer.json']!.path),
          maxLength: LINKER_MAX_TOKENS,
          pooling: 'cls',
          dimension: 384,
          batchSize: 1,
          passagePrefix: '',
        });
        try {
          const text = linkerEntityText(roman);
          const expected = await extractor.encodeTokens(text, 'passage');
          const served = await registry.text!.encodeTokens(text, 'passage', {
            maxLength: LINKER_MAX_TOKENS,
            prefix: '',
          });
          expect(expected.truncated).toBe(true);
          expect(served.ids).toEqual(expected.ids);
          expect(served.ids).toHaveLength(LINKER_MAX_TOKENS);
          expect(served.ids.filter((id) => id === 102)).toHaveLength(2);
          expect(maxAbsDifference(served.states, expected.states)).toBe(0);
        } finally {
          await extractor.release();
        }
      });

      it('gives a deterministic 192-d vector for an entity with its flag, and one without images', async () => {
        const entity = { name: roman.name, description: roman.description, imageVectors: [flag] };
        const started = performance.now();
        const [first] = await candidates.encodeEntities([entity]);
        const oneMs = performance.now() - started;
        const [second] = await candidates.encodeEntities([entity]);
        expect(first).toHaveLength(192);
        expect(first!.every(Number.isFinite)).toBe(true);
        expect([...second!]).toEqual([...first!]);

        const [textOnly] = await candidates.encodeEntities([{ ...entity, imageVectors: [] }]);
        expect(textOnly).toHaveLength(192);
        expect(textOnly!.every(Number.isFinite)).toBe(true);
        expect(maxAbsDifference(textOnly!, first!)).toBeGreaterThan(1e-3);

        // Batched with other entities (padding and masks), the vectors stay the same.
        const american = fixtureNation('american');
        const batched = await candidates.encodeEntities([
          { name: american.name, description: american.description, imageVectors: [flag, flag] },
          entity,
          { ...entity, imageVectors: [] },
        ]);
        expect(maxAbsDifference(batched[1]!, first!)).toBeLessThan(1e-5);
        expect(maxAbsDifference(batched[2]!, textOnly!)).toBeLessThan(1e-5);

        // A measurement for the log, not an assertion: the machine may be busy.
        const runs = 5;
        const mean = async (work: () => Promise<unknown>) => {
          const start = performance.now();
          for (let run = 0; run < runs; run++) await work();
          return ((performance.now() - start) / runs).toFixed(1);
        };
        const tokens = await registry.text!.encodeTokens(linkerEntityText(roman), 'passage', {
          maxLength: LINKER_MAX_TOKENS,
          prefix: '',
        });
        const total = await mean(() => candidates.encodeEntities([entity]));
        const graphOnly = await mean(() =>
          registry.linker!.encodeCandidates([{ tokenStates: tokens.states, images: [flag] }]),
        );
        const image = await mean(() =>
          registry.encoders.image!.encodeImage(readFixture(roman.images[0]!.path)),
        );
        console.log(
          `candidate vector of one entity (${tokens.ids.length} tokens, 1 image vector): ` +
            `first ${oneMs.toFixed(1)} ms, mean of ${runs} ${total} ms, of which candidate.onnx ` +
            `${graphOnly} ms; the flag's image vector (decode + EfficientNet, not included) ${image} ms`,
        );
      });
    });
  },
);
