import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkerModel, type ScoreRequest } from '../../src/inference/linker/linker-model.js';
import { createOnnxRuntime, type OnnxRuntime } from '../../src/inference/runtime/onnx-runtime.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';

// linkImage scores all contexts of a phase in a few poly_score runs, candidate lists padded with
// zero rows: the scores must be those of one run per context.
const linkerDir = path.resolve(
  PROJECT_ROOT,
  process.env.POLYLINK_TEST_LINKER_DIR ?? 'var/models/polylink-default/linker',
);
const linkerPresent = existsSync(linkerDir);

/** Deterministic values in [-1, 1). */
function pseudoRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  };
}

describe.skipIf(!linkerPresent)('LinkerModel.scoreMany', () => {
  let runtime: OnnxRuntime;
  let linker: LinkerModel;

  beforeAll(async () => {
    runtime = createOnnxRuntime({
      executionProvider: 'cpu',
      intraOpThreads: 0,
      interOpThreads: 1,
      logger: createLogger('silent'),
    });
    // Two contexts per run, so five contexts take three runs.
    linker = await LinkerModel.load(runtime, {
      dir: linkerDir,
      fingerprint: 'linker:test',
      batchSize: 2,
    });
  });

  afterAll(async () => {
    await runtime?.close();
  });

  it('gives every context the scores a run of its own gives, whatever the padding', async () => {
    const next = pseudoRandom(7);
    const width = linker.dimension;
    const featureWidth = linker.generatorFeatures.length;
    const request = (count: number): ScoreRequest => ({
      codes: Float32Array.from({ length: linker.codes * width }, next),
      vectors: Array.from({ length: count }, () => Float32Array.from({ length: width }, next)),
      features: Array.from({ length: count }, () =>
        Array.from({ length: featureWidth }, (_, i) =>
          i < featureWidth / 2 ? Math.abs(next()) : 1,
        ),
      ),
    });
    const requests = [request(7), request(1), request(0), request(30), request(3)];
    const batched = await linker.scoreMany(requests);
    expect(batched.map((scores) => scores.length)).toEqual([7, 1, 0, 30, 3]);
    for (const [index, item] of requests.entries()) {
      const alone = await linker.score(item.codes, item.vectors, item.features);
      const got = batched[index]!;
      for (let k = 0; k < alone.length; k += 1) {
        expect(Math.abs(got[k]! - alone[k]!)).toBeLessThan(1e-4);
      }
    }
  });

  it('checks its inputs like score', async () => {
    const codes = new Float32Array(linker.codes * linker.dimension);
    await expect(
      linker.scoreMany([{ codes, vectors: [new Float32Array(linker.dimension)] }]),
    ).rejects.toThrow(/generator features/);
    await expect(linker.scoreMany([{ codes: new Float32Array(3), vectors: [] }])).rejects.toThrow(
      /context codes 0/,
    );
  });
});
