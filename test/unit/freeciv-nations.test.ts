import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SecfileSyntaxError,
  chooseFlagFile,
  getString,
  getStringList,
  getValues,
  nationAliases,
  nationSkipReason,
  nationToEntity,
  parseNationRuleset,
  parseSecfile,
  pickVariedSubset,
  pngSize,
  stripQualifier,
  wordCount,
} from '../../db/seed/freeciv-nations.js';
import type {
  FreecivNation,
  ImageCandidate,
  SecSection,
  SecTable,
  SeedEntity,
} from '../../db/seed/freeciv-nations.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtureDir = path.join(repoRoot, 'test/fixtures/freeciv');
const sampleText = readFileSync(path.join(fixtureDir, 'sample.ruleset'), 'utf8');

function only(text: string): SecSection {
  const sections = parseSecfile(text);
  expect(sections).toHaveLength(1);
  const s = sections[0];
  if (!s) throw new Error('no section');
  return s;
}

describe('parseSecfile on a real nation ruleset (alander.ruleset)', () => {
  const section = only(sampleText);

  it('reads the section and the translated name without _()', () => {
    expect(section.name).toBe('nation_alander');
    expect(getString(section, 'name')).toBe('Ålander');
    expect(getString(section, 'rule_name')).toBe('Alander');
  });

  it('removes the ?plural: qualifier', () => {
    expect(getString(section, 'plural')).toBe('Ålanders');
  });

  it('joins backslash-continued legend lines', () => {
    const legend = getString(section, 'legend') ?? '';
    expect(
      legend.startsWith('Åland is an archipelago in the Baltic Sea, located between Sweden'),
    ).toBe(true);
    expect(legend).not.toContain('\\');
    expect(legend).not.toContain('\n');
    expect(legend.endsWith('by international law.')).toBe(true);
  });

  it('reads tables with header, translated cells and qualifiers', () => {
    const leaders = section.entries.get('leaders') as SecTable;
    expect(leaders.kind).toBe('table');
    expect(leaders.columns).toEqual(['name', 'sex']);
    expect(leaders.rows[0]).toEqual(['Nils Psilander', 'Male']);
    expect(leaders.rows).toHaveLength(7);
    const titles = section.entries.get('ruler_titles') as SecTable;
    expect(titles.columns).toEqual(['government', 'male_title', 'female_title']);
    expect(titles.rows[1]).toEqual(['Despotism', 'Earl %s', 'Earl %s']);
  });

  it('reads multi-line lists with trailing comments, and empty strings', () => {
    const cities = getStringList(section, 'cities');
    expect(cities[0]).toBe('Mariehamn');
    expect(cities).toContain('Kyrkby');
    expect(cities).toContain('Åva');
    expect(cities.some((c) => c.includes(';') || c.includes('Jomala'))).toBe(false);
    expect(getStringList(section, 'civilwar_nations')).toEqual(['swedish', 'finnish']);
    expect(getString(section, 'flag_alt')).toBe('');
    expect(getString(section, 'init_techs')).toBe('');
  });

  it('turns into a nation and an entity', () => {
    const [nation] = parseNationRuleset(sampleText, 'alander');
    expect(nation).toBeDefined();
    if (!nation) return;
    expect(nation).toMatchObject({
      stem: 'alander',
      name: 'Ålander',
      flag: 'aland',
      groups: ['European'],
    });
    expect(nation.flagAlt).toBeUndefined();
    const e = nationToEntity(nation, {
      version: '3.0.6-1+deb12u1',
      file: 'usr/share/games/freeciv/nation/alander.ruleset',
      flagImage: 'test/fixtures/freeciv/flags/aland-large.png',
    });
    expect(e).toEqual({
      id: 'freeciv-nation:alander',
      name: 'Ålander',
      aliases: ['Ålanders', 'Alander'],
      description: expect.stringMatching(
        /^Åland is an archipelago .* by international law\.$/,
      ) as unknown as string,
      domain: 'freeciv-nations',
      tags: ['European'],
      images: [{ path: 'test/fixtures/freeciv/flags/aland-large.png', role: 'flag' }],
      source: {
        package: 'freeciv-data',
        version: '3.0.6-1+deb12u1',
        file: 'usr/share/games/freeciv/nation/alander.ruleset',
        licence: 'GPL-2+',
      },
    } satisfies SeedEntity);
    expect(e.description).not.toMatch(/\s{2}/);
  });
});

describe('parseSecfile on hand-made snippets', () => {
  it('ignores ; and # comments, but not inside strings', () => {
    const s = only(`; leading comment
# another
[nation_x]   ; trailing comment
name = _("A; B # C") ; comment after value
# comment line
plural = "Xs" # hash comment
`);
    expect(getString(s, 'name')).toBe('A; B # C');
    expect(getString(s, 'plural')).toBe('Xs');
    expect([...s.entries.keys()]).toEqual(['name', 'plural']);
  });

  it('keeps raw newlines in multi-line strings and joins backslash continuations', () => {
    const s = only('[s]\nraw = "line one\nline two"\njoined = _("part one \\\n part two")\n');
    expect(getString(s, 'raw')).toBe('line one\nline two');
    expect(getString(s, 'joined')).toBe('part one  part two');
  });

  it('unescapes \\" \\\\ and \\n', () => {
    const s = only('[s]\nv = "say \\"hi\\" \\\\ back\\nslash"\n');
    expect(getString(s, 'v')).toBe('say "hi" \\ back\nslash');
  });

  it('reads string lists, also continued over lines with comments in between', () => {
    const s = only(`[nation_y]
groups = "Modern", "Early Modern",  "European"
civilwar_nations =
; sub-national nations
 "Alsatian", "Breton",
; overseas
 "Acadian"
conflicts_with = _("A"), "B"
`);
    expect(getStringList(s, 'groups')).toEqual(['Modern', 'Early Modern', 'European']);
    expect(getStringList(s, 'civilwar_nations')).toEqual(['Alsatian', 'Breton', 'Acadian']);
    expect(getStringList(s, 'conflicts_with')).toEqual(['A', 'B']);
  });

  it('handles _() with inner whitespace and removes ?qualifier: prefixes', () => {
    const s = only(
      '[s]\na = _( "?plural:Frenchmen" )\nb = "?female:Queen %s"\nc = _("Why? Because: yes")\n',
    );
    expect(getString(s, 'a')).toBe('Frenchmen');
    expect(getString(s, 'b')).toBe('Queen %s');
    expect(getString(s, 'c')).toBe('Why? Because: yes');
  });

  it('stripQualifier only removes a leading ?word: prefix', () => {
    expect(stripQualifier('?plural:Danes')).toBe('Danes');
    expect(stripQualifier('?nation:Costa Rican')).toBe('Costa Rican');
    expect(stripQualifier('Danes?plural:')).toBe('Danes?plural:');
    expect(stripQualifier('? not a qualifier: x')).toBe('? not a qualifier: x');
  });

  it('ignores *include lines and reads numbers, booleans and file references', () => {
    const sections = parseSecfile(`*include "default/nationlist.ruleset"
[a]
n = 3, -7, 2.5
flag = TRUE
off = FALSE
description = *classic/README.classic*
[b]
x = "y"
`);
    expect(sections.map((s) => s.name)).toEqual(['a', 'b']);
    const a = sections[0] as SecSection;
    expect(getValues(a, 'n')).toEqual([3, -7, 2.5]);
    expect(getValues(a, 'flag')).toEqual([true]);
    expect(getValues(a, 'off')).toEqual([false]);
    expect(getString(a, 'description')).toBe('*classic/README.classic*');
  });

  it('reads an empty value followed by the next entry', () => {
    const s = only('[s]\nempty =\nnext = "v"\n');
    expect(getValues(s, 'empty')).toEqual([]);
    expect(getString(s, 'next')).toBe('v');
  });

  it('accepts CRLF line endings', () => {
    const s = only('[s]\r\nname = _("A\\\r\n B")\r\nlist = "x",\r\n "y"\r\n');
    expect(getString(s, 'name')).toBe('A B');
    expect(getStringList(s, 'list')).toEqual(['x', 'y']);
  });

  it('reports syntax errors with a line number', () => {
    expect(() => parseSecfile('[s]\nname = "unterminated\n')).toThrow(SecfileSyntaxError);
    expect(() => parseSecfile('[s]\nname = "a" "b"\n')).toThrow(/line 2/);
    expect(() => parseSecfile('orphan = "x"\n')).toThrow(/outside any section/);
  });
});

describe('nations', () => {
  const nation = (over: Partial<FreecivNation>): FreecivNation => ({
    stem: 'x',
    section: 'nation_x',
    name: 'X',
    plural: 'Xs',
    legend: 'Some legend.',
    flag: 'x',
    groups: ['European'],
    isPlayable: true,
    civilwarNations: [],
    conflictsWith: [],
    ...over,
  });

  it('dedupes aliases and drops the name itself', () => {
    expect(nationAliases(nation({ name: 'French', plural: 'French' }))).toEqual([]);
    expect(nationAliases(nation({ name: 'Inuk', plural: 'Inuit', ruleName: 'inuk' }))).toEqual([
      'Inuit',
    ]);
    expect(nationAliases(nation({ name: 'Métis', plural: 'Métis', ruleName: 'Metis' }))).toEqual([
      'Metis',
    ]);
  });

  it('skips barbarians/animals, nations without legend and without flag', () => {
    const animals = parseNationRuleset(
      `[nation_animals]
name=_("Animal Kingdom")
plural=_("?plural:Animals")
groups="Core", "Barbarian"
legend=_("Before civilization claimed the lands, ancient man had to \\
survive the wilderness with all kinds of dangerous animals.")
flag     = "animals"
flag_alt = "barbarian"
is_playable = FALSE
barbarian_type = "Animal"
`,
      'animals',
    )[0] as FreecivNation;
    expect(animals.barbarianType).toBe('Animal');
    expect(animals.isPlayable).toBe(false);
    expect(nationSkipReason(animals, 'flags/animals-large.png')).toBe('special');
    expect(nationSkipReason(nation({ legend: '  ' }), 'f.png')).toBe('no-legend');
    expect(nationSkipReason(nation({}), undefined)).toBe('no-flag');
    expect(nationSkipReason(nation({}), 'f.png')).toBeUndefined();
  });

  it('treats flag_alt "-" as no alternative flag', () => {
    const [n] = parseNationRuleset('[nation_a]\nname=_("A")\nflag="usa"\nflag_alt = "-"\n', 'a');
    expect(n?.flag).toBe('usa');
    expect(n?.flagAlt).toBeUndefined();
  });

  it('chooses the largest raster flag variant, falling back to flag_alt', () => {
    const c = (
      file: string,
      width: number,
      height: number,
      bytes = 100,
    ): [string, ImageCandidate] => [file, { file, width, height, bytes }];
    const available = new Map([
      c('france.png', 29, 20),
      c('france-large.png', 44, 30),
      c('france-shield-large.png', 19, 19),
      c('germany.png', 29, 20),
    ]);
    expect(chooseFlagFile('france', undefined, available)?.file).toBe('france-large.png');
    expect(chooseFlagFile('ddr', 'germany', available)?.file).toBe('germany.png');
    expect(chooseFlagFile('nowhere', undefined, available)).toBeUndefined();
  });

  it('reads PNG sizes from the header', () => {
    const buf = readFileSync(path.join(fixtureDir, 'flags/usa-large.png'));
    expect(pngSize(buf)).toEqual({ width: 44, height: 30 });
    expect(pngSize(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });

  it('counts words', () => {
    expect(wordCount('  one two\n three ')).toBe(3);
    expect(wordCount('')).toBe(0);
  });
});

describe('fixture entities.jsonl', () => {
  const lines = readFileSync(path.join(fixtureDir, 'entities.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const entities = lines.map((l) => JSON.parse(l) as SeedEntity);

  it('has 6 entities sorted by id with the SeedEntity shape', () => {
    expect(entities).toHaveLength(6);
    expect(entities.map((e) => e.id)).toEqual([...entities.map((e) => e.id)].sort());
    for (const e of entities) {
      expect(Object.keys(e).sort()).toEqual(
        ['aliases', 'description', 'domain', 'id', 'images', 'name', 'source', 'tags'].sort(),
      );
      expect(e.id).toMatch(/^freeciv-nation:[a-z0-9_]+$/);
      expect(e.domain).toBe('freeciv-nations');
      expect(e.description.length).toBeGreaterThan(0);
      expect(e.aliases).not.toContain(e.name);
      expect(e.source).toMatchObject({ package: 'freeciv-data', licence: 'GPL-2+' });
      expect(e.source.file).toBe(`usr/share/games/freeciv/nation/${e.id.split(':')[1]}.ruleset`);
    }
  });

  it.each(lines.map((l, k) => [k + 1, l] as const))('line %i has existing image files', (_k, l) => {
    const e = JSON.parse(l) as SeedEntity;
    expect(e.images.length).toBeGreaterThan(0);
    for (const img of e.images) {
      expect(img.role).toBe('flag');
      expect(path.isAbsolute(img.path)).toBe(false);
      expect(existsSync(path.join(repoRoot, img.path)), img.path).toBe(true);
      expect(pngSize(readFileSync(path.join(repoRoot, img.path)))).toBeDefined();
    }
  });

  it('pickVariedSubset is deterministic, sized and covers several tags', () => {
    const a = pickVariedSubset(entities, 4);
    expect(a).toHaveLength(4);
    expect(pickVariedSubset([...entities].reverse(), 4)).toEqual(a);
    expect(new Set(a.flatMap((e) => e.tags)).size).toBeGreaterThanOrEqual(3);
    expect(pickVariedSubset(entities, 100)).toHaveLength(6);
  });
});
