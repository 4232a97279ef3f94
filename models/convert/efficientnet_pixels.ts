// Dumps the tensor the service feeds EfficientNet-Lite0 for an image, as raw little-endian
// float32 [1, 3, 224, 224], so export_efficientnet.py can compute PyTorch reference values
// from exactly the same input (sharp's resize is not PIL's):
//
//   npx tsx models/convert/efficientnet_pixels.ts <image> <out.f32>
import { readFile, writeFile } from 'node:fs/promises';
import { EFFICIENTNET_LITE0_PIXELS } from '../../src/inference/vision/image-encoder.js';
import { parseConfig } from '../../src/config.js';
import { decodeRgb } from '../../src/images/image-decoding.js';
import { toModelInput } from '../../src/inference/vision/image-preprocess.js';

const [image, out] = process.argv.slice(2);
if (!image || !out) {
  console.error('usage: efficientnet_pixels.ts <image> <out.f32>');
  process.exit(2);
}
const decoded = await decodeRgb(await readFile(image), parseConfig({}).images);
const prepared = await toModelInput(decoded, EFFICIENTNET_LITE0_PIXELS);
const bytes = new Uint8Array(
  prepared.data.buffer,
  prepared.data.byteOffset,
  prepared.data.byteLength,
);
await writeFile(out, bytes);
console.error(`${image}: ${decoded.width}x${decoded.height} -> [${prepared.dims.join(', ')}]`);
