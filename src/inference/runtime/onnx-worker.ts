/**
 * The worker thread of `OnnxRuntime.worker` (src/inference/runtime/onnx-runtime.ts, its only
 * user): creates sessions with the options and the onnxruntime-node copy the runtime gives it and
 * runs them off the service's event loop. Outputs go back transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import {
  fromOrtTensor,
  loadOrt,
  toOrtTensor,
  sessionSignature,
  type SessionInWorker,
  type WorkerReply,
  type WorkerRequest,
} from './onnx-runtime.js';

const { packageDir } = workerData as { packageDir: string };
const ort = loadOrt(packageDir).module;
const sessions = new Map<number, InferenceSession>();
let nextSession = 0;

function sessionOf(id: number): InferenceSession {
  const session = sessions.get(id);
  if (session === undefined) throw new Error(`no session ${id} in this worker`);
  return session;
}

async function answer(
  request: WorkerRequest,
): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (request.kind) {
    case 'load': {
      // The two overloads (path, bytes) take the same options.
      const session =
        typeof request.file === 'string'
          ? await ort.InferenceSession.create(request.file, request.options)
          : await ort.InferenceSession.create(request.file, request.options);
      const id = nextSession++;
      sessions.set(id, session);
      const loaded: SessionInWorker = {
        session: id,
        ...sessionSignature(session),
      };
      return { value: loaded, transfer: [] };
    }
    case 'run': {
      const feeds = Object.fromEntries(
        Object.entries(request.feeds).map(([key, tensor]) => [key, toOrtTensor(ort, tensor)]),
      );
      const results = await sessionOf(request.session).run(feeds);
      const outputs = Object.fromEntries(
        Object.entries(results).map(([key, tensor]) => [key, fromOrtTensor(tensor)]),
      );
      // Outputs may share a buffer; each is listed once.
      const buffers = new Set(Object.values(outputs).map(({ data }) => data.buffer as ArrayBuffer));
      return { value: outputs, transfer: [...buffers] };
    }
    case 'release': {
      await sessionOf(request.session).release();
      sessions.delete(request.session);
      return { value: null, transfer: [] };
    }
  }
}

// One call at a time, in the order sent: runs block this thread anyway, and a release must not
// overtake a run of the same session.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => reply(request));
});

function reply(request: WorkerRequest): Promise<void> {
  return answer(request).then(
    ({ value, transfer }) =>
      parentPort!.postMessage({ id: request.id, value } satisfies WorkerReply, transfer),
    (error: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies WorkerReply),
  );
}
