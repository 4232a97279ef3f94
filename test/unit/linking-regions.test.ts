import { clipBox, iou, type PixelBox } from '../../src/geometry/box.js';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.js';
import type { DecodedImage } from '../../src/inference/vision/image-preprocess.js';
import {
  DEFAULT_MAX_REGIONS,
  RegionProposer,
  isFaceInPerson,
  mergeNearDuplicates,
  mergeTextLines,
  type RegionModels,
  type RegionProposal,
  type RegionSource,
  type TextFragment,
} from '../../src/linking/regions.js';

const box = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });
const proposal = (
  source: RegionSource,
  b: PixelBox,
  score: number,
  label: string | null = null,
): RegionProposal => ({ box: b, source, label, score });

/** A 640x320 image; the fakes never look at its pixels. */
const IMAGE: DecodedImage = { rgb: new Uint8Array(640 * 320 * 3), width: 640, height: 320 };

describe('iou', () => {
  it('is 1 for the same box, the overlap share otherwise, and 0 apart or empty', () => {
    const a = box(0, 0, 10, 10);
    expect(iou(a, a)).toBe(1);
    expect(iou(a, box(5, 0, 10, 10))).toBeCloseTo(50 / 150);
    expect(iou(a, box(0, 0, 10, 5))).toBeCloseTo(0.5);
    expect(iou(a, box(2, 2, 5, 5))).toBeCloseTo(25 / 100);
    // Touching edges and disjoint boxes share nothing.
    expect(iou(a, box(10, 0, 10, 10))).toBe(0);
    expect(iou(a, box(30, 30, 5, 5))).toBe(0);
    expect(iou(box(0, 0, 0, 0), box(0, 0, 0, 0))).toBe(0);
    // Symmetric.
    expect(iou(box(5, 0, 10, 10), a)).toBe(iou(a, box(5, 0, 10, 10)));
  });
});

describe('clipBox', () => {
  const image = { width: 640, height: 320 };

  it('rounds each edge to a whole pixel and clips to the image', () => {
    expect(clipBox(box(10.4, 20.6, 100.2, 50.5), image)).toEqual(box(10, 21, 101, 50));
    expect(clipBox(box(-12.3, -4, 100, 30), image)).toEqual(box(0, 0, 88, 26));
    expect(clipBox(box(600, 300, 80, 80), image)).toEqual(box(600, 300, 40, 20));
    expect(clipBox(box(-50, -50, 1000, 1000), image)).toEqual(box(0, 0, 640, 320));
  });

  it('drops boxes with nothing left inside the image', () => {
    expect(clipBox(box(700, 10, 50, 50), image)).toBeNull();
    expect(clipBox(box(-60, 10, 50, 50), image)).toBeNull();
    expect(clipBox(box(10.1, 10, 0.3, 50), image)).toBeNull();
    expect(clipBox(box(10, 10, Number.NaN, 50), image)).toBeNull();
  });
});

describe('mergeNearDuplicates', () => {
  const person = proposal('DETECTOR', box(100, 50, 200, 260), 0.7, 'person');
  // A tight head-and-shoulders box: the face fills much of the person box (IoU 0.6).
  const tightPerson = proposal('DETECTOR', box(100, 50, 200, 200), 0.7, 'person');
  const face = proposal('FACE', box(120, 60, 160, 150), 0.9, 'face');

  it('suppresses overlaps above the threshold across sources, best score first', () => {
    const dog = proposal('DETECTOR', box(100, 100, 200, 200), 0.45, 'dog');
    const cat = proposal('DETECTOR', box(110, 105, 195, 200), 0.3, 'cat');
    const text = proposal('TEXT', box(105, 100, 200, 195), 0.95, 'CAFE');
    const apart = proposal('DETECTOR', box(400, 10, 100, 100), 0.2, 'car');
    const kept = mergeNearDuplicates([dog, cat, text, apart], { iouThreshold: 0.5 });
    expect(kept).toEqual([text, apart]);
    // At a threshold above their overlap, all are kept, best first.
    expect(mergeNearDuplicates([dog, cat, text, apart], { iouThreshold: 0.99 })).toEqual([
      text,
      dog,
      cat,
      apart,
    ]);
  });

  it('keeps a face inside a larger person box, and the person box, whichever scores higher', () => {
    expect(iou(face.box, tightPerson.box)).toBeGreaterThan(0.5);
    expect(isFaceInPerson(face, tightPerson)).toBe(true);
    expect(isFaceInPerson(tightPerson, face)).toBe(true);
    expect(mergeNearDuplicates([tightPerson, face], { iouThreshold: 0.5 })).toEqual([
      face,
      tightPerson,
    ]);
    const strongPerson = { ...tightPerson, score: 0.95 };
    expect(mergeNearDuplicates([face, strongPerson], { iouThreshold: 0.5 })).toEqual([
      strongPerson,
      face,
    ]);
    // A loose person box does not overlap its face enough to matter anyway.
    expect(mergeNearDuplicates([person, face], { iouThreshold: 0.5 })).toHaveLength(2);
  });

  it('does not exempt a face from other classes, other sources, or a box it sticks out of', () => {
    const dogHead = { ...tightPerson, label: 'dog' };
    expect(mergeNearDuplicates([dogHead, face], { iouThreshold: 0.5 })).toEqual([face]);
    const personText = { ...tightPerson, source: 'TEXT' as const };
    expect(mergeNearDuplicates([personText, face], { iouThreshold: 0.5 })).toEqual([face]);
    // Half the face lies above the person box.
    const lowPerson = proposal('DETECTOR', box(110, 135, 180, 165), 0.7, 'person');
    const faceAbove = proposal('FACE', box(120, 60, 160, 150), 0.9, 'face');
    expect(isFaceInPerson(faceAbove, lowPerson)).toBe(false);
    const strictly = mergeNearDuplicates([lowPerson, faceAbove], { iouThreshold: 0.2 });
    expect(strictly).toEqual([faceAbove]);
    // A person box no larger than the face is not "the person the face belongs to".
    const small = proposal('DETECTOR', box(125, 65, 150, 140), 0.5, 'person');
    expect(isFaceInPerson(face, small)).toBe(false);
    // Two faces on the same spot are one face.
    expect(
      mergeNearDuplicates([face, { ...face, score: 0.8, box: box(122, 62, 160, 150) }], {
        iouThreshold: 0.5,
      }),
    ).toEqual([face]);
  });

  it('keeps every GIVEN box, and lets them suppress model proposals that duplicate them', () => {
    const given = proposal('GIVEN', box(100, 100, 100, 100), 0);
    const givenToo = proposal('GIVEN', box(105, 100, 100, 100), 0);
    const detected = proposal('DETECTOR', box(102, 101, 100, 100), 0.9, 'dog');
    const elsewhere = proposal('FACE', box(400, 100, 50, 50), 0.95, 'face');
    expect(
      mergeNearDuplicates([detected, elsewhere, givenToo, given], { iouThreshold: 0.5 }),
    ).toEqual([given, givenToo, elsewhere]);
  });

  it('gives the same result whatever the input order, ties broken by source then position', () => {
    const items = [
      proposal('TEXT', box(10, 10, 50, 20), 0.5, 'B'),
      proposal('DETECTOR', box(12, 10, 50, 20), 0.5, 'dog'),
      proposal('FACE', box(300, 10, 50, 50), 0.5, 'face'),
      proposal('DETECTOR', box(200, 10, 50, 50), 0.5, 'cat'),
      proposal('DETECTOR', box(200, 5, 50, 50), 0.5, 'bird'),
      proposal('TEXT', box(500, 200, 60, 20), 0.8, 'A'),
    ];
    const expected = mergeNearDuplicates(items, { iouThreshold: 0.5 });
    expect(expected.map((p) => p.label)).toEqual(['A', 'bird', 'dog', 'face']);
    for (let shift = 1; shift < items.length; shift += 1) {
      const rotated = [...items.slice(shift), ...items.slice(0, shift)];
      expect(mergeNearDuplicates(rotated, { iouThreshold: 0.5 })).toEqual(expected);
      expect(mergeNearDuplicates([...rotated].reverse(), { iouThreshold: 0.5 })).toEqual(expected);
    }
  });
});

describe('mergeTextLines', () => {
  const fragment = (text: string, b: PixelBox, confidence = 0.9): TextFragment => ({
    text,
    confidence,
    box: b,
  });

  it('joins fragments of one line split at a word gap, and nothing else', () => {
    const lines = mergeTextLines([
      fragment('Museum', box(230, 52, 130, 40), 0.8),
      fragment('Polylink', box(40, 50, 160, 44), 1),
      // Next line, same size: below, not joined.
      fragment('Open daily', box(40, 120, 200, 36)),
      // Far to the right of "Museum" (more than a line height away): another block.
      fragment('Exit', box(600, 50, 80, 42)),
      // Same row but much smaller print: a caption, not the same line.
      fragment('est. 1999', box(370, 70, 60, 14)),
    ]);
    expect(lines.map((line) => line.text)).toEqual([
      'Polylink Museum',
      'Exit',
      'est. 1999',
      'Open daily',
    ]);
    const [joined] = lines;
    expect(joined!.box).toEqual(box(40, 50, 320, 44));
    // Averaged over characters: (8 x 1 + 6 x 0.8) / 14.
    expect(joined!.confidence).toBeCloseTo((8 + 6 * 0.8) / 14);
  });

  it('joins a chain of fragments left to right whatever their input order', () => {
    const parts = [
      fragment('c', box(200, 10, 80, 30)),
      fragment('a', box(0, 10, 80, 30)),
      fragment('b', box(100, 12, 80, 30)),
    ];
    const lines = mergeTextLines(parts);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.text).toBe('a b c');
    expect(mergeTextLines([...parts].reverse())).toEqual(lines);
  });

  it('leaves a single line as it is', () => {
    const single = fragment('FREECIV', box(260, 235, 57, 29), 0.97);
    expect(mergeTextLines([single])).toEqual([single]);
    expect(mergeTextLines([])).toEqual([]);
  });
});

type Detection = { box: PixelBox; label: string; score: number };

function fakes(
  found: {
    objects?: Detection[];
    faces?: { box: PixelBox; score: number }[];
    text?: TextFragment[];
  },
  calls: string[] = [],
): RegionModels & { detectOptions: unknown[] } {
  const detectOptions: unknown[] = [];
  return {
    detectOptions,
    detector: {
      async detect(_image, options) {
        calls.push('detector');
        detectOptions.push(options);
        return found.objects ?? [];
      },
    },
    faces: {
      async detect() {
        calls.push('faces');
        return found.faces ?? [];
      },
    },
    ocr: {
      async read() {
        calls.push('ocr');
        return found.text ?? [];
      },
    },
  };
}

describe('RegionProposer (with fake models)', () => {
  const objects: Detection[] = [
    { box: box(10, 10, 100, 100), label: 'dog', score: 0.6 },
    { box: box(12, 12, 100, 100), label: 'cat', score: 0.3 },
    { box: box(300, 20, 50, 80), label: 'bottle', score: 0.15 },
    { box: box(400, 150, 60, 60), label: 'kite', score: 0.12 },
    { box: box(500, 200, 30, 30), label: 'bird', score: 0.11 },
    { box: box(200, 200, 40, 40), label: 'clock', score: 0.105 },
  ];

  it('merges the three sources, ranks by score and caps at maxRegions (default 5)', async () => {
    const models = fakes({
      objects,
      faces: [{ box: box(150, 20, 60, 60), score: 0.9 }],
      text: [{ text: 'OPEN', confidence: 0.8, box: box(40, 250, 120, 30) }],
    });
    const { regions } = await new RegionProposer(models).propose(IMAGE);
    expect(DEFAULT_MAX_REGIONS).toBe(5);
    expect(regions.map((r) => [r.source, r.label])).toEqual([
      ['FACE', 'face'],
      ['TEXT', 'OPEN'],
      ['DETECTOR', 'dog'],
      ['DETECTOR', 'bottle'],
      ['DETECTOR', 'kite'],
    ]);
    const all = await new RegionProposer(models).propose(IMAGE, { maxRegions: 100 });
    // The cat duplicates the dog; everything else is kept.
    expect(all.regions.map((r) => r.label)).toEqual([
      'face',
      'OPEN',
      'dog',
      'bottle',
      'kite',
      'bird',
      'clock',
    ]);
    const one = await new RegionProposer(models).propose(IMAGE, { maxRegions: 1 });
    expect(one.regions).toEqual([all.regions[0]]);
  });

  it('asks the detector for its configured floor and drops proposals under minScore', async () => {
    const models = fakes({ objects, faces: [{ box: box(150, 20, 60, 60), score: 0.9 }] });
    const proposer = new RegionProposer(models);
    const { regions } = await proposer.propose(IMAGE, { minScore: 0.5 });
    expect(regions.map((r) => r.label)).toEqual(['face', 'dog']);
    expect(models.detectOptions).toEqual([{ minScore: 0.1 }]);
    await new RegionProposer(models, { detectorMinScore: null }).propose(IMAGE);
    expect(models.detectOptions[1]).toEqual({});
  });

  it('keeps a face and the person around it', async () => {
    const { regions } = await new RegionProposer(
      fakes({
        objects: [{ box: box(100, 50, 200, 200), label: 'person', score: 0.7 }],
        faces: [{ box: box(120, 60, 160, 150), score: 0.9 }],
      }),
    ).propose(IMAGE);
    expect(regions.map((r) => r.source)).toEqual(['FACE', 'DETECTOR']);
  });

  it('joins OCR fragments of one line into one TEXT region', async () => {
    const { regions } = await new RegionProposer(
      fakes({
        text: [
          { text: 'Museum', confidence: 0.9, box: box(230, 52, 130, 40) },
          { text: 'Polylink', confidence: 0.9, box: box(40, 50, 160, 44) },
        ],
      }),
    ).propose(IMAGE);
    expect(regions).toEqual([
      {
        source: 'TEXT',
        label: 'Polylink Museum',
        score: expect.closeTo(0.9, 9) as number,
        box: box(40, 50, 320, 44),
      },
    ]);
  });

  it('returns integer boxes clipped to the image', async () => {
    const { regions } = await new RegionProposer(
      fakes({
        objects: [
          { box: box(-20.4, 250.7, 100.2, 120), label: 'car', score: 0.5 },
          { box: box(700, 10, 50, 50), label: 'bird', score: 0.9 },
        ],
        faces: [{ box: box(600.2, -5, 60, 30.4), score: 0.8 }],
      }),
    ).propose(IMAGE);
    expect(regions.map((r) => r.box)).toEqual([box(600, 0, 40, 25), box(0, 251, 80, 69)]);
    for (const { box: b } of regions) {
      for (const value of [b.x, b.y, b.width, b.height]) expect(Number.isInteger(value)).toBe(true);
    }
  });

  it('falls back to the whole image when nothing is found', async () => {
    const whole = {
      source: 'WHOLE_IMAGE',
      label: null,
      score: 0,
      box: box(0, 0, 640, 320),
    };
    expect((await new RegionProposer(fakes({})).propose(IMAGE)).regions).toEqual([whole]);
    // A bundle without the vision models, and everything under minScore, fall back too.
    const none = new RegionProposer({ detector: null, faces: null, ocr: null });
    const result = await none.propose(IMAGE);
    expect(result.regions).toEqual([whole]);
    expect([result.timings.detector, result.timings.faces, result.timings.ocr]).toEqual([0, 0, 0]);
    const floored = await new RegionProposer(fakes({ objects })).propose(IMAGE, { minScore: 0.99 });
    expect(floored.regions).toEqual([whole]);
  });

  it('reports each stage in milliseconds', async () => {
    const { timings } = await new RegionProposer(fakes({ objects })).propose(IMAGE);
    expect(Object.keys(timings).sort()).toEqual([
      'contrast',
      'detector',
      'faces',
      'merge',
      'ocr',
      'total',
    ]);
    for (const value of Object.values(timings)) expect(value).toBeGreaterThanOrEqual(0);
    expect(timings.total).toBeGreaterThanOrEqual(timings.merge);
  });

  it('starts the three models together, or one after another when asked', async () => {
    const started: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiting = (name: string) => async () => {
      started.push(name);
      await gate;
      return [];
    };
    const models: RegionModels = {
      detector: { detect: waiting('detector') },
      faces: { detect: waiting('faces') },
      ocr: { read: waiting('ocr') },
    };
    const running = new RegionProposer(models).propose(IMAGE);
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toEqual(['detector', 'faces', 'ocr']);
    release();
    await running;

    const calls: string[] = [];
    await new RegionProposer(fakes({}, calls), { concurrent: false }).propose(IMAGE);
    expect(calls).toEqual(['detector', 'faces', 'ocr']);
  });

  it('adds CONTRAST proposals, weighted, merged with the detector boxes by IoU', async () => {
    // A grey 320x160 image with a flat red 40x40 square at (200, 40) and a flat blue one at
    // (40, 80). (A flat colour over more than about 5% of the image is not rare: see
    // contrast-regions.ts.)
    const width = 320;
    const height = 160;
    const rgb = new Uint8Array(width * height * 3).fill(128);
    const paint = (x0: number, y0: number, colour: readonly number[]) => {
      for (let y = y0; y < y0 + 40; y += 1) {
        for (let x = x0; x < x0 + 40; x += 1) rgb.set(colour, (y * width + x) * 3);
      }
    };
    paint(200, 40, [220, 30, 30]);
    paint(40, 80, [30, 30, 220]);
    const image: DecodedImage = { rgb, width, height };
    const red = box(200, 40, 40, 40);
    const blue = box(40, 80, 40, 40);
    // The detector sees the red square only (a high score), and a patch of grey (a low one).
    const detected: Detection[] = [
      { box: box(201, 41, 38, 38), label: 'stop sign', score: 0.6 },
      { box: box(120, 10, 40, 40), label: 'kite', score: 0.12 },
    ];
    const proposer = new RegionProposer(fakes({ objects: detected }));
    expect(proposer.config.contrastWeight).toBe(0.4);
    const { regions, timings } = await proposer.propose(image, { maxRegions: 10 });
    expect(timings.contrast).toBeGreaterThanOrEqual(0);
    // The red square: one region, the detector's (its score is higher); the contrast box on it
    // was merged away.
    const onRed = regions.filter((r) => iou(r.box, red) > 0.5);
    expect(onRed.map((r) => r.source)).toEqual(['DETECTOR']);
    // The blue square: found by the contrast stage alone, its score weighted (at most 0.4) and
    // above the detector's low-scoring kite.
    const onBlue = regions.filter((r) => iou(r.box, blue) > 0.5);
    expect(onBlue.map((r) => [r.source, r.label])).toEqual([['CONTRAST', null]]);
    expect(onBlue[0]!.score).toBeGreaterThan(0.12);
    expect(onBlue[0]!.score).toBeLessThanOrEqual(0.4);
    expect(regions.map((r) => r.source)).toEqual(['DETECTOR', 'CONTRAST', 'DETECTOR']);

    // Turned off, only the detector's boxes are left.
    const off = await new RegionProposer(fakes({ objects: detected }), { contrast: null }).propose(
      image,
      { maxRegions: 10 },
    );
    expect(off.regions.map((r) => r.source)).toEqual(['DETECTOR', 'DETECTOR']);
    expect(off.timings.contrast).toBe(0);
  });

  it('refuses a maxRegions that is not a positive integer', async () => {
    const proposer = new RegionProposer(fakes({}));
    for (const maxRegions of [0, -1, 2.5, Number.NaN]) {
      await expect(proposer.propose(IMAGE, { maxRegions })).rejects.toBeInstanceOf(BadInputError);
    }
    await expect(proposer.propose(IMAGE, { minScore: Number.NaN })).rejects.toThrow(/minScore/);
  });
});
