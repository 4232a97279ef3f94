import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors.js';
import {
  candidateText,
  checkLinkRequest,
  givenMentions,
  givenRegions,
  taskOf,
  type LinkRequest,
} from '../../src/linking/link-input.js';

const caption = 'A fearful face and a brown circle.';
const request: LinkRequest = {
  caption,
  mentions: [
    { start: 2, end: 14 },
    { start: 21, end: 33 },
  ],
  regions: [
    { x: 0, y: 0, width: 10, height: 10 },
    { x: 5, y: 5, width: 10, height: 10 },
  ],
  pairs: [{ mention: 0, region: 1 }],
  candidates: 100,
  nilThreshold: null,
  domain: null,
};
const limits = { maxCandidates: 100 };

function fieldOf(change: Partial<LinkRequest>): unknown {
  try {
    checkLinkRequest({ ...request, ...change }, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    return (error as BadInputError).extensions.field;
  }
  return null;
}

describe('checkLinkRequest', () => {
  it('accepts a well-formed request', () => {
    expect(fieldOf({})).toBeNull();
    expect(fieldOf({ mentions: null, regions: null, pairs: null })).toBeNull();
  });

  it('refuses spans outside the caption, empty, inverted or blank', () => {
    expect(fieldOf({ mentions: [{ start: 30, end: 40 }] })).toBe('mentions');
    expect(fieldOf({ mentions: [{ start: -1, end: 3 }] })).toBe('mentions');
    expect(fieldOf({ mentions: [{ start: 5, end: 5 }] })).toBe('mentions');
    expect(fieldOf({ mentions: [{ start: 1, end: 2 }] })).toBe('mentions'); // " "
    expect(fieldOf({ mentions: [{ start: 1.5, end: 4 }] })).toBe('mentions');
  });

  it('refuses pair indices out of range, repeated sides, and pairs without both lists', () => {
    expect(fieldOf({ pairs: [{ mention: 2, region: 0 }] })).toBe('pairs');
    expect(fieldOf({ pairs: [{ mention: 0, region: -1 }] })).toBe('pairs');
    expect(
      fieldOf({
        pairs: [
          { mention: 0, region: 0 },
          { mention: 0, region: 1 },
        ],
      }),
    ).toBe('pairs');
    expect(fieldOf({ mentions: null })).toBe('pairs');
    expect(fieldOf({ regions: null })).toBe('pairs');
  });

  it('refuses an empty caption when no region is to be linked', () => {
    expect(fieldOf({ caption: '  ', mentions: [], regions: [], pairs: [] })).toBe('caption');
    // With regions absent they are proposed: image-only linking.
    expect(fieldOf({ caption: '', mentions: null, regions: null, pairs: null })).toBeNull();
  });

  it('refuses bad boxes, candidate counts and thresholds', () => {
    expect(fieldOf({ regions: [{ x: 0, y: 0, width: 0, height: 5 }], pairs: null })).toBe(
      'regions',
    );
    expect(fieldOf({ regions: [{ x: NaN, y: 0, width: 1, height: 5 }], pairs: null })).toBe(
      'regions',
    );
    expect(fieldOf({ candidates: 0 })).toBe('candidates');
    expect(fieldOf({ candidates: 101 })).toBe('candidates');
    expect(fieldOf({ nilThreshold: Infinity })).toBe('nilThreshold');
  });

  it('names the task by whether pairs were given', () => {
    expect(taskOf({ pairs: null })).toBe('VT-KG');
    expect(taskOf({ pairs: [] })).toBe('V&T-KG');
  });
});

describe('given mentions and regions', () => {
  it('takes the caption’s text for each span', () => {
    expect(givenMentions(caption, request.mentions!)).toEqual([
      { start: 2, end: 14, text: 'fearful face', source: 'GIVEN' },
      { start: 21, end: 33, text: 'brown circle', source: 'GIVEN' },
    ]);
  });

  it('rounds boxes to whole pixels and clips them to the image; refuses one outside it', () => {
    const image = { width: 100, height: 50 };
    expect(givenRegions([{ x: -5.4, y: 10.6, width: 200, height: 20 }], image)).toEqual([
      { box: { x: 0, y: 11, width: 100, height: 20 }, source: 'GIVEN', label: null, score: null },
    ]);
    expect(() => givenRegions([{ x: 120, y: 0, width: 10, height: 10 }], image)).toThrow(
      /outside the 100x50 image/,
    );
  });

  it('clips a long mention for candidate generation as the training lists were made', () => {
    expect(candidateText('  fearful face ')).toBe('fearful face');
    const long = `${'word '.repeat(120)}end`;
    const clipped = candidateText(long);
    expect(clipped.length).toBeLessThanOrEqual(500);
    expect(clipped.endsWith('word')).toBe(true);
  });
});
