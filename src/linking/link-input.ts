/**
 * Checks a `linkImage` request and turns the client's spans and boxes into the mentions and
 * regions the pipeline links. Pure: every problem is a BAD_USER_INPUT naming its field.
 */
import { clipBox, type PixelBox } from '../geometry/box.js';
import { BadInputError } from '../errors.js';
import type { Pair } from './link-units.js';
import type { MentionSource, MentionSpan } from './mentions.js';
import type { RegionProposal, RegionSource } from './regions.js';

/** A `linkImage` request, the image aside. */
export interface LinkRequest {
  readonly caption: string;
  /** Character spans of the caption (UTF-16, end exclusive); null: detect them. */
  readonly mentions: readonly { readonly start: number; readonly end: number }[] | null;
  /** Boxes in pixels of the upright image; null: propose them. */
  readonly regions: readonly PixelBox[] | null;
  /** Indices into `mentions` and `regions`; given: V&T-KG, null: V-T-KG (pairs are found). */
  readonly pairs: readonly Pair[] | null;
  /** Candidates per generator list (each mention's and each region's). */
  readonly candidates: number;
  /** Overrides the linker's NIL threshold for the task. */
  readonly nilThreshold: number | null;
  readonly domain: string | null;
}

export const MAX_CAPTION_LENGTH = 10_000;
/** At most this many given mentions and given regions each. */
export const MAX_GIVEN = 64;

/** `linkImage`'s tasks, named as in the benchmark's files (EVAL.md). */
export type LinkTask = 'VT-KG' | 'V&T-KG';

export function taskOf(request: Pick<LinkRequest, 'pairs'>): LinkTask {
  return request.pairs === null ? 'VT-KG' : 'V&T-KG';
}

/** A mention being linked: a span of the caption and where it came from. */
export interface LinkMention {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly source: MentionSource;
}

/** A region being linked: a box of the image and where it came from. */
export interface LinkRegion {
  readonly box: PixelBox;
  readonly source: RegionSource;
  /** The detector's class, `face`, or the text the OCR read; null for a given box. */
  readonly label: string | null;
  /** The proposing model's confidence; null for a given box. */
  readonly score: number | null;
}

/** Checks everything that does not need the image; throws BadInputError. */
export function checkLinkRequest(request: LinkRequest, limits: { maxCandidates: number }): void {
  const { caption, mentions, regions, pairs } = request;
  if (caption.length > MAX_CAPTION_LENGTH) {
    throw new BadInputError(`caption must have at most ${MAX_CAPTION_LENGTH} characters`, {
      field: 'caption',
    });
  }
  if (caption.trim() === '' && regions !== null && regions.length === 0) {
    throw new BadInputError('Nothing to link: the caption is empty and no region is given', {
      field: 'caption',
    });
  }
  checkCount(mentions, 'mentions');
  checkCount(regions, 'regions');
  mentions?.forEach((span, index) => checkSpan(caption, span, index));
  regions?.forEach((box, index) => checkBoxNumbers(box, index));
  if (pairs !== null) checkPairs(pairs, { mentions, regions });
  const { candidates } = request;
  if (!Number.isInteger(candidates) || candidates < 1 || candidates > limits.maxCandidates) {
    throw new BadInputError(`candidates must be between 1 and ${limits.maxCandidates}`, {
      field: 'candidates',
    });
  }
  if (request.nilThreshold !== null && !Number.isFinite(request.nilThreshold)) {
    throw new BadInputError('nilThreshold must be a finite number', { field: 'nilThreshold' });
  }
}

function checkCount(items: readonly unknown[] | null, field: string): void {
  if (items !== null && items.length > MAX_GIVEN) {
    throw new BadInputError(`At most ${MAX_GIVEN} ${field} per request`, { field });
  }
}

function checkSpan(
  caption: string,
  span: { readonly start: number; readonly end: number },
  index: number,
): void {
  const { start, end } = span;
  const valid =
    Number.isInteger(start) &&
    Number.isInteger(end) &&
    start >= 0 &&
    start < end &&
    end <= caption.length &&
    caption.slice(start, end).trim() !== '';
  if (!valid) {
    throw new BadInputError(
      `mentions[${index}] [${start}, ${end}) is not a non-blank span of the caption (${caption.length} characters)`,
      { field: 'mentions', index },
    );
  }
}

function checkBoxNumbers(box: PixelBox, index: number): void {
  const { x, y, width, height } = box;
  if (![x, y, width, height].every(Number.isFinite) || !(width > 0 && height > 0)) {
    throw new BadInputError(`regions[${index}] needs finite x, y and a positive width and height`, {
      field: 'regions',
      index,
    });
  }
}

function checkPairs(
  pairs: readonly Pair[],
  given: { mentions: readonly unknown[] | null; regions: readonly unknown[] | null },
): void {
  if (given.mentions === null || given.regions === null) {
    throw new BadInputError('pairs index into the given mentions and regions: give both', {
      field: 'pairs',
    });
  }
  const mentionCount = given.mentions.length;
  const regionCount = given.regions.length;
  const seenMentions = new Set<number>();
  const seenRegions = new Set<number>();
  pairs.forEach(({ mention, region }, index) => {
    const inRange =
      Number.isInteger(mention) &&
      Number.isInteger(region) &&
      mention >= 0 &&
      mention < mentionCount &&
      region >= 0 &&
      region < regionCount;
    if (!inRange) {
      throw new BadInputError(
        `pairs[${index}] (${mention}, ${region}) is out of range: ${mentionCount} mentions, ${regionCount} regions`,
        { field: 'pairs', index },
      );
    }
    if (seenMentions.has(mention) || seenRegions.has(region)) {
      throw new BadInputError(
        `pairs[${index}]: a mention or region may be in one pair only (one-to-one)`,
        { field: 'pairs', index },
      );
    }
    seenMentions.add(mention);
    seenRegions.add(region);
  });
}

/** The client's spans as mentions (source GIVEN). */
export function givenMentions(
  caption: string,
  spans: readonly { readonly start: number; readonly end: number }[],
): LinkMention[] {
  return spans.map(({ start, end }) => ({
    start,
    end,
    text: caption.slice(start, end),
    source: 'GIVEN',
  }));
}

/**
 * The client's boxes as regions (source GIVEN), each rounded to whole pixels and clipped to the
 * image as proposals are (`clipBox`); a box with nothing inside the image is a BAD_USER_INPUT.
 */
export function givenRegions(
  boxes: readonly PixelBox[],
  image: { readonly width: number; readonly height: number },
): LinkRegion[] {
  return boxes.map((box, index) => {
    const clipped = clipBox(box, image);
    if (!clipped) {
      throw new BadInputError(
        `regions[${index}] lies outside the ${image.width}x${image.height} image`,
        { field: 'regions', index },
      );
    }
    return { box: clipped, source: 'GIVEN', label: null, score: null };
  });
}

/** Detected mentions as the pipeline carries them. */
export function detectedMentions(spans: readonly MentionSpan[]): LinkMention[] {
  return spans.map(({ start, end, text, source }) => ({ start, end, text, source }));
}

/** Proposed regions as the pipeline carries them. */
export function proposedRegions(proposals: readonly RegionProposal[]): LinkRegion[] {
  return proposals.map(({ box, source, label, score }) => ({ box, source, label, score }));
}

/** The longest text a candidate query takes (CandidateService). */
const MAX_MENTION = 500;

/**
 * The text a mention's candidates are generated from: trimmed and cut to MAX_MENTION characters,
 * at a word boundary when there is one, exactly as the candidate lists the linker was trained
 * on were made (eval/baselines/run-baselines.ts uses this function).
 */
export function candidateText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length <= MAX_MENTION) return trimmed;
  const cut = trimmed.slice(0, MAX_MENTION);
  const space = cut.lastIndexOf(' ');
  return (space > MAX_MENTION / 2 ? cut.slice(0, space) : cut).trim();
}
