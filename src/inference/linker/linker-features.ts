/**
 * How the linking model's inputs are laid out (eval/features/FORMAT.md): the entity text, the
 * geometry of images and regions, mention positions. Shared by the feature extractor the model was
 * trained on (eval/features) and the service that feeds the exported model, so both build the
 * same inputs.
 */
import type { BoxTuple } from '../../geometry/box.js';
import type { TextEncoder } from '../text/text-encoder.js';

/** Tokens kept per text, [CLS] and [SEP] included. */
export const LINKER_MAX_TOKENS = 128;

/**
 * Between an entity's name and description. The paper's [ENT] token is not in bge's vocabulary;
 * `[SEP]` is, and the tokenizer maps the literal string to its special token (id 102, checked by
 * `checkEntitySeparator`), so the model sees `[CLS] name [SEP] description [SEP]`.
 */
export const ENTITY_SEPARATOR = '[SEP]';

/** The text an entity's candidate features are computed from: `name [SEP] description`. */
export function linkerEntityText(
  entity: { readonly name: string; readonly description: string },
  separator: string = ENTITY_SEPARATOR,
): string {
  return `${entity.name} ${separator} ${entity.description}`;
}

/**
 * Throws unless the tokenizer maps the literal `separator` to one special token, the one it ends
 * every text with ([CLS] a [SEP] b [SEP]), rather than to "[", "sep", "]".
 */
export async function checkEntitySeparator(
  text: Pick<TextEncoder, 'encodeTokens'>,
  separator: string = ENTITY_SEPARATOR,
): Promise<void> {
  const encoded = await text.encodeTokens(`a ${separator} b`, 'passage', { prefix: '' });
  const sepTokens = encoded.tokens.filter((token) => token === separator).length;
  if (encoded.ids.length !== 5 || sepTokens !== 2 || encoded.ids[2] !== encoded.ids[4]) {
    throw new Error(`The tokenizer does not map "${separator}" to its special token`);
  }
}

/**
 * Token positions of a mention: every token from the text (not [CLS]/[SEP]/prefix) whose character
 * span overlaps `[start, end)`. Empty when the mention lies past the truncation point.
 */
export function mentionTokenPositions(
  offsets: readonly (readonly [number, number])[],
  fromText: readonly boolean[],
  start: number,
  end: number,
): number[] {
  const positions: number[] = [];
  offsets.forEach(([tokenStart, tokenEnd], index) => {
    if (fromText[index] && tokenStart < end && tokenEnd > start) positions.push(index);
  });
  return positions;
}

/** A 0/1 mask of length `length` with ones at `positions`. */
export function positionsToMask(positions: readonly number[], length: number): Uint8Array {
  const mask = new Uint8Array(length);
  for (const position of positions) if (position >= 0 && position < length) mask[position] = 1;
  return mask;
}

/** The geometry of a whole KB image: x1, y1, x2, y2, covered fraction. */
export const FULL_IMAGE_GEOMETRY: readonly number[] = [0, 0, 1, 1, 1];

/**
 * A box `[x, y, w, h]` in pixels of a `width` × `height` image to `[x1, y1, x2, y2, area]`, the
 * corners normalised to 0–1 and clipped to the image, `area` the fraction of the image it covers.
 */
export function boxGeometry(box: BoxTuple, width: number, height: number): number[] {
  if (!(width > 0 && height > 0)) throw new RangeError(`bad image size ${width}x${height}`);
  const clip = (value: number) => Math.min(1, Math.max(0, value));
  const [x, y, w, h] = box;
  const x1 = clip(x / width);
  const y1 = clip(y / height);
  const x2 = clip((x + w) / width);
  const y2 = clip((y + h) / height);
  return [x1, y1, x2, y2, Math.max(0, x2 - x1) * Math.max(0, y2 - y1)];
}
