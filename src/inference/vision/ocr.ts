import { readFile } from 'node:fs/promises';
import { toModelInput, type DecodedImage, type PixelSpec } from './image-preprocess.js';
import {
  DEFAULT_DB_OPTIONS,
  ctcCharset,
  ctcGreedyDecode,
  dbPostProcess,
  detectionInputSize,
  planRecognitionBatches,
  quadBounds,
  quadToOriginal,
  recognitionWidth,
  sampleQuad,
  sortReadingOrder,
  uprightQuad,
  type AxisBox,
  type DbOptions,
  type DecodedText,
  type Quad,
} from './ocr-postprocess.js';
import { InferenceError, type ModelLoader, type ModelSession } from '../runtime/onnx-runtime.js';

/**
 * Text reading with PaddleOCR's PP-OCRv4 models (Chinese + English): a DB text detector and an
 * SVTR-LCNet CTC recogniser, exported to ONNX. Text in an image is strong entity evidence (a
 * name on a sign, a logo's word), so this reads it with boxes in the image's own pixels.
 */

export interface OcrOptions {
  /** The detector's input is scaled down so its longer side is at most this (det_limit_side_len). */
  readonly detLimitSideLen: number;
  /**
   * Small images are scaled up until their shorter side reaches this, as far as `detLimitSideLen`
   * allows (RapidOCR's limit_type "min" idea): DB misses text a few pixels tall. 0 keeps
   * PaddleOCR's behaviour of never enlarging.
   */
  readonly detMinSideLen: number;
  readonly db: DbOptions;
  /** The recogniser's input height; PP-OCRv4 is trained at 48. */
  readonly recHeight: number;
  /** Batches are padded to at least this width (PaddleOCR's 320 = 48 x 20/3). */
  readonly recMinWidth: number;
  /** Longest a single line is resized to before it is squeezed. */
  readonly recMaxWidth: number;
  /** Padded widths are rounded up to this (the recogniser downsamples width by 8). */
  readonly recWidthMultiple: number;
  /**
   * What a further recogniser run costs, in padded columns (lines x width): lines go into one run
   * unless splitting saves more padding than this (see planRecognitionBatches).
   */
  readonly recRunCostColumns: number;
  /** Lines x padded width above which recognition splits into several runs. */
  readonly recMaxBatchColumns: number;
  /** Lines read with a lower mean character probability are dropped (drop_score). */
  readonly dropScore: number;
}

export const DEFAULT_OCR_OPTIONS: OcrOptions = {
  detLimitSideLen: 960,
  detMinSideLen: 736,
  db: DEFAULT_DB_OPTIONS,
  recHeight: 48,
  recMinWidth: 320,
  recMaxWidth: 3200,
  recWidthMultiple: 8,
  recRunCostColumns: 320,
  recMaxBatchColumns: 16_384,
  dropScore: 0.5,
};

export type OcrPoint = [number, number];

export interface OcrLine {
  readonly text: string;
  /** Mean probability of the characters read, 0–1. */
  readonly confidence: number;
  /** Axis-aligned, in original-image pixels. */
  readonly box: AxisBox;
  /** The detected (possibly rotated) quad, clockwise from the top-left, in original pixels. */
  readonly polygon?: OcrPoint[];
}

export interface DetectedLine {
  readonly quad: Quad;
  /** The detector's mean probability inside the box. */
  readonly score: number;
}

/** ImageNet statistics, on 0–255 values. */
const IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255] as const;
const IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255] as const;

function firstName(names: readonly string[], model: string, what: string): string {
  const name = names[0];
  if (name === undefined) throw new InferenceError(`Model "${model}" declares no ${what}`);
  return name;
}

export class OcrReader {
  readonly options: OcrOptions;
  private readonly charset: readonly string[];

  /**
   * @param detector PP-OCR DB detector: `x` [N,3,H,W] -> probability map [N,1,H,W].
   * @param recognizer PP-OCR CTC recogniser: `x` [N,3,48,W] -> class probabilities [N,T,C].
   * @param dictionary The recogniser's character dictionary (ppocr_keys_v1.txt), one per line.
   */
  constructor(
    private readonly detector: ModelSession,
    private readonly recognizer: ModelSession,
    private readonly dictionary: string,
    options: Partial<OcrOptions> = {},
  ) {
    this.options = { ...DEFAULT_OCR_OPTIONS, ...options };
    this.charset = ctcCharset(dictionary);
  }

  /** A reader over the same sessions with other options; release the sessions through this one. */
  withOptions(options: Partial<OcrOptions>): OcrReader {
    return new OcrReader(this.detector, this.recognizer, this.dictionary, {
      ...this.options,
      ...options,
    });
  }

  static async load(
    runtime: ModelLoader,
    files: { readonly detector: string; readonly recognizer: string; readonly dictionary: string },
    options: Partial<OcrOptions> = {},
  ): Promise<OcrReader> {
    const dictionary = await readFile(files.dictionary, 'utf8');
    const detector = await runtime.load('ocrDetector', files.detector);
    const recognizer = await runtime.load('ocrRecognizer', files.recognizer);
    return new OcrReader(detector, recognizer, dictionary, options);
  }

  /** Every line of text found, in reading order, with what it says and where it is. */
  async read(image: DecodedImage): Promise<OcrLine[]> {
    const detected = sortReadingOrder(await this.detect(image));
    if (detected.length === 0) return [];
    const texts = await this.recognize(
      image,
      detected.map((line) => line.quad),
    );
    const lines: OcrLine[] = [];
    detected.forEach((line, i) => {
      const { text, confidence } = texts[i]!;
      if (text.trim() === '' || confidence < this.options.dropScore) return;
      lines.push({
        text,
        confidence,
        box: quadBounds(line.quad),
        polygon: line.quad.map(([x, y]): OcrPoint => [x, y]),
      });
    });
    return lines;
  }

  /** Text-line quads in original-image pixels (DB detection and post-processing). */
  async detect(image: DecodedImage): Promise<DetectedLine[]> {
    const size = detectionInputSize(image.width, image.height, {
      max: this.options.detLimitSideLen,
      min: this.options.detMinSideLen,
    });
    // PaddleOCR feeds OpenCV's BGR with the ImageNet mean/std applied in that channel order
    // (0.485 to blue): normalise RGB with the statistics reversed, then swap the R and B planes.
    const spec: PixelSpec = {
      width: size.width,
      height: size.height,
      resize: 'stretch',
      layout: 'nchw',
      mean: [IMAGENET_MEAN[2], IMAGENET_MEAN[1], IMAGENET_MEAN[0]],
      std: [IMAGENET_STD[2], IMAGENET_STD[1], IMAGENET_STD[0]],
    };
    const prepared = await toModelInput(image, spec);
    const plane = size.width * size.height;
    const pixels = prepared.data;
    const red = pixels.slice(0, plane);
    pixels.copyWithin(0, 2 * plane, 3 * plane);
    pixels.set(red, 2 * plane);

    const inputName = firstName(this.detector.inputNames, this.detector.name, 'input');
    const outputName = firstName(this.detector.outputNames, this.detector.name, 'output');
    const outputs = await this.detector.run({
      [inputName]: { type: 'float32', data: pixels, dims: [1, 3, size.height, size.width] },
    });
    const output = outputs[outputName];
    const dims = output?.dims ?? [];
    if (!output || !(output.data instanceof Float32Array) || dims.length !== 4) {
      throw new InferenceError(
        `Model "${this.detector.name}" must output a float32 [N,1,H,W] probability map`,
      );
    }
    const mapHeight = dims[2]!;
    const mapWidth = dims[3]!;
    const map = {
      data: output.data.subarray(0, mapWidth * mapHeight),
      width: mapWidth,
      height: mapHeight,
    };
    return dbPostProcess(map, this.options.db)
      .map((found) => ({
        quad: quadToOriginal(found.quad, map, image),
        score: found.score,
      }))
      .filter((line) => {
        // PaddleOCR's filter_tag_det_res: drop boxes 3 pixels or less on a side.
        const [tl, tr, , bl] = line.quad;
        const width = Math.trunc(Math.hypot(tr[0] - tl[0], tr[1] - tl[1]));
        const height = Math.trunc(Math.hypot(bl[0] - tl[0], bl[1] - tl[1]));
        return width > 3 && height > 3;
      });
  }

  /**
   * Reads each quad of the image: each is cropped upright at the recogniser's height keeping its
   * aspect ratio, lines are batched (padded to the widest of a batch) and CTC-decoded.
   */
  async recognize(image: DecodedImage, quads: readonly Quad[]): Promise<DecodedText[]> {
    const { recHeight: height } = this.options;
    const upright = quads.map((quad) => uprightQuad(quad));
    const widths = upright.map((quad) =>
      recognitionWidth(quad, { height, maxWidth: this.options.recMaxWidth }),
    );
    const plans = planRecognitionBatches(widths, {
      minWidth: this.options.recMinWidth,
      multiple: this.options.recWidthMultiple,
      runCostColumns: this.options.recRunCostColumns,
      maxBatchColumns: this.options.recMaxBatchColumns,
    });
    const results: DecodedText[] = new Array<DecodedText>(quads.length);
    const inputName = firstName(this.recognizer.inputNames, this.recognizer.name, 'input');
    const outputName = firstName(this.recognizer.outputNames, this.recognizer.name, 'output');
    for (const plan of plans) {
      const batchWidth = plan.width;
      const plane = height * batchWidth;
      // Padding stays 0: mid-grey once normalised to [-1, 1], as PaddleOCR pads.
      const input = new Float32Array(plan.indices.length * 3 * plane);
      plan.indices.forEach((index, slot) => {
        const lineWidth = widths[index]!;
        const rgb = sampleQuad(image, upright[index]!, { width: lineWidth, height });
        const base = slot * 3 * plane;
        for (let y = 0; y < height; y += 1) {
          for (let x = 0; x < lineWidth; x += 1) {
            const source = (y * lineWidth + x) * 3;
            const target = base + y * batchWidth + x;
            // BGR planes, v / 255 scaled to [-1, 1].
            input[target] = rgb[source + 2]! / 127.5 - 1;
            input[target + plane] = rgb[source + 1]! / 127.5 - 1;
            input[target + 2 * plane] = rgb[source]! / 127.5 - 1;
          }
        }
      });
      const outputs = await this.recognizer.run({
        [inputName]: {
          type: 'float32',
          data: input,
          dims: [plan.indices.length, 3, height, batchWidth],
        },
      });
      const output = outputs[outputName];
      const dims = output?.dims ?? [];
      if (!output || !(output.data instanceof Float32Array) || dims.length !== 3) {
        throw new InferenceError(
          `Model "${this.recognizer.name}" must output float32 [N,T,classes] probabilities`,
        );
      }
      const steps = dims[1]!;
      const classes = dims[2]!;
      if (classes !== this.charset.length) {
        throw new InferenceError(
          `Model "${this.recognizer.name}" has ${classes} classes but the dictionary gives ` +
            `${this.charset.length} (blank + ${this.charset.length - 2} characters + space)`,
        );
      }
      const probabilities = output.data;
      plan.indices.forEach((index, slot) => {
        results[index] = ctcGreedyDecode(
          probabilities,
          { steps, classes, offset: slot * steps * classes },
          this.charset,
        );
      });
    }
    return results;
  }

  async release(): Promise<void> {
    await Promise.all([this.detector.release(), this.recognizer.release()]);
  }
}
