import { parseConfig } from '../../src/config.js';
import {
  decodeRgb as decodeWithLimits,
  type DecodedImage,
} from '../../src/images/image-decoding.js';

const DEFAULT_LIMITS = parseConfig({}).images;

/** Decodes a test image under the service's default limits, as the encoders do. */
export function decodeRgb(bytes: Uint8Array): Promise<DecodedImage> {
  return decodeWithLimits(bytes, DEFAULT_LIMITS);
}
