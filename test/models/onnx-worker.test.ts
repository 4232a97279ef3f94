/**
 * Sessions in a worker thread (`OnnxRuntime.worker`) against the same models in process, on the
 * bundle's image encoder and object detector, and what a dying worker does to the runs it had.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import {
  createOnnxRuntime,
  InferenceError,
  ModelWorker,
  type OnnxRuntime,
  type Tensor,
} from '../../src/inference/runtime/onnx-runtime.js';
import { EFFICIENTNET_LITE0_PIXELS } from '../../src/inference/vision/image-encoder.js';
import { toModelInput, type PixelSpec } from '../../src/inference/vision/image-preprocess.js';
import { CENTERNET_INPUT, CENTERNET_PIXELS } from '../../src/inference/vision/object-detector.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { decodeRgb } from '../helpers/decode.js';

const BUNDLE = path.join(PROJECT_ROOT, 'var/models/polylink-default');
const IMAGE_MODEL = path.join(BUNDLE, 'image/model.onnx');
const DETECTOR_MODEL = path.join(BUNDLE, 'detector/model.onnx');
const ORT_PACKAGE = path.dirname(
  createRequire(import.meta.url).resolve('onnxruntime-node/package.json'),
);

/**
 * A stand-in worker thread (CommonJS, as `eval` workers are) that echoes its feeds back, answers
 * an error for a session it has not loaded, and throws, uncaught, on a run whose first value is
 * negative.
 */
const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
let loaded = false;
parentPort.on('message', (request) => {
  if (request.kind === 'load') loaded = true;
  if (request.kind === 'run' && !loaded) {
    parentPort.postMessage({ id: request.id, error: 'no session in this thread' });
    return;
  }
  if (request.kind === 'run' && request.feeds.x.data[0] < 0) throw new Error('stand-in crash');
  const value =
    request.kind === 'load'
      ? { session: 0, inputNames: ['x'], outputNames: ['x'], inputs: [], outputs: [] }
      : request.kind === 'run' ? request.feeds : null;
  parentPort.postMessage({ id: request.id, value });
});
`;

const runtimes: OnnxRuntime[] = [];
function cpuRuntime(options: { reportPlacement?: boolean } = {}): OnnxRuntime {
  const runtime = createOnnxRuntime({
    executionProvider: 'cpu',
    intraOpThreads: 2,
    interOpThreads: 1,
    logger: createLogger('silent'),
    ...options,
  });
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
});

async function dogTensor(spec: PixelSpec): Promise<Tensor> {
  const image = await decodeRgb(
    await readFile(path.join(PROJECT_ROOT, 'test/fixtures/images/darknet-dog.jpg')),
  );
  const { data, dims } = await toModelInput(image, spec);
  return { type: 'float32', data, dims };
}

async function detectorFeeds(): Promise<Record<string, Tensor>> {
  return { [CENTERNET_INPUT]: await dogTensor(CENTERNET_PIXELS) };
}

async function expectInferenceError(run: Promise<unknown>): Promise<void> {
  const error = await run.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InferenceError);
  expect((error as InferenceError).extensions.code).toBe(ErrorCode.InferenceFailed);
}

function bytesOf(outputs: Record<string, Tensor>): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(outputs).map(([key, { data }]) => [
      key,
      [...new Uint8Array(data.buffer, data.byteOffset, data.byteLength)],
    ]),
  );
}

describe('ONNX sessions in a worker thread', () => {
  it('give the same outputs, to the bit, as the same models in process', async () => {
    const inProcess = cpuRuntime();
    const inWorker = cpuRuntime().worker('vision');
    for (const [file, input, spec] of [
      [IMAGE_MODEL, 'pixels', EFFICIENTNET_LITE0_PIXELS],
      [DETECTOR_MODEL, CENTERNET_INPUT, CENTERNET_PIXELS],
    ] as const) {
      const local = await inProcess.load('model', file);
      const remote = await inWorker.load('model', file);
      expect(remote.inputs).toEqual(local.inputs);
      expect(remote.outputs).toEqual(local.outputs);
      const tensor = await dogTensor(spec);
      const expected = await local.run({ [input]: tensor });
      const got = await remote.run({ [input]: tensor });
      expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
      for (const key of Object.keys(expected)) expect(got[key]!.dims).toEqual(expected[key]!.dims);
      expect(bytesOf(got)).toEqual(bytesOf(expected));
      // The caller's input stays usable: the worker was sent a copy.
      expect(tensor.data.byteLength).toBe(spec.width * spec.height * 3 * 4);
    }
  });

  it('rejects the runs of a worker that dies with InferenceError, and starts another', async () => {
    const worker = new ModelWorker('test', ORT_PACKAGE, createLogger('silent'), {
      script: ECHO_WORKER,
      eval: true,
    });
    const echo = await worker.load('echo.onnx', {});
    const feeds = (first: number) => ({
      x: { type: 'float32', data: new Float32Array([first, 2]), dims: [2] } as const,
    });
    expect([...(await echo.run(feeds(1))).x!.data]).toEqual([1, 2]);

    // The thread throws on the first of these; the second was waiting behind it.
    const pending = [echo.run(feeds(-1)), echo.run(feeds(3))];
    for (const run of pending) await expectInferenceError(run);
    // The next run starts a new thread, which loads the model again before running it.
    expect([...(await echo.run(feeds(4))).x!.data]).toEqual([4, 2]);

    await worker.close();
    await expectInferenceError(echo.run(feeds(5)));
  });

  it('lets the runs pending at close finish, then refuses new ones', async () => {
    const runtime = cpuRuntime();
    const detector = await runtime.worker('vision').load('detector', DETECTOR_MODEL);
    const feeds = await detectorFeeds();
    const pending = detector.run(feeds);
    await runtime.close();
    expect(Object.keys(await pending).length).toBeGreaterThan(0);
    await expectInferenceError(detector.run(feeds));
  });

  it('keeps sessions in process where the placement profile is read', async () => {
    const runtime = cpuRuntime({ reportPlacement: true });
    expect(runtime.worker('vision')).toBe(runtime);
  });
});
