/**
 * Loads the model bundle the way the service does, from the environment (POLYLINK_EXECUTION_PROVIDER,
 * POLYLINK_CUDA_DIR), runs the text encoder and the linker's scorer once, and prints the runtime's
 * placements as the last line of stdout; logs go to stderr. A child process of
 * test/models/cuda-setup.test.ts: a process holds one onnxruntime-node, and a test worker has
 * loaded the npm copy already.
 */
import { parseConfig } from '../../src/config.js';
import { imageVectorEncoderFactory } from '../../src/inference/vision/image-vector-encoder.js';
import { createModelRegistry } from '../../src/inference/model-registry.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const config = parseConfig(process.env, PROJECT_ROOT);
const registry = await createModelRegistry(config.models, createLogger('info', { stderr: true }), {
  imageEncoder: imageVectorEncoderFactory(config.images),
});
await registry.vision();
await registry.encoders.text!.encodeQuery('the flag of the Romans');
console.log(
  JSON.stringify({
    provider: registry.runtime.provider,
    fallbackReason: registry.runtime.fallbackReason,
    placements: registry.runtime.placements(),
  }),
);
await registry.close();
