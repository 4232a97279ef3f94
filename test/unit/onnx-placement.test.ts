import { describe, expect, it } from 'vitest';
import { nodesPerProvider } from '../../src/inference/runtime/onnx-runtime.js';

/** Events in the shape ONNX Runtime 1.30 writes to a profile (Chrome trace, `args.provider`). */
const kernel = (name: string, provider: string) => ({
  cat: 'Node',
  name: `${name}_kernel_time`,
  ph: 'X',
  args: { op_name: 'MatMul', provider },
});

describe('nodesPerProvider', () => {
  it('counts each node once per provider, from kernel events only', () => {
    const profile = [
      { cat: 'Session', name: 'session_initialization', args: {} },
      kernel('/encoder/MatMul', 'CUDAExecutionProvider'),
      kernel('/encoder/MatMul', 'CUDAExecutionProvider'), // the same node in a second run
      kernel('/encoder/Conv', 'CUDAExecutionProvider'),
      kernel('/head/NonMaxSuppression', 'CPUExecutionProvider'),
      { cat: 'Node', name: 'fence_before', args: {} },
    ];
    expect(nodesPerProvider(profile)).toEqual({
      CUDAExecutionProvider: 2,
      CPUExecutionProvider: 1,
    });
  });

  it('reads nothing from a profile that is not a list of events', () => {
    expect(nodesPerProvider({ traceEvents: [] })).toEqual({});
    expect(nodesPerProvider([])).toEqual({});
  });
});
