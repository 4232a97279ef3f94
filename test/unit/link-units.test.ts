import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InferenceError } from '../../src/inference/runtime/onnx-runtime.js';
import {
  addImageEvidence,
  decide,
  EMPTY_LIST,
  featureLayout,
  GENERATORS,
  generatorFeatures,
  greedyPairs,
  knownPairUnits,
  loneUnits,
  makeUnit,
  rankCandidates,
  regionEvidence,
  ROBUST_IMAGE_GENERATOR,
  scorable,
  toCandidateList,
  unitContext,
  unitKind,
  type CandidateList,
  type UnitSources,
} from '../../src/linking/link-units.js';

/** The released linker's order (linker.json `generatorFeatures`, units.py GENERATOR_FEATURES). */
const RELEASED = [
  'BM25.score',
  'SHARED_WORDS.score',
  'CONTAINMENT.score',
  'ACRONYM.score',
  'DENSE_TEXT.score',
  'DENSE_IMAGE.score',
  'BM25.found',
  'SHARED_WORDS.found',
  'CONTAINMENT.found',
  'ACRONYM.found',
  'DENSE_TEXT.found',
  'DENSE_IMAGE.found',
];
const layout = featureLayout(RELEASED);

function list(entries: [string, Record<string, number>][]): CandidateList {
  return { order: entries.map(([id]) => id), hits: new Map(entries) };
}

const mentionList = list([
  ['a', { BM25: 1, CONTAINMENT: 0.9, DENSE_TEXT: 0.8 }],
  ['b', { BM25: 0.5 }],
]);
const regionList = list([
  ['c', { DENSE_IMAGE: 0.7 }],
  ['a', { DENSE_IMAGE: 0.6 }],
]);
const sources: UnitSources = {
  mentionLists: [mentionList, list([['d', { SHARED_WORDS: 0.4 }]])],
  regionLists: [regionList, list([['b', { DENSE_IMAGE: 0.3 }]])],
  layout,
};

describe('toCandidateList', () => {
  it('keeps the generator order and each entity once; a later hit of a generator wins', () => {
    const result = toCandidateList([
      { entity: { id: 'x' }, generators: [{ generator: 'BM25', score: 0.2 }] },
      {
        entity: { id: 'y' },
        generators: [
          { generator: 'SHARED_WORDS', score: 0.5 },
          { generator: 'SHARED_WORDS', score: 0.7 },
        ],
      },
      { entity: { id: 'x' }, generators: [{ generator: 'DENSE_TEXT', score: 0.9 }] },
    ]);
    expect(result.order).toEqual(['x', 'y']);
    expect(result.hits.get('x')).toEqual({ BM25: 0.2, DENSE_TEXT: 0.9 });
    expect(result.hits.get('y')).toEqual({ SHARED_WORDS: 0.7 });
  });
});

describe('generator features', () => {
  it('parses the released order and refuses a feature the service cannot compute', () => {
    expect(layout.slice(0, 2)).toEqual([
      { generator: 'BM25', kind: 'score' },
      { generator: 'SHARED_WORDS', kind: 'score' },
    ]);
    expect(() => featureLayout(['BM25.rank'])).toThrow(InferenceError);
    expect(() => featureLayout(['CLIP.score'])).toThrow(/unknown here/);
  });

  it('reads text generators from the mention list and DENSE_IMAGE from the region list (units.py)', () => {
    expect(
      generatorFeatures(layout, {
        text: { BM25: 1, CONTAINMENT: 0.9, DENSE_TEXT: 0.8, DENSE_IMAGE: 0.99 },
        image: { DENSE_IMAGE: 0.6, BM25: 0.5 },
      }),
    ).toEqual([1, 0, 0.9, 0, 0.8, 0.6, 1, 0, 1, 0, 1, 1]);
    expect(generatorFeatures(layout, { text: { BM25: 0 } })).toEqual([
      0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
    ]);
    expect(generatorFeatures(layout, {})).toEqual(new Array(12).fill(0));
  });

  it('follows the order the linker gives, whatever it is', () => {
    const reversed = featureLayout([...RELEASED].reverse());
    expect(generatorFeatures(reversed, { image: { DENSE_IMAGE: 0.5 } })).toEqual([
      1, 0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0,
    ]);
  });
});

describe('units', () => {
  it('a pair: the mention list, then the region entities not in it, with both lists’ evidence', () => {
    const unit = makeUnit(sources, { mention: 0, region: 0 });
    expect(unit.candidates).toEqual(['a', 'b', 'c']);
    expect(unit.features[0]).toEqual([1, 0, 0.9, 0, 0.8, 0.6, 1, 0, 1, 0, 1, 1]);
    expect(unit.features[1]).toEqual([0.5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(unit.features[2]).toEqual([0, 0, 0, 0, 0, 0.7, 0, 0, 0, 0, 0, 1]);
  });

  it('a lone mention has no image evidence, a lone region no text evidence', () => {
    const mention = makeUnit(sources, { mention: 0, region: null });
    expect(mention.candidates).toEqual(['a', 'b']);
    expect(mention.features[0]![5]).toBe(0);
    const region = makeUnit(sources, { mention: null, region: 0 });
    expect(region.candidates).toEqual(['c', 'a']);
    expect(region.features[1]).toEqual([0, 0, 0, 0, 0, 0.6, 0, 0, 0, 0, 0, 1]);
  });

  it('V&T-KG: the given pairs, then unpaired mentions, then unpaired regions', () => {
    const units = knownPairUnits(sources, [{ mention: 1, region: 0 }], {
      mentions: 2,
      regions: 2,
    });
    expect(units.map((u) => [u.mention, u.region])).toEqual([
      [1, 0],
      [0, null],
      [null, 1],
    ]);
    expect(
      loneUnits(sources, { mentions: 2, regions: 1 }).map((u) => [u.mention, u.region]),
    ).toEqual([
      [0, null],
      [1, null],
      [null, 0],
    ]);
  });

  it('refuses a unit of nothing', () => {
    expect(() => makeUnit(sources, { mention: null, region: null })).toThrow(RangeError);
  });
});

describe('greedyPairs (V-T-KG)', () => {
  const regions = [
    list([
      ['x', { DENSE_IMAGE: 0.9 }],
      ['y', { DENSE_IMAGE: 0.8 }],
    ]),
    list([['y', { DENSE_IMAGE: 0.95 }]]),
    list([['z', { DENSE_IMAGE: 0.1 }]]),
  ];

  it('pairs by the image cosine of the region with the mention’s best entity, one-to-one', () => {
    expect(greedyPairs({ mentionTops: ['x', 'y'], regionLists: regions })).toEqual([
      { mention: 1, region: 1 },
      { mention: 0, region: 0 },
    ]);
  });

  it('pairs as many as the smaller side allows, even at affinity 0; ties by index', () => {
    expect(greedyPairs({ mentionTops: ['q', 'r'], regionLists: regions })).toEqual([
      { mention: 0, region: 0 },
      { mention: 1, region: 1 },
    ]);
    expect(greedyPairs({ mentionTops: ['x', 'y', 'z'], regionLists: regions.slice(0, 1) })).toEqual(
      [{ mention: 0, region: 0 }],
    );
  });

  it('never pairs a mention that had no candidate', () => {
    expect(greedyPairs({ mentionTops: [null, 'z'], regionLists: regions })).toEqual([
      { mention: 1, region: 2 },
    ]);
    expect(greedyPairs({ mentionTops: [], regionLists: regions })).toEqual([]);
  });
});

describe('ranking and NIL', () => {
  it('ranks by score, ties by entity id', () => {
    expect(rankCandidates(['b', 'a', 'c'], [1, 1, 2])).toEqual([
      { entityId: 'c', score: 2 },
      { entityId: 'a', score: 1 },
      { entityId: 'b', score: 1 },
    ]);
    expect(() => rankCandidates(['a'], [])).toThrow(RangeError);
  });

  const ranked = rankCandidates(['a', 'b', 'c', 'd', 'e', 'f', 'g'], [20, 19, 18, 17, 16, 15, 14]);

  it('links the best candidate at or above the threshold, with the next five as alternatives', () => {
    const decision = decide(ranked, 20);
    expect(decision).toMatchObject({ entityId: 'a', nil: false, score: 20 });
    expect(decision.alternatives.map((a) => a.entityId)).toEqual(['b', 'c', 'd', 'e', 'f']);
  });

  it('is NIL below the threshold and keeps the five best as alternatives', () => {
    const decision = decide(ranked, 20.5);
    expect(decision).toMatchObject({ entityId: null, nil: true, score: 20 });
    expect(decision.alternatives.map((a) => a.entityId)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('never NIL without a threshold; always NIL without a candidate', () => {
    expect(decide(ranked, null)).toMatchObject({ entityId: 'a', nil: false });
    expect(decide([], null)).toEqual({ entityId: null, nil: true, score: null, alternatives: [] });
  });
});

describe('contexts', () => {
  const shared = {
    tokenStates: new Float32Array(4 * 2),
    mentionPositions: [[1, 2], []],
    regions: [
      { features: new Float32Array([1, 0]), geometry: [0, 0, 0.5, 0.5, 0.25] },
      { features: new Float32Array([0, 1]), geometry: [0.5, 0.5, 1, 1, 0.25] },
    ],
  };

  it('marks the unit’s mention tokens and focuses its region, with every region present', () => {
    const pair = unitContext(shared, makeUnit(sources, { mention: 0, region: 1 }));
    expect(pair.mentionPositions).toEqual([1, 2]);
    expect(pair.regions.map((r) => r.focus)).toEqual([false, true]);
    const region = unitContext(shared, makeUnit(sources, { mention: null, region: 0 }));
    expect(region.mentionPositions).toEqual([]);
    expect(region.regions.map((r) => r.focus)).toEqual([true, false]);
    const mention = unitContext(shared, makeUnit(sources, { mention: 0, region: null }));
    expect(mention.regions.map((r) => r.focus)).toEqual([false, false]);
    expect(mention.tokenStates).toBe(shared.tokenStates);
  });

  it('scores only candidates with a cached vector, keeping their features aligned', () => {
    const unit = makeUnit(sources, { mention: 0, region: 0 });
    const kept = scorable(
      unit,
      new Map([
        ['c', [3]],
        ['a', [1]],
      ]),
    );
    expect(kept.candidates).toEqual(['a', 'c']);
    expect(kept.vectors).toEqual([[1], [3]]);
    expect(kept.features).toEqual([unit.features[0], unit.features[2]]);
  });
});

describe('region-only units: image evidence and unit kinds (issue 12)', () => {
  const list = toCandidateList([
    { entity: { id: 'a' }, generators: [{ generator: 'DENSE_IMAGE', score: 0.2 }] },
    { entity: { id: 'b' }, generators: [{ generator: 'DENSE_IMAGE', score: 0.9 }] },
  ]);
  const byLinker = [
    { entityId: 'a', score: 8 },
    { entityId: 'b', score: 7.5 },
    { entityId: 'c', score: 7 },
  ];

  it('orders by the linker score plus the weighted DENSE_IMAGE cosine, keeping linker scores', () => {
    expect(addImageEvidence(byLinker, { list, generator: 'DENSE_IMAGE' }, 0)).toEqual(byLinker);
    // b: 7.5 + 2 * 0.9 = 9.3, a: 8 + 2 * 0.2 = 8.4, c (not in the image list): 7.
    expect(addImageEvidence(byLinker, { list, generator: 'DENSE_IMAGE' }, 2)).toEqual([
      { entityId: 'b', score: 7.5 },
      { entityId: 'a', score: 8 },
      { entityId: 'c', score: 7 },
    ]);
  });

  it('leaves the NIL decision to the best linker score, whatever the order', () => {
    const reordered = addImageEvidence(byLinker, { list, generator: 'DENSE_IMAGE' }, 2);
    expect(decide(reordered, 7.9)).toMatchObject({ entityId: 'b', nil: false, score: 7.5 });
    expect(decide(reordered, 8.1)).toMatchObject({ entityId: null, nil: true });
  });

  it("takes the style-robust list as a lone region's evidence and candidates when it found anything", () => {
    const robust = toCandidateList([
      { entity: { id: 'c' }, generators: [{ generator: 'DENSE_IMAGE_ROBUST', score: 0.7 }] },
      { entity: { id: 'd' }, generators: [{ generator: 'DENSE_IMAGE_ROBUST', score: 0.6 }] },
    ]);
    const sources = {
      mentionLists: [toCandidateList([{ entity: { id: 'm' }, generators: [] }])],
      regionLists: [list, list],
      regionRobustLists: [robust, EMPTY_LIST],
      layout: featureLayout(['DENSE_IMAGE.score']),
    };
    expect(regionEvidence(sources, 0)).toEqual({ list: robust, generator: 'DENSE_IMAGE_ROBUST' });
    expect(regionEvidence(sources, 1)).toEqual({ list, generator: 'DENSE_IMAGE' });
    // The lone region gets the robust-only entity d; DENSE_IMAGE features stay the region list's.
    const lone = makeUnit(sources, { mention: null, region: 0 });
    expect(lone.candidates).toEqual(['a', 'b', 'c', 'd']);
    expect(lone.features).toEqual([[0.2], [0.9], [0], [0]]);
    // A pair keeps the lists the linker was trained on.
    expect(makeUnit(sources, { mention: 0, region: 0 }).candidates).toEqual(['m', 'a', 'b']);
    // c: 7 + 2 * 0.7 = 8.4 > a: 8 (not in the robust list) > b: 7.5.
    expect(
      addImageEvidence(byLinker, regionEvidence(sources, 0), 2).map((r) => r.entityId),
    ).toEqual(['c', 'a', 'b']);
  });

  it('names the kind of a unit', () => {
    expect(unitKind({ mention: 0, region: 1 })).toBe('pair');
    expect(unitKind({ mention: 0, region: null })).toBe('mention');
    expect(unitKind({ mention: null, region: 2 })).toBe('region');
  });
});

/**
 * The hot paths of a request (issue 13: 1,000s of candidates per unit, a dozen units per scene)
 * were rewritten without per-candidate copies; these are the plain formulations they replaced,
 * units.py's reading of them, and each rewrite must give what its formulation gives.
 */
describe('the rewritten hot paths against their plain formulations', () => {
  const ids = fc.constantFrom(...'abcdefghijklmnop'.split(''));
  const scores = fc.dictionary(
    fc.constantFrom<string>(...GENERATORS, ROBUST_IMAGE_GENERATOR),
    fc.double({ min: 0, max: 1, noNaN: true }),
  );
  const candidateList = fc.array(fc.tuple(ids, scores), { maxLength: 12 }).map((entries) =>
    toCandidateList(
      entries.map(([id, hits]) => ({
        entity: { id },
        generators: Object.entries(hits).map(([generator, score]) => ({ generator, score })),
      })),
    ),
  );

  function plainMakeUnit(source: UnitSources, mention: number | null, region: number | null) {
    const textList = mention === null ? null : source.mentionLists[mention]!;
    const imageList = region === null ? null : source.regionLists[region]!;
    const robustList =
      mention === null && region !== null ? source.regionRobustLists?.[region] : null;
    const candidates = [
      ...new Set([
        ...(textList?.order ?? []),
        ...(imageList?.order ?? []),
        ...(robustList?.order ?? []),
      ]),
    ];
    const features = candidates.map((id) =>
      generatorFeatures(source.layout, {
        ...(textList ? { text: textList.hits.get(id) ?? {} } : {}),
        ...(imageList ? { image: imageList.hits.get(id) ?? {} } : {}),
      }),
    );
    return { mention, region, candidates, features };
  }

  it('makeUnit', () => {
    fc.assert(
      fc.property(
        candidateList,
        candidateList,
        candidateList,
        fc.integer({ min: 0, max: 2 }),
        (text, image, robust, kind) => {
          const source: UnitSources = {
            mentionLists: [text],
            regionLists: [image],
            regionRobustLists: [robust],
            layout,
          };
          const [mention, region] = kind === 0 ? [0, 0] : kind === 1 ? [0, null] : [null, 0];
          expect(makeUnit(source, { mention, region })).toEqual(
            plainMakeUnit(source, mention, region),
          );
        },
      ),
    );
  });

  it('toCandidateList: the later hit of a generator counts', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(ids, scores), { maxLength: 12 }), (entries) => {
        const candidates = entries.map(([id, hits]) => ({
          entity: { id },
          generators: Object.entries(hits).map(([generator, score]) => ({ generator, score })),
        }));
        const order: string[] = [];
        const hits = new Map<string, Record<string, number>>();
        for (const candidate of candidates) {
          if (!hits.has(candidate.entity.id)) order.push(candidate.entity.id);
          const merged: Record<string, number> = { ...hits.get(candidate.entity.id) };
          for (const hit of candidate.generators) merged[hit.generator] = hit.score;
          hits.set(candidate.entity.id, merged);
        }
        expect(toCandidateList(candidates)).toEqual({ order, hits });
      }),
    );
  });

  const distinctIds = fc.uniqueArray(ids, { maxLength: 16 });
  // Ties are common in real scores (the int8 models, equal cosines): draw from few values.
  const tiedScore = fc.constantFrom(-1, 0, 0.5, 1, 2);

  it('rankCandidates and addImageEvidence', () => {
    fc.assert(
      fc.property(
        distinctIds.chain((candidates) =>
          fc.tuple(
            fc.constant(candidates),
            fc.array(tiedScore, { minLength: candidates.length, maxLength: candidates.length }),
            candidateList,
            fc.constantFrom(0, 1, 200),
          ),
        ),
        ([candidates, values, evidence, weight]) => {
          const byScore = (
            a: { entityId: string; score: number },
            b: { entityId: string; score: number },
          ) =>
            b.score - a.score || (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0);
          const plain = candidates
            .map((entityId, index) => ({ entityId, score: values[index]! }))
            .sort(byScore);
          const ranked = rankCandidates(candidates, values);
          expect(ranked).toEqual(plain);
          const linkerScore = new Map(ranked.map((c) => [c.entityId, c.score]));
          const plainEvidence = rankCandidates(
            ranked.map((c) => c.entityId),
            ranked.map((c) => c.score + weight * (evidence.hits.get(c.entityId)?.DENSE_IMAGE ?? 0)),
          ).map(({ entityId }) => ({ entityId, score: linkerScore.get(entityId)! }));
          expect(
            addImageEvidence(ranked, { list: evidence, generator: 'DENSE_IMAGE' }, weight),
          ).toEqual(plainEvidence);
        },
      ),
    );
  });

  it('scorable and decide', () => {
    fc.assert(
      fc.property(
        candidateList,
        fc.uniqueArray(ids),
        fc.constantFrom(null, 0, 0.5),
        (candidates, cached, threshold) => {
          const unit = makeUnit(
            { mentionLists: [candidates], regionLists: [], layout },
            { mention: 0, region: null },
          );
          const vectors = new Map(cached.map((id) => [id, [id.charCodeAt(0)]]));
          const keep = unit.candidates.flatMap((id, index) =>
            vectors.has(id)
              ? [{ id, vector: vectors.get(id)!, features: unit.features[index]! }]
              : [],
          );
          expect(scorable(unit, vectors)).toEqual({
            candidates: keep.map((k) => k.id),
            vectors: keep.map((k) => k.vector),
            features: keep.map((k) => k.features),
          });
          const ranked = rankCandidates(
            unit.candidates,
            unit.candidates.map((id) => (id.charCodeAt(0) % 3) / 2),
          );
          const confidence = Math.max(...ranked.map((c) => c.score));
          const decision = decide(ranked, threshold);
          expect(decision.nil).toBe(
            ranked.length === 0 || (threshold !== null && confidence < threshold),
          );
        },
      ),
    );
  });
});
