import { describe, it, expect } from 'vitest';
import { GraphQLError } from 'graphql';
import {
  DEFAULT_DOMAIN,
  entityContentHash,
  normalizeEntityFields,
  normalizeEntityId,
} from '../../src/services/entity-input.js';
import type { EntityFields, NormalizedEntityFields } from '../../src/services/entity-input.js';

/** Runs fn, expecting a BAD_USER_INPUT error about `field`. */
function expectBadInput(fn: () => unknown, field: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(GraphQLError);
  expect((caught as GraphQLError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
}

const fields = (overrides: Partial<EntityFields> = {}): EntityFields => ({
  name: 'Paris',
  ...overrides,
});

describe('normalizeEntityId', () => {
  it('trims and applies NFC', () => {
    expect(normalizeEntityId('  Q90 ')).toBe('Q90');
    expect(normalizeEntityId('Zu\u0308rich')).toBe('Z\u00fcrich');
  });

  it('keeps inner spaces and punctuation', () => {
    expect(normalizeEntityId('wiki:Paris (France)')).toBe('wiki:Paris (France)');
  });

  it('rejects an empty or blank id', () => {
    expectBadInput(() => normalizeEntityId(''), 'id');
    expectBadInput(() => normalizeEntityId('  \n '), 'id');
  });

  it('accepts 256 characters and rejects 257', () => {
    expect(normalizeEntityId('a'.repeat(256))).toHaveLength(256);
    expectBadInput(() => normalizeEntityId('a'.repeat(257)), 'id');
  });

  it('rejects control characters', () => {
    expectBadInput(() => normalizeEntityId('a\u0000b'), 'id');
    expectBadInput(() => normalizeEntityId('a\tb'), 'id');
    expectBadInput(() => normalizeEntityId('a\u007fb'), 'id');
  });
});

describe('normalizeEntityFields: normalisation', () => {
  it('fills defaults for missing optional fields', () => {
    expect(normalizeEntityFields({ name: 'Paris' })).toEqual({
      name: 'Paris',
      aliases: [],
      description: '',
      domain: DEFAULT_DOMAIN,
      tags: [],
    });
    expect(DEFAULT_DOMAIN).toBe('general');
    expect(
      normalizeEntityFields({
        name: 'Paris',
        aliases: null,
        description: null,
        domain: null,
        tags: null,
      }).domain,
    ).toBe('general');
  });

  it('collapses whitespace in the name and applies NFC', () => {
    expect(normalizeEntityFields(fields({ name: '  New\t\nYork   City ' })).name).toBe(
      'New York City',
    );
    expect(normalizeEntityFields(fields({ name: 'Zu\u0308rich' })).name).toBe('Z\u00fcrich');
  });

  it('cleans aliases, drops blanks, dedupes case-insensitively keeping the first spelling, and removes the name', () => {
    const normalized = normalizeEntityFields(
      fields({
        name: 'Paris',
        aliases: [' City  of Light ', '', '   ', 'PARIS', 'city of light', 'Lutetia', 'paris'],
      }),
    );
    expect(normalized.aliases).toEqual(['City of Light', 'Lutetia']);
  });

  it('keeps the description inner whitespace, trimming only the ends', () => {
    expect(
      normalizeEntityFields(fields({ description: '  Line one.\n\nLine two.  ' })).description,
    ).toBe('Line one.\n\nLine two.');
  });

  it('trims the domain', () => {
    expect(normalizeEntityFields(fields({ domain: ' freeciv.nations ' })).domain).toBe(
      'freeciv.nations',
    );
  });

  it('cleans tags and dedupes them case-insensitively', () => {
    expect(
      normalizeEntityFields(fields({ tags: [' capital  city', 'Europe', 'europe', ''] })).tags,
    ).toEqual(['capital city', 'Europe']);
  });
});

describe('normalizeEntityFields: validation', () => {
  it('rejects an empty name', () => {
    expectBadInput(() => normalizeEntityFields(fields({ name: ' \n ' })), 'name');
  });

  it('rejects a name over 512 characters or with control characters', () => {
    expect(normalizeEntityFields(fields({ name: 'n'.repeat(512) })).name).toHaveLength(512);
    expectBadInput(() => normalizeEntityFields(fields({ name: 'n'.repeat(513) })), 'name');
    expectBadInput(() => normalizeEntityFields(fields({ name: 'a\u0007b' })), 'name');
  });

  it('rejects more than 64 aliases or an alias over 512 characters', () => {
    const aliases = Array.from({ length: 64 }, (_, index) => `alias ${index}`);
    expect(normalizeEntityFields(fields({ aliases })).aliases).toHaveLength(64);
    expectBadInput(
      () => normalizeEntityFields(fields({ aliases: [...aliases, 'one more'] })),
      'aliases',
    );
    expectBadInput(() => normalizeEntityFields(fields({ aliases: ['a'.repeat(513)] })), 'aliases');
  });

  it('counts aliases after de-duplication', () => {
    const aliases = [
      ...Array.from({ length: 64 }, (_, index) => `alias ${index}`),
      'ALIAS 0',
      'Paris',
    ];
    expect(normalizeEntityFields(fields({ aliases })).aliases).toHaveLength(64);
  });

  it('rejects a description over 20000 characters', () => {
    expect(
      normalizeEntityFields(fields({ description: 'd'.repeat(20_000) })).description,
    ).toHaveLength(20_000);
    expectBadInput(
      () => normalizeEntityFields(fields({ description: 'd'.repeat(20_001) })),
      'description',
    );
  });

  it.each(['', 'Science', '-lead', '.x', 'a b', '/a', 'a/', 'a//b', 'a/-b', 'é', 'a'.repeat(65)])(
    'rejects domain %j',
    (domain) => {
      expectBadInput(() => normalizeEntityFields(fields({ domain })), 'domain');
    },
  );

  it.each([
    'a',
    '0',
    'wiki.en',
    'freeciv_nations-2',
    'products/shoes',
    'emoji/smileys-emotion',
    'a'.repeat(64),
  ])('accepts domain %j', (domain) => {
    expect(normalizeEntityFields(fields({ domain })).domain).toBe(domain);
  });

  it('rejects more than 32 tags or a tag over 64 characters', () => {
    const tags = Array.from({ length: 32 }, (_, index) => `t${index}`);
    expect(normalizeEntityFields(fields({ tags })).tags).toHaveLength(32);
    expectBadInput(() => normalizeEntityFields(fields({ tags: [...tags, 'extra'] })), 'tags');
    expectBadInput(() => normalizeEntityFields(fields({ tags: ['t'.repeat(65)] })), 'tags');
  });
});

describe('entityContentHash', () => {
  const base: NormalizedEntityFields = normalizeEntityFields({
    name: 'Paris',
    aliases: ['City of Light'],
    description: 'Capital of France',
    domain: 'geo',
    tags: ['city'],
  });
  const images = ['a'.repeat(64), 'b'.repeat(64)];

  it('is a sha256 hex digest, stable for equal content', () => {
    const hash = entityContentHash(base, images);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(entityContentHash({ ...base, aliases: [...base.aliases] }, [...images])).toBe(hash);
  });

  it('is the same for inputs that normalise to the same fields', () => {
    const messy = normalizeEntityFields({
      name: ' Paris ',
      aliases: ['City  of Light', 'paris'],
      description: ' Capital of France ',
      domain: ' geo',
      tags: ['city', 'CITY'],
    });
    expect(entityContentHash(messy, images)).toBe(entityContentHash(base, images));
  });

  it('changes when the image order changes', () => {
    expect(entityContentHash(base, [...images].reverse())).not.toBe(
      entityContentHash(base, images),
    );
  });

  it('changes when any field or image changes', () => {
    const hash = entityContentHash(base, images);
    const variants: [NormalizedEntityFields, string[]][] = [
      [{ ...base, name: 'Paris, Texas' }, images],
      [{ ...base, aliases: ['Lutetia'] }, images],
      [{ ...base, description: 'Capital of France.' }, images],
      [{ ...base, domain: 'geo2' }, images],
      [{ ...base, tags: ['town'] }, images],
      [base, images.slice(0, 1)],
      [base, []],
    ];
    const hashes = variants.map(([variant, imageHashes]) =>
      entityContentHash(variant, imageHashes),
    );
    expect(hashes).not.toContain(hash);
    expect(new Set(hashes).size).toBe(variants.length);
  });

  it('does not confuse values moved between fields', () => {
    const a = entityContentHash({ ...base, aliases: ['x'], tags: [] }, []);
    const b = entityContentHash({ ...base, aliases: [], tags: ['x'] }, []);
    expect(a).not.toBe(b);
  });
});

describe('control characters in aliases and tags', () => {
  it.each([
    ['aliases', { name: 'N', aliases: ['ok', 'bad\u0007bell'] }],
    ['tags', { name: 'N', tags: ['bad\u0000nul'] }],
  ])('rejects them in %s', (field, fields) => {
    let thrown: unknown;
    try {
      normalizeEntityFields(fields);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GraphQLError);
    expect((thrown as GraphQLError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});
