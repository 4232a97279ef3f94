import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseBookmarks } from '../../src/http/causal-consistency.js';
import { requestIdOf } from '../../src/http/request-id.js';
import { rootFieldsOf } from '../../src/observability/root-fields.js';

describe('parseBookmarks', () => {
  it('reads the comma-separated bookmarks a response gave, once each', () => {
    expect(parseBookmarks(undefined)).toEqual([]);
    expect(parseBookmarks('  ')).toEqual([]);
    expect(parseBookmarks('FB:kcwQD5VfrRy2/TvG7+Joh==, FB:abc,FB:abc')).toEqual([
      'FB:kcwQD5VfrRy2/TvG7+Joh==',
      'FB:abc',
    ]);
  });

  it('refuses anything else with BAD_USER_INPUT naming the header', () => {
    for (const header of ['FB:a b', 'FB:a,,FB:b', 'x'.repeat(513), Array(33).fill('FB:a').join()]) {
      expect(() => parseBookmarks(header), header.slice(0, 20)).toThrow(
        expect.objectContaining({
          extensions: { code: 'BAD_USER_INPUT', field: 'polylink-bookmarks' },
        }) as Error,
      );
    }
  });
});

describe('requestIdOf', () => {
  it('keeps plain tokens up to 128 characters and makes a UUID for anything else', () => {
    expect(requestIdOf('0af7651916cd43dd8448eb211c80319c')).toBe(
      '0af7651916cd43dd8448eb211c80319c',
    );
    expect(requestIdOf('x'.repeat(128))).toBe('x'.repeat(128));
    for (const header of [undefined, '', 'x'.repeat(129), 'a b', 'a\nb', '-a', '{"a":1}']) {
      expect(requestIdOf(header)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    }
  });
});

describe('rootFieldsOf', () => {
  it('maps response keys to schema fields through aliases and fragments', () => {
    const document = parse(`
      query Anything { a: entity(id: "1") { id } ...Roots ... on Query { domains } }
      fragment Roots on Query { entities(ids: []) { id } ...Again }
      fragment Again on Query { b: entity(id: "2") { id } ...Roots }
    `);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const fragments = Object.fromEntries(
      document.definitions.flatMap((d) =>
        d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [],
      ),
    );
    expect(Object.fromEntries(rootFieldsOf(operation.selectionSet, fragments))).toEqual({
      a: 'entity',
      entities: 'entities',
      b: 'entity',
      domains: 'domains',
    });
  });
});
