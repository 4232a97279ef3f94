import { BadInputError } from '../errors.js';
import { area, clipBox, intersectionArea, iou, type PixelBox } from '../geometry/box.js';
import type { DecodedImage } from '../inference/vision/image-preprocess.js';
import {
  contrastRegions,
  DEFAULT_CONTRAST_OPTIONS,
  type ContrastRegionOptions,
} from './contrast-regions.js';

/**
 * Region proposals for `linkImage` (issue 6) when the client gives no regions: the object
 * detector's boxes, the face detector's boxes, the OCR's text lines and the class-agnostic
 * CONTRAST boxes (contrast-regions.ts, issue 12), near-duplicates merged,
 * ranked by score and capped. Everything here but `RegionProposer.propose` is pure.
 */

/**
 * Where a region came from. `GIVEN`: the client's own box. `CONTRAST`: a class-agnostic picture
 * standing out from its background (contrast-regions.ts). `WHOLE_IMAGE`: the fallback when no
 * model found anything (see `RegionProposer.propose`).
 */
export type RegionSource = 'DETECTOR' | 'FACE' | 'TEXT' | 'CONTRAST' | 'GIVEN' | 'WHOLE_IMAGE';

export interface RegionProposal {
  readonly box: PixelBox;
  readonly source: RegionSource;
  /** The detector's COCO class, `'face'`, the text read (TEXT), or null. */
  readonly label: string | null;
  /**
   * The proposing model's own confidence, 0-1: the detector's centre-heatmap peak, BlazeFace's
   * anchor probability, the OCR's mean character probability, CONTRAST's isolation score times
   * the proposer's `contrastWeight` (contrast-regions.ts). Not calibrated across sources.
   * WHOLE_IMAGE scores 0 (no model saw anything).
   */
  readonly score: number;
}

/** The WHOLE_IMAGE fallback proposal. */
export function wholeImageProposal(image: {
  readonly width: number;
  readonly height: number;
}): RegionProposal {
  return {
    box: { x: 0, y: 0, width: image.width, height: image.height },
    source: 'WHOLE_IMAGE',
    label: null,
    score: 0,
  };
}

/** Code-unit order: unlike localeCompare, the same on every machine. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Tie-break order between sources of equal score. */
const SOURCE_ORDER: Readonly<Record<RegionSource, number>> = {
  GIVEN: 0,
  DETECTOR: 1,
  FACE: 2,
  TEXT: 3,
  CONTRAST: 4,
  WHOLE_IMAGE: 5,
};

/**
 * A total order on proposals: GIVEN first, then score descending; ties by source (DETECTOR,
 * FACE, TEXT, CONTRAST), then top, left, larger area, label. The input order never matters. Pure.
 */
export function compareProposals(a: RegionProposal, b: RegionProposal): number {
  const given = Number(b.source === 'GIVEN') - Number(a.source === 'GIVEN');
  return (
    given ||
    b.score - a.score ||
    SOURCE_ORDER[a.source] - SOURCE_ORDER[b.source] ||
    a.box.y - b.box.y ||
    a.box.x - b.box.x ||
    area(b.box) - area(a.box) ||
    compareStrings(a.label ?? '', b.label ?? '')
  );
}

/** How much of a FACE box must lie inside a DETECTOR 'person' box for the pair to be exempt. */
export const FACE_IN_PERSON_FRACTION = 0.8;

/**
 * True when one of the two is a FACE and the other a larger DETECTOR 'person' box holding at
 * least FACE_IN_PERSON_FRACTION of the face's area. Such a pair never suppresses each other: a
 * face and the person it belongs to are different things to link (a face descriptor against a
 * person's photos, the whole figure against an object class).
 */
export function isFaceInPerson(a: RegionProposal, b: RegionProposal): boolean {
  const [face, person] = a.source === 'FACE' ? [a, b] : [b, a];
  return (
    face.source === 'FACE' &&
    person.source === 'DETECTOR' &&
    person.label === 'person' &&
    area(person.box) > area(face.box) &&
    intersectionArea(face.box, person.box) >= FACE_IN_PERSON_FRACTION * area(face.box)
  );
}

export interface MergeOptions {
  /** A proposal overlapping a kept one by more than this IoU is dropped. */
  readonly iouThreshold: number;
}

/**
 * Class-agnostic greedy non-maximum suppression across sources. Proposals are visited in
 * `compareProposals` order (GIVEN first, then best score first); each is kept unless it overlaps
 * an already kept proposal by more than `iouThreshold` IoU, whatever either's source or label:
 * a dog box and a "cat" box on the same animal are one region, and so are a detector box and a
 * text line covering the same sign. Two exceptions:
 *
 * - a FACE inside a larger DETECTOR 'person' box and that box never suppress each other
 *   (`isFaceInPerson`), whichever scores higher;
 * - GIVEN proposals (the client's boxes) are all kept, even when they overlap each other; they
 *   do suppress model proposals that duplicate them.
 *
 * Returns the kept proposals in that same order. Deterministic: the result does not depend on
 * the input order. Pure.
 */
export function mergeNearDuplicates(
  proposals: readonly RegionProposal[],
  options: MergeOptions,
): RegionProposal[] {
  const kept: RegionProposal[] = [];
  for (const proposal of [...proposals].sort(compareProposals)) {
    const duplicate =
      proposal.source !== 'GIVEN' &&
      kept.some(
        (other) =>
          !isFaceInPerson(proposal, other) && iou(proposal.box, other.box) > options.iouThreshold,
      );
    if (!duplicate) kept.push(proposal);
  }
  return kept;
}

// ---------------------------------------------------------------------------------------------
// OCR lines

/** One line read by the OCR (OcrReader's OcrLine has these fields and more). */
export interface TextFragment {
  readonly text: string;
  readonly confidence: number;
  readonly box: PixelBox;
}

export interface TextLineOptions {
  /** Fragments further apart than this many line heights are separate lines. */
  readonly maxGapRatio: number;
  /** Vertical overlap, as a fraction of the shorter fragment's height, to be on one line. */
  readonly minVerticalOverlap: number;
  /** Shorter height over taller height, at least, to be on one line (same font size). */
  readonly minHeightRatio: number;
}

/**
 * PP-OCR's DB detector already returns lines, not words, but it may split a line at a wide word
 * gap; such fragments are joined back (one region per line of text, as a reader sees it).
 */
export const DEFAULT_TEXT_LINE_OPTIONS: TextLineOptions = {
  maxGapRatio: 1,
  minVerticalOverlap: 0.6,
  minHeightRatio: 0.6,
};

function sameLine(left: TextFragment, right: TextFragment, options: TextLineOptions): boolean {
  const a = left.box;
  const b = right.box;
  const shorter = Math.min(a.height, b.height);
  const taller = Math.max(a.height, b.height);
  if (!(shorter > 0) || shorter / taller < options.minHeightRatio) return false;
  const overlap = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (overlap < options.minVerticalOverlap * shorter) return false;
  const gap = b.x - (a.x + a.width);
  // A little overlap is fine (DB's unclip margin); a fragment inside another is not a neighbour.
  return gap >= -0.5 * shorter && gap <= options.maxGapRatio * taller;
}

/**
 * Joins text fragments that continue each other on one line (left to right, similar height,
 * overlapping vertically, a gap of at most `maxGapRatio` line heights): the text joined with a
 * space, the union box, the confidence averaged over characters. Lines come back top to bottom,
 * then left to right. Deterministic. Pure.
 */
export function mergeTextLines(
  fragments: readonly TextFragment[],
  options: TextLineOptions = DEFAULT_TEXT_LINE_OPTIONS,
): TextFragment[] {
  const sorted = [...fragments].sort(
    (a, b) => a.box.x - b.box.x || a.box.y - b.box.y || compareStrings(a.text, b.text),
  );
  const lines: TextFragment[][] = [];
  for (const fragment of sorted) {
    // The nearest line (smallest gap) this fragment continues; the first such in creation order.
    let best: TextFragment[] | null = null;
    let bestGap = Infinity;
    for (const line of lines) {
      const last = line[line.length - 1]!;
      if (!sameLine(last, fragment, options)) continue;
      const gap = fragment.box.x - (last.box.x + last.box.width);
      if (gap < bestGap) {
        best = line;
        bestGap = gap;
      }
    }
    if (best) best.push(fragment);
    else lines.push([fragment]);
  }
  return lines
    .map((parts): TextFragment => {
      if (parts.length === 1) return parts[0]!;
      const x0 = Math.min(...parts.map((p) => p.box.x));
      const y0 = Math.min(...parts.map((p) => p.box.y));
      const x1 = Math.max(...parts.map((p) => p.box.x + p.box.width));
      const y1 = Math.max(...parts.map((p) => p.box.y + p.box.height));
      const characters = parts.reduce((sum, p) => sum + Math.max(1, p.text.length), 0);
      const confidence =
        parts.reduce((sum, p) => sum + p.confidence * Math.max(1, p.text.length), 0) / characters;
      return {
        text: parts.map((p) => p.text.trim()).join(' '),
        confidence,
        box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
      };
    })
    .sort((a, b) => a.box.y - b.box.y || a.box.x - b.box.x);
}

// ---------------------------------------------------------------------------------------------
// The proposer

/** What RegionProposer needs of an object detector (ObjectDetector is one). */
export interface RegionObjectDetector {
  detect(
    image: DecodedImage,
    options?: { readonly minScore?: number; readonly maxDetections?: number },
  ): Promise<readonly { readonly box: PixelBox; readonly label: string; readonly score: number }[]>;
}

/** What RegionProposer needs of a face detector (FaceAnalyzer is one). */
export interface RegionFaceDetector {
  detect(
    image: DecodedImage,
  ): Promise<readonly { readonly box: PixelBox; readonly score: number }[]>;
}

/** What RegionProposer needs of a text reader (OcrReader is one). */
export interface RegionTextReader {
  read(image: DecodedImage): Promise<readonly TextFragment[]>;
  /** The same reader with another detector input floor (OcrReader.withOptions). */
  withOptions?(options: { readonly detMinSideLen: number }): RegionTextReader;
}

/** The vision models a proposer runs; null where the bundle lacks one (VisionModels fits). */
export interface RegionModels {
  readonly detector: RegionObjectDetector | null;
  readonly faces: RegionFaceDetector | null;
  readonly ocr: RegionTextReader | null;
}

export interface RegionProposerConfig {
  /** mergeNearDuplicates' threshold. */
  readonly iouThreshold: number;
  /**
   * The detector's score floor for proposals (null: the detector's own, 0.2 in the default
   * bundle). Proposals are class-agnostic, so a box whose COCO class is wrong (a flag as a
   * "parking meter") is still a region worth linking. On the benchmark's composited flags, emoji
   * and clip-art (eval/regions/score-regions.ts, top 5, IoU >= 0.5), lowering the floor from 0.2
   * to 0.1 took region recall on the first 100 dev queries from 41% to 77% at the same precision
   * (29% / 30%), and on the first 100 dev scenes from 36% to 62% (precision 65% to 71%); 0.05
   * gave 85% and 66% at lower precision (25% and 69%). Low-scoring boxes rank last.
   */
  readonly detectorMinScore: number | null;
  /**
   * Run the three models at once (true) or one after another (false). On the 2-core machine the
   * two took the same time (100 dev images, one intra-op thread per session: median 228 vs 230
   * ms; 40 images alternating, default threads: within 5%), while a training run loaded the CPU.
   * OCR is two thirds of the time either way; ONNX Runtime's thread count mattered far more.
   */
  readonly concurrent: boolean;
  readonly textLines: TextLineOptions;
  /**
   * The class-agnostic contrast proposals (contrast-regions.ts) computed on the decoded pixels;
   * null turns the stage off.
   */
  readonly contrast: ContrastRegionOptions | null;
  /**
   * A CONTRAST proposal's score is its isolation score (0-1) times this, so that it ranks and
   * suppresses against the models' scores. 0.4 was chosen on the dev scenes (Wesnoth's 80 and
   * the first 120 in-house, cap 10): 0.15-0.3 gave 1-2 points less recall on Wesnoth, 0.5 and
   * 0.8 less in-house (EVAL.md, part 4).
   */
  readonly contrastWeight: number;
}

export const DEFAULT_REGION_PROPOSER_CONFIG: RegionProposerConfig = {
  iouThreshold: 0.5,
  detectorMinScore: 0.1,
  concurrent: true,
  textLines: DEFAULT_TEXT_LINE_OPTIONS,
  contrast: DEFAULT_CONTRAST_OPTIONS,
  contrastWeight: 0.4,
};

export interface ProposeOptions {
  /** At most this many regions are returned, best first. Default 5. */
  readonly maxRegions?: number;
  /**
   * Proposals scoring below this are dropped before merging. Default: none beyond the floors
   * the models are run with (detector: `detectorMinScore`, 0.1; faces 0.7 and OCR 0.5 in the
   * default bundle). It is one floor over scores that are not calibrated across sources.
   */
  readonly minScore?: number;
}

/**
 * Wall-clock milliseconds of each stage of one `propose` call, to 0.1 ms. A model stage is its
 * own wall time, from its start to its result (0 when the bundle lacks the model); with
 * `concurrent` the model stages overlap and share the cores, so they add up to more than `total`.
 */
export interface RegionTimings {
  readonly detector: number;
  readonly faces: number;
  readonly ocr: number;
  /** The contrast proposals (pure TypeScript on the decoded pixels; 0 when turned off). */
  readonly contrast: number;
  /** Text-line joining, clipping, NMS, ranking and the cap. */
  readonly merge: number;
  readonly total: number;
}

export interface RegionProposals {
  /** Best first; at least one (WHOLE_IMAGE when nothing was found), at most `maxRegions`. */
  readonly regions: RegionProposal[];
  readonly timings: RegionTimings;
}

export const DEFAULT_MAX_REGIONS = 5;

interface Timed<T> {
  readonly value: T;
  readonly ms: number;
}

async function timed<T>(run: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Proposes the regions of a query image with the bundle's vision models. Build it from
 * `await registry.vision()` (or with fakes in tests).
 */
export class RegionProposer {
  readonly config: RegionProposerConfig;

  constructor(
    private readonly models: RegionModels,
    config: Partial<RegionProposerConfig> = {},
  ) {
    this.config = { ...DEFAULT_REGION_PROPOSER_CONFIG, ...config };
  }

  /**
   * Runs the detector, the face detector and the OCR on one decoded image (decoded once by the
   * caller, shared by the three) and, while their inputs are prepared, the contrast proposals
   * (`config.contrast`), turns their boxes into integer boxes clipped to the image, drops those under `minScore`, merges near-duplicates (mergeNearDuplicates), ranks by score
   * and keeps the best `maxRegions`. When nothing is left, the one region is the whole image
   * (source WHOLE_IMAGE, score 0), so a caller always has something to link.
   */
  async propose(image: DecodedImage, options: ProposeOptions = {}): Promise<RegionProposals> {
    const maxRegions = options.maxRegions ?? DEFAULT_MAX_REGIONS;
    if (!Number.isInteger(maxRegions) || maxRegions < 1) {
      throw new BadInputError('maxRegions must be a positive integer', { field: 'maxRegions' });
    }
    const { minScore } = options;
    if (minScore !== undefined && !Number.isFinite(minScore)) {
      throw new BadInputError('minScore must be a finite number', { field: 'minScore' });
    }
    const started = performance.now();
    const { detector, faces, ocr } = this.models;
    const { detectorMinScore } = this.config;
    const detectOptions = detectorMinScore === null ? {} : { minScore: detectorMinScore };
    const stages = [
      () => timed(async () => (detector ? detector.detect(image, detectOptions) : [])),
      () => timed(async () => (faces ? faces.detect(image) : [])),
      () => timed(async () => (ocr ? ocr.read(image) : [])),
    ] as const;
    let results: [
      Timed<Awaited<ReturnType<RegionObjectDetector['detect']>>>,
      Timed<Awaited<ReturnType<RegionFaceDetector['detect']>>>,
      Timed<Awaited<ReturnType<RegionTextReader['read']>>>,
    ];
    const pending = this.config.concurrent
      ? Promise.all([stages[0](), stages[1](), stages[2]()])
      : null;
    // Never an unhandled rejection should the contrast stage throw first; awaited below.
    pending?.catch(() => undefined);
    // With the models started, their inputs are being resized on libuv's threads: the contrast
    // stage (pure TypeScript on this thread) runs meanwhile instead of after them.
    const contrastStarted = performance.now();
    const contrast = this.config.contrast ? contrastRegions(image, this.config.contrast) : [];
    const contrastMs = this.config.contrast ? performance.now() - contrastStarted : 0;
    if (pending) {
      results = await pending;
    } else {
      results = [await stages[0](), await stages[1](), await stages[2]()];
    }
    const [objects, faceBoxes, text] = results;

    const mergeStarted = performance.now();

    const regions = this.rank(
      image,
      [
        ...objects.value.map((o) => ({
          box: o.box,
          source: 'DETECTOR' as const,
          label: o.label,
          score: o.score,
        })),
        ...faceBoxes.value.map((f) => ({
          box: f.box,
          source: 'FACE' as const,
          label: 'face',
          score: f.score,
        })),
        ...mergeTextLines(text.value, this.config.textLines).map((line) => ({
          box: line.box,
          source: 'TEXT' as const,
          label: line.text,
          score: line.confidence,
        })),
        ...contrast.map((region) => ({
          box: region.box,
          source: 'CONTRAST' as const,
          label: null,
          score: region.score * this.config.contrastWeight,
        })),
      ],
      { maxRegions, ...(minScore !== undefined ? { minScore } : {}) },
    );
    const finished = performance.now();
    return {
      regions,
      timings: {
        detector: detector ? round(objects.ms) : 0,
        faces: faces ? round(faceBoxes.ms) : 0,
        ocr: ocr ? round(text.ms) : 0,
        contrast: round(contrastMs),
        merge: round(finished - mergeStarted),
        total: round(finished - started),
      },
    };
  }

  /**
   * The pure half of `propose`: model boxes (original pixels) to the final ranked, capped
   * proposals, with the WHOLE_IMAGE fallback.
   */
  rank(
    image: { readonly width: number; readonly height: number },
    raw: readonly {
      readonly box: PixelBox;
      readonly source: RegionSource;
      readonly label: string | null;
      readonly score: number;
    }[],
    options: { readonly maxRegions: number; readonly minScore?: number },
  ): RegionProposal[] {
    const candidates: RegionProposal[] = [];
    for (const proposal of raw) {
      if (!Number.isFinite(proposal.score)) continue;
      if (options.minScore !== undefined && !(proposal.score >= options.minScore)) continue;
      const box = clipBox(proposal.box, image);
      if (box) candidates.push({ ...proposal, box });
    }
    const merged = mergeNearDuplicates(candidates, { iouThreshold: this.config.iouThreshold });
    return merged.length > 0 ? merged.slice(0, options.maxRegions) : [wholeImageProposal(image)];
  }
}
