import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FIXTURE_STAMPS,
  categoryTags,
  chooseStampImage,
  groupStampFiles,
  parseStampText,
  pickVariedSubset,
  stampId,
  stampSkipReason,
  stampToEntity,
  stemToName,
  topCategory,
} from '../../db/seed/tuxpaint-stamps.js';
import type { StampEntity, StampFiles } from '../../db/seed/tuxpaint-stamps.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtureDir = path.join(repoRoot, 'test/fixtures/tuxpaint');

/** usr/share/tuxpaint/stamps/seasonal/christmas/present.txt, complete (the shortest file). */
const PRESENT_TXT = `A wrapped gift.
ca.utf8=Un regal.
ca@valencia.utf8=Un regal.
cs.utf8=Zabalený dárek.
fr.utf8=Un cadeau enveloppé.
gl.utf8=Un agasallo envolto.
is.utf8=Innpökkuð gjöf.
ja.utf8=クリスマスプレゼント
nb.utf8=En innpakket gave.
nn.utf8=Ei innpakka gåve.
pt.utf8=Uma prenda embrulhada.
sk.utf8=Zabalený darček.
sq.utf8=Dhuratë e mbështjellë.
`;

/** Lines of usr/share/tuxpaint/stamps/household/electronics/calculator.txt (an `=` on line 1). */
const CALCULATOR_TXT = `A calculator.  6x7=42
ach.utf8=Kalkuleta.  6x7=42
ar.utf8=آلة حاسبة. 6x7 = 42
ca.utf8=Una calculadora.
en_AU.utf8=A calculator.  6x7=42
eu.utf8=Kalkulagailua.    6x7=42
fr.utf8=Une calculatrice.   6x7=42
ja.utf8=でんたく。 ６×７＝４２
pt_BR.utf8=Uma calculadora. 6x7=42
sr@latin.utf8=Digitron. 6x7=42
zh_TW.utf8=計算機，6 乘以 7 等於 42
`;

/** Lines of usr/share/tuxpaint/stamps/sports/cartoon/football_helmet_front.txt (dash first). */
const HELMET_TXT = `– Because a brain is a terrible thing to waste…
ach.utf8=-Pien adam obedo gin mo marac adada ka gibalo...
en_AU.utf8=An American Football helmet – Because a brain is a terrible thing to waste…
`;

describe('parseStampText', () => {
  it('reads the English first line and the <locale>.utf8= translations of a real file', () => {
    const t = parseStampText(PRESENT_TXT);
    expect(t.english).toBe('A wrapped gift.');
    expect(t.translations.size).toBe(12);
    expect(t.translations.get('fr')).toBe('Un cadeau enveloppé.');
    expect(t.translations.get('ca@valencia')).toBe('Un regal.');
    expect(t.translations.get('ja')).toBe('クリスマスプレゼント');
    expect([...t.translations.keys()][0]).toBe('ca');
    expect(t.other).toEqual([]);
  });

  it('keeps an English line that contains "=" whole and normalises its whitespace', () => {
    const t = parseStampText(CALCULATOR_TXT);
    expect(t.english).toBe('A calculator. 6x7=42');
    expect(t.translations.get('fr')).toBe('Une calculatrice. 6x7=42');
    expect(t.translations.get('pt_BR')).toBe('Uma calculadora. 6x7=42');
    expect(t.translations.get('sr@latin')).toBe('Digitron. 6x7=42');
    expect(t.translations.get('zh_TW')).toBe('計算機，6 乘以 7 等於 42');
    expect(t.translations.get('en_AU')).toBe('A calculator. 6x7=42');
    expect(t.translations.size).toBe(10);
  });

  it('takes the first line as English whatever it starts with', () => {
    const t = parseStampText(HELMET_TXT);
    expect(t.english).toBe('– Because a brain is a terrible thing to waste…');
    expect(t.translations.get('ach')).toBe('-Pien adam obedo gin mo marac adada ka gibalo...');
  });

  it('accepts CRLF, a BOM, blank lines and legacy <locale>= lines; collects the rest', () => {
    const t = parseStampText(
      '\uFEFFA giraffe.\r\nfr.utf8=Une girafe.\r\n\r\nde=Eine Giraffe.\r\njunk\r\n',
    );
    expect(t.english).toBe('A giraffe.');
    expect(Object.fromEntries(t.translations)).toEqual({
      fr: 'Une girafe.',
      de: 'Eine Giraffe.',
    });
    expect(t.other).toEqual(['junk']);
  });

  it('has no English description when the first line is empty or a translation', () => {
    expect(parseStampText('').english).toBeUndefined();
    expect(parseStampText('\nfr.utf8=Un regal.\n').english).toBeUndefined();
    const t = parseStampText('fr.utf8=Un regal.\nca.utf8=Un regal.\n');
    expect(t.english).toBeUndefined();
    expect(t.translations.size).toBe(2);
  });
});

describe('stemToName', () => {
  it.each([
    // plain stems
    ['giraffe', 'Giraffe'],
    ['red_panda', 'Red panda'],
    ['little-penguin', 'Little penguin'],
    ['Washing-machine', 'Washing machine'],
    ['Brown_slug', 'Brown slug'],
    ['German_Christmas_toy', 'German Christmas toy'],
    ['DSLR_Camera', 'DSLR Camera'],
    // camelCase
    ['dinosaurSings', 'Dinosaur sings'],
    ['cementMixer', 'Cement mixer'],
    ['eddieCopter', 'Eddie copter'],
    // numeric suffixes
    ['frog-1', 'Frog'],
    ['ladybug-2', 'Ladybug'],
    ['snail2', 'Snail'],
    ['sunglasses_01', 'Sunglasses'],
    ['woman_police_officer_2', 'Woman police officer'],
    ['wrapped_chocolate_easter_egg_2', 'Wrapped chocolate easter egg'],
    ['fireman240a', 'Fireman'],
    ['tree336', 'Tree'],
    ['yen500', 'Yen'],
    ['7spoke256', '7spoke'],
    // numbers that are part of the name
    ['f22_raptor', 'F22 raptor'],
    ['ww2_german_gun', 'Ww2 german gun'],
    ['f1_car', 'F1 car'],
    ['camera_35mm', 'Camera 35mm'],
    ['747', '747'],
    ['001', '001'],
    ['0', '0'],
    // sort keys
    ['0_sun', 'Sun'],
    ['3_earth', 'Earth'],
    ['b_1_king', 'King'],
    ['w_4_knight', 'Knight'],
    ['001penny', 'Penny'],
    ['050kennedy-halfdollar', 'Kennedy halfdollar'],
    ['stoplight_01_red', 'Stoplight red'],
    ['note_012_a', 'Note'],
    ['clef0_treble', 'Clef treble'],
    ['asl_zzz_0', 'Asl 0'],
    ['asl_a', 'Asl a'],
    // variant markers and set prefixes
    ['A_filled', 'A'],
    ['a_outline', 'a'],
    ['t_filled', 't'],
    ['a_with_umlaut_filled', 'a with umlaut'],
    ['N_with_tilda_outline', 'N with tilda'],
    ['inukshuk-photo', 'Inukshuk'],
    ['Candy_cane_photo_1', 'Candy cane'],
    ['chicken_profile', 'Chicken'],
    ['measuring_tape_mirror', 'Measuring tape'],
    ['grave-a', 'Grave'],
    ['t_glove', 'Glove'],
    ['t-shirt_01', 'T-shirt'],
    ['t-junction', 'T-junction'],
    ['iso_lorry1', 'Lorry'],
    ['op2_multiply', 'Multiply'],
    ['party-horn-in', 'Party horn in'],
  ])('%s → %s', (stem, name) => {
    expect(stemToName(stem)).toBe(name);
  });
});

describe('categories and ids', () => {
  it('turns the category path into tags and ids', () => {
    expect(categoryTags('animals/mammals/bears/cartoon')).toEqual([
      'animals',
      'mammals',
      'bears',
      'cartoon',
    ]);
    expect(categoryTags('')).toEqual([]);
    expect(stampId('animals/insects/cartoon', 'ladybug-2')).toBe(
      'tuxpaint-stamp:animals/insects/cartoon/ladybug-2',
    );
    expect(stampId('', 'tux')).toBe('tuxpaint-stamp:tux');
  });
});

describe('stamp files', () => {
  // Real listing of usr/share/tuxpaint/stamps/household/tools (without most _desc sounds).
  const TOOLS = [
    'cementmixer.png',
    'cementmixer.txt',
    'cementmixer_desc_be.ogg',
    'hammer.ogg',
    'hammer.png',
    'hammer.txt',
    'hammer2.svg',
    'hammer2.txt',
    'hammer_desc_fr.ogg',
    'measuring_tape.png',
    'measuring_tape.txt',
    'measuring_tape_mirror.png',
    'toolbox.dat',
    'toolbox.png',
    'toolbox.txt',
  ];

  it('groups files by stem, attaches _mirror images and ignores sounds and .dat files', () => {
    const stamps = groupStampFiles('household/tools', TOOLS);
    expect(stamps.map((s) => s.stem)).toEqual([
      'cementmixer',
      'hammer',
      'hammer2',
      'measuring_tape',
      'toolbox',
    ]);
    expect(stamps.find((s) => s.stem === 'measuring_tape')).toEqual({
      category: 'household/tools',
      stem: 'measuring_tape',
      txt: 'measuring_tape.txt',
      png: 'measuring_tape.png',
      variants: ['measuring_tape_mirror.png'],
    });
    expect(stamps.find((s) => s.stem === 'hammer2')?.svg).toBe('hammer2.svg');
  });

  it('prefers the PNG to an SVG beside it, else takes the SVG', () => {
    // animals/insects/cartoon has ladybug.{png,svg,txt,dat} and ant.{svg,txt}
    const [ant, ladybug] = groupStampFiles('animals/insects/cartoon', [
      'ladybug.svg',
      'ladybug.png',
      'ladybug.txt',
      'ladybug.dat',
      'ant.svg',
      'ant.txt',
    ]);
    expect(chooseStampImage(ladybug as StampFiles)).toEqual({ file: 'ladybug.png', format: 'png' });
    expect(chooseStampImage(ant as StampFiles)).toEqual({ file: 'ant.svg', format: 'svg' });
  });

  it('gives skip reasons: a description without an image (christmas/gift), and the reverse', () => {
    const [gift, lone] = groupStampFiles('seasonal/christmas', [
      'gift.ogg',
      'gift.txt',
      'gift_desc_fr.ogg',
      'lone.png',
    ]);
    if (!gift || !lone) throw new Error('expected two stamps');
    expect(stampSkipReason(gift, parseStampText('A gift.\n'))).toBe('no-image');
    expect(stampSkipReason(lone, undefined)).toBe('no-description-file');
    const withText: StampFiles = { ...lone, txt: 'lone.txt' };
    expect(stampSkipReason(withText, parseStampText('\nfr.utf8=x\n'))).toBe(
      'no-english-description',
    );
    expect(stampSkipReason(withText, parseStampText('A lone stamp.\n'))).toBeUndefined();
  });
});

describe('stampToEntity', () => {
  it('builds the SeedEntity-shaped record', () => {
    const [s] = groupStampFiles('seasonal/christmas', [
      'present.dat',
      'present.svg',
      'present.txt',
    ]);
    if (!s) throw new Error('no stamp');
    const e = stampToEntity(s, parseStampText(PRESENT_TXT), {
      version: '2022.06.04-1',
      imagePath: 'var/sources/x/present.svg',
    });
    expect(e).toEqual({
      id: 'tuxpaint-stamp:seasonal/christmas/present',
      name: 'Present',
      aliases: [],
      description: 'A wrapped gift.',
      domain: 'tuxpaint-stamps',
      tags: ['seasonal', 'christmas'],
      images: [{ path: 'var/sources/x/present.svg', role: 'stamp' }],
      source: {
        package: 'tuxpaint-stamps-default',
        version: '2022.06.04-1',
        file: 'usr/share/tuxpaint/stamps/seasonal/christmas/present.txt',
        licence: 'GPL-2',
      },
    });
  });
});

describe('pickVariedSubset', () => {
  const make = (id: string, tags: string[]): { id: string; tags: string[] } => ({ id, tags });
  const all = [
    ...Array.from({ length: 20 }, (_, k) => make(`a${String(k).padStart(2, '0')}`, ['animals'])),
    make('f1', ['food']),
    make('f2', ['food', 'fruit']),
    make('s1', ['space']),
  ];

  it('is deterministic, sorted, of the requested size and covers the rare tags first', () => {
    const a = pickVariedSubset(all, 4);
    expect(a).toEqual(pickVariedSubset([...all].reverse(), 4));
    expect(a).toHaveLength(4);
    expect(a.map((e) => e.id)).toEqual([...a.map((e) => e.id)].sort());
    expect(a.map((e) => e.id)).toEqual(expect.arrayContaining(['s1', 'f2']));
    expect(a.some((e) => e.tags.includes('animals'))).toBe(true);
  });

  it('can round-robin over top-level categories instead of every tag', () => {
    const deep = [
      ...Array.from({ length: 6 }, (_, k) => make(`leaf${k}`, ['animals', `leaf${k}`])),
      ...Array.from({ length: 6 }, (_, k) => make(`sym${k}`, ['symbols', 'alphabets'])),
      make('town1', ['town', 'flags']),
    ];
    // By every tag, the one-stamp folders (flags, leaf0, leaf1, ...) take a limit of 3.
    expect(pickVariedSubset(deep, 3).map((e) => e.id)).toEqual(['leaf0', 'leaf1', 'town1']);
    const byTop = pickVariedSubset(deep, 3, topCategory);
    expect(byTop.map((e) => e.tags[0]).sort()).toEqual(['animals', 'symbols', 'town']);
    expect(topCategory({ tags: ['symbols', 'money', 'us'] })).toEqual(['symbols']);
    expect(topCategory({ tags: [] })).toEqual([]);
  });

  it('returns everything when the limit is not smaller', () => {
    expect(pickVariedSubset(all, 100)).toHaveLength(all.length);
  });
});

describe('fixture test/fixtures/tuxpaint', () => {
  const lines = readFileSync(path.join(fixtureDir, 'entities.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const entities = lines.map((l) => JSON.parse(l) as StampEntity);

  it('has the listed stamps, sorted by unique id', () => {
    expect(entities.map((e) => e.id)).toEqual(
      FIXTURE_STAMPS.map((k) => `tuxpaint-stamp:${k}`).sort(),
    );
    expect(new Set(entities.map((e) => e.id)).size).toBe(entities.length);
  });

  it('every line points at an existing image under 60 KB', () => {
    for (const e of entities) {
      expect(e.images.length).toBeGreaterThan(0);
      for (const img of e.images) {
        expect(img.role).toBe('stamp');
        expect(img.path.startsWith('test/fixtures/tuxpaint/')).toBe(true);
        const file = path.join(repoRoot, img.path);
        expect(existsSync(file), img.path).toBe(true);
        expect(statSync(file).size).toBeLessThan(60 * 1024);
        const head = readFileSync(file).subarray(0, 8);
        if (img.path.endsWith('.png')) expect([...head]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
        else expect(readFileSync(file, 'utf8')).toContain('<svg');
      }
    }
  });

  it('agrees with the parser on the copied .txt files', () => {
    for (const e of entities) {
      const key = e.id.replace(/^tuxpaint-stamp:/, '');
      const text = parseStampText(
        readFileSync(path.join(fixtureDir, 'stamps', `${key}.txt`), 'utf8'),
      );
      expect(e.description).toBe(text.english);
      expect(e.name).toBe(stemToName(path.posix.basename(key)));
      expect(e.tags).toEqual(categoryTags(path.posix.dirname(key)));
      expect(e.domain).toBe('tuxpaint-stamps');
      expect(e.source).toMatchObject({ package: 'tuxpaint-stamps-default', licence: 'GPL-2' });
      expect(e.source.file).toBe(`usr/share/tuxpaint/stamps/${key}.txt`);
    }
  });

  it('keeps stamps that share a name with distinct ids', () => {
    const ladybugs = entities.filter((e) => e.name === 'Ladybug');
    expect(ladybugs.map((e) => e.id)).toEqual([
      'tuxpaint-stamp:animals/insects/cartoon/ladybug',
      'tuxpaint-stamp:animals/insects/cartoon/ladybug-2',
    ]);
  });
});
