import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/candidates/text-normalize.js';
import { captionTokens, findNamesInCaption } from '../../src/linking/gazetteer.js';
import {
  detectMentions,
  findLibraryMentions,
  resolveOverlaps,
  type MentionSource,
  type MentionSpan,
} from '../../src/linking/mentions.js';

type Expected = readonly [start: number, end: number, text: string, source: MentionSource];

interface BenchmarkCase {
  readonly id: string;
  readonly caption: string;
  /** The benchmark's gold mention texts, for the reader: what detection should ideally find. */
  readonly gold: readonly string[];
  readonly expected: readonly Expected[];
}

const asTuples = (spans: readonly MentionSpan[]): Expected[] =>
  spans.map((span) => [span.start, span.end, span.text, span.source]);

function span(
  start: number,
  end: number,
  source: MentionSource,
  extra: Partial<MentionSpan> = {},
): MentionSpan {
  return { start, end, text: 'x'.repeat(end - start), source, score: 0.5, ...extra };
}

/**
 * Captions copied verbatim from var/benchmark/queries.jsonl (split "dev" unless noted), with what
 * compromise-only detection finds. Background places ("forest", "canyon") and the "flag" of
 * "the flag of the X" are real noun phrases the gold does not list; "camping" (tagged as a verb)
 * and "game die" / "bus stop" (the tagger reads the head noun as a verb) are known misses that the
 * gazetteer covers when the graph has those names.
 */
const BENCHMARK_CASES: readonly BenchmarkCase[] = [
  {
    id: 'q-000001',
    caption: 'The z in a forest.',
    gold: ['z'],
    expected: [
      [4, 5, 'z', 'NOUN_PHRASE'],
      [11, 17, 'forest', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-000002',
    caption: 'The warehouse in a canyon.',
    gold: ['warehouse'],
    expected: [
      [4, 13, 'warehouse', 'NOUN_PHRASE'],
      [19, 25, 'canyon', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-000120',
    caption: 'Somebody left the pants near a lava flow.',
    gold: ['pants'],
    expected: [
      [18, 23, 'pants', 'NOUN_PHRASE'],
      [31, 40, 'lava flow', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-000304',
    caption: 'The nine-thirty in a forest.',
    gold: ['nine-thirty'],
    expected: [
      [4, 15, 'nine-thirty', 'NOUN_PHRASE'],
      [21, 27, 'forest', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-001103',
    caption: 'Somebody left the five o’clock in the mountains.',
    gold: ['five o’clock'],
    expected: [
      [18, 30, 'five o’clock', 'NOUN_PHRASE'],
      [38, 47, 'mountains', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-000402',
    caption: 'The globe showing Europe-Africa in the snow.',
    gold: ['globe showing Europe-Africa'],
    expected: [
      [4, 9, 'globe', 'NOUN_PHRASE'], // not gold
      [18, 31, 'Europe-Africa', 'NAMED_ENTITY'], // not gold
      [39, 43, 'snow', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-002303',
    caption:
      'A wrapped gift, a teddy bear, a kite, a boxing glove, a ticket and a hot springs in the hills, but no sparkler.',
    gold: [
      'wrapped gift',
      'teddy bear',
      'kite',
      'boxing glove',
      'ticket',
      'hot springs',
      'sparkler',
    ],
    expected: [
      [2, 14, 'wrapped gift', 'NOUN_PHRASE'],
      [18, 28, 'teddy bear', 'NOUN_PHRASE'],
      [32, 36, 'kite', 'NOUN_PHRASE'],
      [40, 52, 'boxing glove', 'NOUN_PHRASE'],
      [56, 62, 'ticket', 'NOUN_PHRASE'],
      [69, 80, 'hot springs', 'NOUN_PHRASE'],
      [88, 93, 'hills', 'NOUN_PHRASE'], // not gold
      [102, 110, 'sparkler', 'NOUN_PHRASE'],
    ],
  },
  {
    id: 'q-002397',
    caption:
      'A houses, a tent, a six-thirty and a japanese castle in a canyon, but no two o’clock.',
    gold: ['houses', 'tent', 'six-thirty', 'japanese castle', 'two o’clock'],
    expected: [
      [2, 8, 'houses', 'NOUN_PHRASE'],
      [12, 16, 'tent', 'NOUN_PHRASE'],
      [20, 30, 'six-thirty', 'NOUN_PHRASE'],
      [37, 52, 'japanese castle', 'NOUN_PHRASE'],
      [58, 64, 'canyon', 'NOUN_PHRASE'], // not gold
      [73, 84, 'two o’clock', 'NOUN_PHRASE'],
    ],
  },
  {
    id: 'q-002596',
    caption:
      'A piñata, a slot machine, a confetti ball, a lacrosse, a game die and a classical building by the sea.',
    gold: ['piñata', 'slot machine', 'confetti ball', 'lacrosse', 'game die', 'classical building'],
    expected: [
      [2, 8, 'piñata', 'NOUN_PHRASE'],
      [12, 24, 'slot machine', 'NOUN_PHRASE'],
      [28, 41, 'confetti ball', 'NOUN_PHRASE'],
      [45, 53, 'lacrosse', 'NOUN_PHRASE'],
      [57, 61, 'game', 'NOUN_PHRASE'], // not gold
      [72, 90, 'classical building', 'NOUN_PHRASE'],
      [98, 101, 'sea', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-002549',
    caption: 'The flag of the Papal States, the flag of the Macedonians and a camping on a dune.',
    gold: ['Papal States', 'Macedonians', 'camping'],
    expected: [
      [4, 8, 'flag', 'NOUN_PHRASE'], // not gold
      [16, 28, 'Papal States', 'NOUN_PHRASE'],
      [34, 38, 'flag', 'NOUN_PHRASE'], // not gold
      [46, 57, 'Macedonians', 'NOUN_PHRASE'],
      [77, 81, 'dune', 'NOUN_PHRASE'], // not gold
    ],
  },
  {
    id: 'q-002204',
    caption:
      'The flag of the Corsicans, the flag of the Holy Romans, the flag of the Slavs, the flag of the Vikings and the flag of the Welsh in the mountains, but no the flag of the Picts.',
    gold: ['Corsicans', 'Holy Romans', 'Slavs', 'Vikings', 'Welsh', 'Picts'],
    expected: [
      [4, 8, 'flag', 'NOUN_PHRASE'], // not gold
      [16, 25, 'Corsicans', 'NOUN_PHRASE'],
      [31, 35, 'flag', 'NOUN_PHRASE'], // not gold
      [48, 54, 'Romans', 'NOUN_PHRASE'], // not gold
      [60, 64, 'flag', 'NOUN_PHRASE'], // not gold
      [72, 77, 'Slavs', 'NOUN_PHRASE'],
      [83, 87, 'flag', 'NOUN_PHRASE'], // not gold
      [95, 102, 'Vikings', 'NOUN_PHRASE'],
      [111, 115, 'flag', 'NOUN_PHRASE'], // not gold
      [123, 128, 'Welsh', 'NOUN_PHRASE'],
      [136, 145, 'mountains', 'NOUN_PHRASE'], // not gold
      [158, 162, 'flag', 'NOUN_PHRASE'], // not gold
      [170, 175, 'Picts', 'NOUN_PHRASE'],
    ],
  },
  {
    id: 'q-002316',
    caption:
      'A trolleybus, a mount fuji, a stop sign and a bus stop in the mountains, but no milky way.',
    gold: ['trolleybus', 'mount fuji', 'stop sign', 'bus stop', 'milky way'],
    expected: [
      [2, 12, 'trolleybus', 'NOUN_PHRASE'],
      [16, 26, 'mount fuji', 'NOUN_PHRASE'],
      [30, 39, 'stop sign', 'NOUN_PHRASE'],
      [46, 49, 'bus', 'NOUN_PHRASE'], // not gold
      [62, 71, 'mountains', 'NOUN_PHRASE'], // not gold
      [80, 89, 'milky way', 'NOUN_PHRASE'],
    ],
  },
  {
    id: 'q-001073',
    caption:
      'The founding of this kingdom is generally assigned to the reign of Harald Blåtand, who unified what is now Denmark between 958 CE and 988 CE.',
    gold: [
      'The founding of this kingdom is generally assigned to the reign of Harald Blåtand, who unified what is now Denmark between 958 CE and 988 CE.',
    ],
    expected: [
      [21, 28, 'kingdom', 'NOUN_PHRASE'], // not gold
      [58, 63, 'reign', 'NOUN_PHRASE'], // not gold
      [67, 81, 'Harald Blåtand', 'NOUN_PHRASE'], // not gold
      [107, 114, 'Denmark', 'NAMED_ENTITY'], // not gold
      [123, 129, '958 CE', 'NOUN_PHRASE'], // not gold
      [134, 140, '988 CE', 'NOUN_PHRASE'], // not gold
    ],
  },
];

describe('detectMentions on benchmark captions (compromise only)', () => {
  it.each(BENCHMARK_CASES)('$id: $caption', async ({ caption, expected }) => {
    const spans = await detectMentions(caption);
    expect(asTuples(spans)).toEqual(expected);
    for (const s of spans) expect(caption.slice(s.start, s.end)).toBe(s.text);
  });

  it('finds every gold mention above but the known misses', async () => {
    const missed: string[] = [];
    for (const { caption, gold } of BENCHMARK_CASES) {
      const texts = (await detectMentions(caption)).map((s) => s.text);
      missed.push(...gold.filter((text) => !texts.includes(text)));
    }
    expect(missed).toEqual([
      'globe showing Europe-Africa', // a participle clause inside the name
      'game die', // "die" is read as a verb
      'camping', // tagged as a verb
      'Holy Romans', // "Holy" is read as an interjection
      'bus stop', // "stop" is read as a verb
      // The riddle's gold mention is its whole caption.
      expect.stringMatching(/^The founding of this kingdom/) as unknown as string,
    ]);
  });
});

describe('span edges', () => {
  it('strips determiners, quantifiers and possessive pronouns, keeps adjectives', async () => {
    const caption = 'The red fox, my old car and no hospital, but several tall trees.';
    expect((await detectMentions(caption)).map((s) => s.text)).toEqual([
      'red fox',
      'old car',
      'hospital',
      'tall trees',
    ]);
  });

  it('cuts at possessives and drops the possessive marker', async () => {
    const caption = "John's dog and the fox's den, next to the Achilles' heel.";
    const spans = await detectMentions(caption);
    expect(asTuples(spans)).toEqual([
      [0, 4, 'John', 'NAMED_ENTITY'],
      [7, 10, 'dog', 'NOUN_PHRASE'],
      [19, 22, 'fox', 'NOUN_PHRASE'],
      [25, 28, 'den', 'NOUN_PHRASE'],
      [42, 50, 'Achilles', 'NOUN_PHRASE'],
      [52, 56, 'heel', 'NOUN_PHRASE'],
    ]);
  });

  it('cuts noun phrases at prepositions, conjunctions and punctuation', async () => {
    const spans = await detectMentions(
      'A picture of the map of Japan, a cloud (with rain) and a comet.',
    );
    expect(spans.map((s) => s.text)).toEqual(['picture', 'map', 'Japan', 'cloud', 'rain', 'comet']);
  });

  it('keeps hyphenated words and attributive participles whole', async () => {
    const spans = await detectMentions('A yo-yo, a wrapped gift and the waxing gibbous moon.');
    expect(spans.map((s) => s.text)).toEqual(['yo-yo', 'wrapped gift', 'waxing gibbous moon']);
  });

  it('finds no mention in pronouns, fillers and empty text', async () => {
    expect(await detectMentions('Somebody saw it here, and they left.')).toEqual([]);
    expect(await detectMentions('')).toEqual([]);
    expect(await detectMentions('   \n ')).toEqual([]);
    expect(await detectMentions('the the the')).toEqual([]);
  });

  it('takes only capitalised named entities', () => {
    // compromise's lexicon knows "o’clock" as a last name; lower case, it is no named entity.
    const { namedEntities, nounPhrases } = findLibraryMentions('A five o’clock near Paris.');
    expect(namedEntities.map((s) => s.text)).toEqual(['Paris']);
    expect(nounPhrases.map((s) => s.text)).toContain('five o’clock');
  });
});

describe('UTF-16 offsets', () => {
  it('counts an emoji as two code units and never splits one', async () => {
    const caption = 'A 🦊 fox, the café in Zürich and a 👩‍👩‍👧 family near São Paulo.';
    const spans = await detectMentions(caption);
    expect(asTuples(spans)).toEqual([
      [5, 8, 'fox', 'NOUN_PHRASE'],
      [14, 18, 'café', 'NOUN_PHRASE'],
      [22, 28, 'Zürich', 'NAMED_ENTITY'],
      [44, 50, 'family', 'NOUN_PHRASE'],
      [56, 65, 'São Paulo', 'NAMED_ENTITY'],
    ]);
    // The same offsets as String.prototype.indexOf gives, i.e. UTF-16 code units.
    for (const s of spans) expect(s.start).toBe(caption.indexOf(s.text));
  });

  it('keeps combining accents (NFD) with their letter', async () => {
    // compromise leaves the last accent of "café" and "brûlée" outside its term; spans take it.
    const caption = 'A cafe\u0301 and the cre\u0300me bru\u0302le\u0301e in Zu\u0308rich.';
    const spans = await detectMentions(caption);
    expect(spans.map((s) => s.text)).toEqual([
      'cafe\u0301',
      'cre\u0300me bru\u0302le\u0301e',
      'Zu\u0308rich',
    ]);
    for (const s of spans) expect(caption.slice(s.start, s.end)).toBe(s.text);
  });

  it('gives offsets after astral characters and emoji sequences', async () => {
    const caption = '🎉🎉 The party hat 🎩 and the Eiffel Tower 🏳️‍🌈 in Paris!';
    const spans = await detectMentions(caption);
    expect(spans.map((s) => [s.start, s.text])).toEqual([
      [9, 'party hat'],
      [30, 'Eiffel Tower'],
      [53, 'Paris'],
    ]);
    for (const s of spans) expect(caption.slice(s.start, s.end)).toBe(s.text);
  });
});

describe('resolveOverlaps', () => {
  it('prefers the gazetteer, then named entities, then noun phrases, whatever their length', () => {
    const chosen = resolveOverlaps([
      span(0, 20, 'NOUN_PHRASE'),
      span(0, 10, 'NAMED_ENTITY'),
      span(5, 8, 'GAZETTEER', { score: 1 }),
    ]);
    expect(chosen.map((s) => [s.start, s.end, s.source])).toEqual([[5, 8, 'GAZETTEER']]);
  });

  it('then prefers the longer span, then the higher score', () => {
    expect(
      resolveOverlaps([span(0, 5, 'NOUN_PHRASE'), span(2, 12, 'NOUN_PHRASE')]).map((s) => s.end),
    ).toEqual([12]);
    const scored = resolveOverlaps([
      span(0, 5, 'GAZETTEER', { score: 0.9 }),
      span(3, 8, 'GAZETTEER', { score: 1 }),
    ]);
    expect(scored.map((s) => s.start)).toEqual([3]);
  });

  it('keeps non-overlapping spans, ordered by start; touching spans do not overlap', () => {
    const chosen = resolveOverlaps([
      span(10, 15, 'NOUN_PHRASE'),
      span(0, 5, 'NOUN_PHRASE'),
      span(5, 10, 'NAMED_ENTITY'),
    ]);
    expect(chosen.map((s) => [s.start, s.end])).toEqual([
      [0, 5],
      [5, 10],
      [10, 15],
    ]);
  });

  it('merges the entity hints of spans with the same range and drops empty spans', () => {
    const chosen = resolveOverlaps([
      span(0, 4, 'GAZETTEER', { entityHints: ['b'] }),
      span(0, 4, 'GAZETTEER', { entityHints: ['a'], score: 1 }),
      span(0, 4, 'NAMED_ENTITY'),
      span(6, 6, 'GAZETTEER'),
    ]);
    expect(chosen).toHaveLength(1);
    expect(chosen[0]?.entityHints).toEqual(['a', 'b']);
  });

  it('LONGEST_FIRST lets a longer phrase win over a graph name inside it', () => {
    const spans = [
      span(0, 11, 'NOUN_PHRASE'), // "alarm clock", which the graph does not know
      span(6, 11, 'GAZETTEER', { score: 1, entityHints: ['clock'] }),
      span(14, 20, 'GAZETTEER', { score: 1 }),
      span(14, 20, 'NOUN_PHRASE'),
    ];
    expect(resolveOverlaps(spans).map((s) => [s.start, s.end, s.source])).toEqual([
      [6, 11, 'GAZETTEER'],
      [14, 20, 'GAZETTEER'],
    ]);
    // Equal lengths still go to the graph name.
    expect(resolveOverlaps(spans, 'LONGEST_FIRST').map((s) => [s.start, s.end, s.source])).toEqual([
      [0, 11, 'NOUN_PHRASE'],
      [14, 20, 'GAZETTEER'],
    ]);
  });

  it('is deterministic: the same set in any order gives the same answer', () => {
    const spans = [
      span(0, 6, 'NOUN_PHRASE'),
      span(4, 10, 'NOUN_PHRASE'),
      span(8, 14, 'NOUN_PHRASE'),
      span(2, 8, 'NAMED_ENTITY'),
      span(12, 16, 'NOUN_PHRASE', { score: 0.9 }),
    ];
    const first = resolveOverlaps(spans);
    for (let shift = 1; shift < spans.length; shift++) {
      const rotated = [...spans.slice(shift), ...spans.slice(0, shift)];
      expect(resolveOverlaps(rotated)).toEqual(first);
      expect(resolveOverlaps([...rotated].reverse())).toEqual(first);
      expect(resolveOverlaps(rotated, 'LONGEST_FIRST')).toEqual(
        resolveOverlaps(spans, 'LONGEST_FIRST'),
      );
    }
    expect(first.map((s) => [s.start, s.end])).toEqual([
      [2, 8],
      [8, 14],
    ]);
  });
});

describe('detectMentions with a gazetteer', () => {
  const caption = 'A picture of the umbrella on ground and a game die.';

  it('lets exact graph names win over noun phrases, with their entity hints', async () => {
    const gazetteer = async (text: string): Promise<MentionSpan[]> =>
      findNamesInCaption(text, [
        { id: 'emoji:26F1', name: 'umbrella on ground', aliases: [] },
        { id: 'emoji:1F3B2', name: 'game die', aliases: ['die'] },
      ]);
    const spans = await detectMentions(caption, { gazetteer });
    expect(spans.map((s) => [s.text, s.source, s.entityHints])).toEqual([
      ['picture', 'NOUN_PHRASE', undefined],
      ['umbrella on ground', 'GAZETTEER', ['emoji:26F1']],
      ['game die', 'GAZETTEER', ['emoji:1F3B2']],
    ]);
  });

  it('keeps the most trusted spans under a limit, still by start', async () => {
    const gazetteer = async (): Promise<MentionSpan[]> => [
      { start: 42, end: 50, text: 'game die', source: 'GAZETTEER', score: 1 },
    ];
    const spans = await detectMentions(caption, { gazetteer, limit: 2 });
    expect(spans.map((s) => s.text)).toEqual(['umbrella', 'game die']);
    expect(await detectMentions(caption, { limit: 0 })).toEqual([]);
    await expect(detectMentions(caption, { limit: 1.5 })).rejects.toThrow(RangeError);
  });

  it('rejects a gazetteer span that is not a span of the caption', async () => {
    const gazetteer = async (): Promise<MentionSpan[]> => [
      { start: 0, end: 4, text: 'nope', source: 'GAZETTEER', score: 1 },
    ];
    await expect(detectMentions(caption, { gazetteer })).rejects.toThrow(/not a span/);
  });
});

describe('gazetteer matching (pure part)', () => {
  it('folds caption words exactly as tokenize does, keeping each word’s offsets', () => {
    const captions = [
      "U.S.A.'s flag, McDonald's café and Zürich",
      'e\u0301te\u0301 ½ ﬁsh straße 🦊 Øre',
      'The flag of the Volga Germans in a forest.',
    ];
    for (const caption of captions) {
      const tokens = captionTokens(caption);
      expect(tokens.map((t) => t.folded)).toEqual(tokenize(caption));
    }
    expect(captionTokens("U.S.A.'s flag").map((t) => [t.folded, t.start, t.end])).toEqual([
      ['usa', 0, 6],
      ['flag', 9, 13],
    ]);
  });

  it('matches names and aliases as whole words, folded, and maps back to the caption', () => {
    const caption = 'The flag of the VOLGA germans, the Zurich bear and France.';
    const spans = findNamesInCaption(caption, [
      { id: 'volga', name: 'Volga Germans', aliases: [] },
      { id: 'zurich', name: 'Zürich', aliases: [] },
      { id: 'ran', name: 'Ran', aliases: ['Fra'] },
      { id: 'france', name: 'French Republic', aliases: ['France'] },
    ]);
    expect(spans.map((s) => [s.start, s.end, s.text, s.score, s.entityHints])).toEqual([
      [16, 29, 'VOLGA germans', 0.9, ['volga']],
      [35, 41, 'Zurich', 0.9, ['zurich']],
      [51, 57, 'France', 1, ['france']],
    ]);
  });

  it('does not look for names made of stop words only', () => {
    expect(
      findNamesInCaption('The Who played.', [{ id: 'who', name: 'The Who', aliases: [] }]),
    ).toEqual([]);
  });
});
