import { describe, expect, it } from 'vitest';
import { goldQueryProblem } from '../../eval/harness/format.js';
import { seededRandom } from '../../eval/harness/scoring.js';
import {
  allCards,
  cardBoxProblem,
  cardDescription,
  cardKey,
  cardName,
  parseCardId,
  zoomFor,
} from '../../eval/xdep/cards.js';
import {
  centred,
  estimate,
  hitAtK,
  inTopK,
  rankByCosine,
  regionCounts,
} from '../../eval/xdep/metrics.js';
import { iconifySvg, multiStyle, packFileName, type PoolRow } from '../../eval/xdep/pool.js';
import { imagePath, parseUnitTypes, unitSkipReason, wmlValue } from '../../eval/xdep/wesnoth.js';
import {
  holdOut,
  imageOnlyQuery,
  namedQuery,
  NEUTRAL_CAPTION,
  onePerPicture,
  queryImageProblem,
  rolesFor,
  stemOverlap,
  type XEntity,
  type XImage,
} from '../../eval/xdep/xdep.js';

describe('card ids', () => {
  it('reads KDE, Aisleriot and spelled-out element ids', () => {
    expect(parseCardId('king_heart')).toEqual({ rank: 'king', suit: 'heart' });
    expect(parseCardId('heart_king')).toEqual({ rank: 'king', suit: 'heart' });
    expect(parseCardId('1_club')).toEqual({ rank: '1', suit: 'club' });
    expect(parseCardId('10_diamond')).toEqual({ rank: '10', suit: 'diamond' });
    expect(parseCardId('jack-of-spades')).toEqual({ rank: 'jack', suit: 'spade' });
    expect(parseCardId('ace_spade')).toEqual({ rank: '1', suit: 'spade' });
  });

  it('refuses backs, jokers, run-together and doubled names', () => {
    for (const id of ['back', 'red_joker', 'kinghearts', 'heart_heart', '1_2', 'king_heart_2'])
      expect(parseCardId(id)).toBeNull();
  });

  it('joins 52 cards by their KDE key, named and described with rank, suit and colour', () => {
    const cards = allCards();
    expect(new Set(cards.map(cardKey)).size).toBe(52);
    for (const c of cards) expect(parseCardId(cardKey(c))).toEqual(c);
    expect(cardName({ rank: 'king', suit: 'heart' })).toBe('King of Hearts');
    expect(cardName({ rank: '1', suit: 'spade' })).toBe('Ace of Spades');
    expect(cardDescription({ rank: '7', suit: 'diamond' })).toContain('diamonds are a red suit');
    expect(cardDescription({ rank: 'queen', suit: 'club' })).toContain('face card');
    expect(cardDescription({ rank: 'queen', suit: 'club' })).toContain('black suit');
  });
});

describe('card cropping geometry', () => {
  it('scales the zoom linearly to the wanted card height', () => {
    expect(zoomFor(0.25, 60, 240)).toBeCloseTo(1);
    expect(zoomFor(1, 480, 240)).toBeCloseTo(0.5);
    expect(() => zoomFor(1, 0, 240)).toThrow();
  });

  it('accepts a card-shaped ink box and refuses landscape, tiny or empty ones', () => {
    expect(cardBoxProblem([3, 4, 170, 240], 192)).toBeNull();
    expect(cardBoxProblem([0, 0, 330, 240], 192)).toMatch(/aspect/);
    expect(cardBoxProblem([0, 0, 100, 150], 192)).toMatch(/tall/);
    expect(cardBoxProblem(undefined, 192)).toMatch(/nothing/);
  });
});

describe('Wesnoth WML', () => {
  const cfg = [
    '#textdomain wesnoth-units',
    '[unit_type]',
    '    id=Drake Warden',
    '    name= _ "Drake Warden"',
    '    race=drake',
    '    image="units/drakes/warden.png"',
    '    profile="portraits/drakes/warden.png~RIGHT()"',
    '    description= _ "Wardens guard the ""old"" ways.',
    '',
    'They rarely [leave] home."',
    '    [attack]',
    '        name=spear',
    '        description=_"spear"',
    '        image=attacks/spear.png',
    '    [/attack]',
    '    [female]',
    '        profile="portraits/drakes/other.png"',
    '    [/female]',
    '[/unit_type]',
    '[unit_type]',
    '    id=Macro Unit',
    '    name= _ "Macro Unit"',
    '    image="{PATH_TEMP}x.png"',
    '    do_not_list=yes',
    '[/unit_type]',
  ].join('\n');

  it('reads depth-1 keys, multi-line quoted values and skips nested tags', () => {
    const [warden, macro] = parseUnitTypes(cfg);
    expect(warden).toEqual({
      id: 'Drake Warden',
      name: 'Drake Warden',
      race: 'drake',
      image: 'units/drakes/warden.png',
      profile: 'portraits/drakes/warden.png',
      description: 'Wardens guard the "old" ways. They rarely [leave] home.',
      hidden: false,
    });
    expect(macro?.image).toBeNull();
    expect(macro?.hidden).toBe(true);
  });

  it('says why a unit cannot be used', () => {
    const [warden, macro] = parseUnitTypes(cfg);
    expect(unitSkipReason(warden!, () => true)).toBeNull();
    expect(unitSkipReason(warden!, (p) => !p.startsWith('portraits'))).toMatch(/portrait/);
    expect(unitSkipReason(macro!, () => true)).toMatch(/hidden/);
    expect(wmlValue(' _ "a ""b"" c"')).toBe('a "b" c');
    expect(wmlValue('plain')).toBe('plain');
    expect(imagePath('a.png~SCALE(1,1)')).toBe('a.png');
  });
});

const image = (style: string, artist = style): XImage => ({
  path: `p/${style}.png`,
  package: 'pkg',
  version: '1',
  licence: 'GPL-2+',
  file: `${style}.png`,
  style,
  artist,
});

describe('joins and checks', () => {
  it('keeps one entity per shared KB or query picture, preferring the one it is named after', () => {
    const items = [
      { id: 'wesnoth:Drake Arbiter', kbKey: 'warden', queryKey: 's1', name: 'Drake Arbiter' },
      { id: 'wesnoth:Drake Warden', kbKey: 'warden', queryKey: 's2', name: 'Drake Warden' },
      { id: 'wesnoth:Lancer', kbKey: 'lancer', queryKey: 's3', name: 'Lancer' },
      { id: 'wesnoth:Copy', kbKey: 'copy', queryKey: 's3', name: 'Other' },
    ];
    const { kept, dropped } = onePerPicture(items, (i) =>
      stemOverlap(i.name, `portraits/${i.kbKey}.png`),
    );
    expect(kept.map((k) => k.id)).toEqual(['wesnoth:Drake Warden', 'wesnoth:Lancer']);
    expect(dropped).toEqual([
      { id: 'wesnoth:Copy', keptBy: 'wesnoth:Lancer' },
      { id: 'wesnoth:Drake Arbiter', keptBy: 'wesnoth:Drake Warden' },
    ]);
  });

  it('refuses a query picture of the same style, artist, bytes or a dHash near-copy', () => {
    const kb = [{ style: 'deck:a', artist: 'Ann', sha256: 'x', dHash: '0000000000000000' }];
    const far = 'ffffffffffffffff';
    const ok = queryImageProblem({ style: 'deck:b', artist: 'Bob', sha256: 'y', dHash: far }, kb);
    expect(ok).toEqual({ problem: null, minDistance: 64 });
    const q = (o: object) => ({ style: 'deck:b', artist: 'Bob', sha256: 'y', dHash: far, ...o });
    expect(queryImageProblem(q({ style: 'deck:a' }), kb).problem).toMatch(/same style/);
    expect(queryImageProblem(q({ artist: 'Ann' }), kb).problem).toMatch(/same artist/);
    expect(queryImageProblem(q({ sha256: 'x' }), kb).problem).toMatch(/same bytes/);
    expect(queryImageProblem(q({ dHash: '00000000000003ff' }), kb).problem).toMatch(/near-copy/);
    expect(queryImageProblem(q({ dHash: '00000000000007ff' }), kb).problem).toBeNull();
    // Two unknown artists are not taken for one.
    const unknown = [{ ...kb[0]!, artist: 'unknown' }];
    expect(queryImageProblem(q({ artist: 'unknown' }), unknown).problem).toBeNull();
  });

  it('holds a seeded, disjoint share of entities out as NIL', () => {
    const items = Array.from({ length: 20 }, (_, k) => ({ id: `e${String(k).padStart(2, '0')}` }));
    const a = holdOut(items, 0.15, seededRandom(3));
    const b = holdOut(items, 0.15, seededRandom(3));
    expect(a).toEqual(b);
    expect(a.nil).toHaveLength(3);
    expect(a.kb).toHaveLength(17);
    expect(a.kb.some((e) => a.nil.includes(e))).toBe(false);
  });

  it('swaps dev and test with --dev', () => {
    expect(rolesFor('wesnoth')).toEqual({ wesnoth: 'dev', cards: 'test' });
    expect(rolesFor('cards')).toEqual({ wesnoth: 'test', cards: 'dev' });
  });
});

describe('query lines', () => {
  const entity: XEntity = {
    id: 'card:king_heart',
    name: 'King of Hearts',
    aliases: [],
    description: 'd',
    domain: 'cards/hearts',
    tags: [],
    mention: 'king of hearts',
    kbImages: [image('deck:standard')],
    queryImages: [image('deck:dondorf')],
    source: { package: 'pkg', version: '1', file: 'f', licence: 'GPL-2+' },
  };
  const args = {
    id: 'xc-00001',
    split: 'test' as const,
    entity,
    image: { path: 'var/xdep/cards/images/xc-00001.png', width: 170, height: 240 },
    provenance: image('deck:dondorf'),
  };

  it('an image-only query is one whole-image region, no mention, a neutral caption', () => {
    const q = imageOnlyQuery(args);
    expect(goldQueryProblem(q)).toBeNull();
    expect(q.caption).toBe(NEUTRAL_CAPTION);
    expect(q.mentions).toEqual([]);
    expect(q.regions).toEqual([{ id: 'r1', box: [0, 0, 170, 240], gold: 'card:king_heart' }]);
  });

  it('a named query names the entity at its span and pairs it with the region', () => {
    const q = namedQuery({ ...args, template: 0 });
    expect(goldQueryProblem(q)).toBeNull();
    expect(q.caption).toBe('A picture of the king of hearts.');
    const m = q.mentions[0]!;
    expect(q.caption.slice(m.start, m.end)).toBe('king of hearts');
    expect(q.pairs).toEqual([{ mention: 'm1', region: 'r1' }]);
  });
});

describe('xdep scoring', () => {
  it('acc@k reads the chosen entity and its alternatives; NIL is wrong at every k', () => {
    expect(hitAtK('a', ['a', 'b'], 'a', 1)).toBe(true);
    expect(hitAtK('a', ['a', 'b'], 'b', 1)).toBe(false);
    expect(hitAtK('a', ['a', 'b', 'c', 'd', 'e', 'f'], 'e', 5)).toBe(true);
    expect(hitAtK('a', ['a', 'b', 'c', 'd', 'e', 'f'], 'f', 5)).toBe(false);
    expect(hitAtK(null, ['a', 'b'], 'a', 5)).toBe(false);
    expect(inTopK(['a', 'b'], 'b', 2)).toBe(true);
  });

  it('region NIL precision and recall count NIL answers against NIL golds', () => {
    const c = regionCounts([
      { gold: 'a', prediction: 'a' },
      { gold: 'b', prediction: null },
      { gold: 'c', prediction: undefined },
      { gold: null, prediction: null },
      { gold: null, prediction: 'a' },
    ]);
    expect(c).toEqual({ goldNonNil: 3, correct: 1, predNil: 2, nilCorrect: 1, goldNil: 2 });
  });

  it('estimates a ratio with a bootstrap interval around it', () => {
    const per = Array.from({ length: 40 }, (_, k) => ({ num: k % 4 === 0 ? 1 : 0, den: 1 }));
    const e = estimate(per, { resamples: 200 });
    expect(e.value).toBeCloseTo(0.25);
    expect(e.n).toBe(40);
    expect(e.ci95![0]).toBeLessThan(0.25);
    expect(e.ci95![1]).toBeGreaterThan(0.25);
    expect(estimate([{ num: 0, den: 0 }])).toEqual({ value: null, ci95: null, n: 0 });
  });

  it('the thumbnail floor ranks by the best centred cosine per entity', () => {
    const q = centred([0, 255, 0, 255]);
    const ranked = rankByCosine(q, [
      { entity: 'flat', vector: centred([255, 0, 255, 0]) },
      { entity: 'same', vector: centred([10, 250, 10, 250]) },
      { entity: 'same', vector: centred([255, 0, 255, 0]) },
    ]);
    expect(ranked).toEqual(['same', 'flat']);
  });
});

describe('training pool', () => {
  it('names npm pack files of scoped packages as npm does', () => {
    expect(packFileName('@iconify-json/noto', '1.2.9')).toBe('iconify-json-noto-1.2.9.tgz');
    expect(packFileName('flag-icons', '7.5.0')).toBe('flag-icons-7.5.0.tgz');
  });

  it('writes Iconify icons and plain aliases as SVG, never transformed aliases', () => {
    const set = {
      width: 32,
      height: 24,
      icons: { us: { body: '<path d="M0 0h1"/>' } },
      aliases: { um: { parent: 'us' }, 'us-flip': { parent: 'us', hFlip: true } },
    };
    expect(iconifySvg(set, 'us')).toContain('viewBox="0 0 32 24"');
    expect(iconifySvg(set, 'um')).toContain('<path d="M0 0h1"/>');
    expect(iconifySvg(set, 'us-flip')).toBeNull();
    expect(iconifySvg(set, 'xx')).toBeNull();
  });

  it('keeps concepts drawn in at least two styles', () => {
    const row = (concept: string, style: string): PoolRow => ({
      concept,
      name: concept,
      source: 's',
      version: '1',
      licence: 'MIT',
      style,
      path: `${concept}-${style}`,
    });
    const rows = [
      row('flag:fr', 'a'),
      row('flag:fr', 'b'),
      row('flag:de', 'a'),
      row('flag:de', 'a'),
    ];
    expect(multiStyle(rows, 2).map((r) => r.path)).toEqual(['flag:fr-a', 'flag:fr-b']);
  });
});
