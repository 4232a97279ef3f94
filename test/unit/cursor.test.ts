import { describe, it, expect } from 'vitest';
import { GraphQLError } from 'graphql';
import { decodeCursor, encodeCursor } from '../../src/services/entity-queries.js';

function cursorError(cursor: string): GraphQLError {
  try {
    decodeCursor(cursor);
  } catch (error) {
    if (error instanceof GraphQLError) return error;
    throw error;
  }
  throw new Error(`decodeCursor accepted ${JSON.stringify(cursor)}`);
}

describe('encodeCursor / decodeCursor', () => {
  it.each(['Q90', 'wiki:Paris (France)', 'Zürich/日本 🚀', 'entity:nested', ' spaced '])(
    'round-trips %j',
    (id) => {
      expect(decodeCursor(encodeCursor(id))).toBe(id);
    },
  );

  it('produces URL-safe text without padding', () => {
    for (const id of ['a', 'ab', 'abc', '???>>>', 'ÿÿÿ'])
      expect(encodeCursor(id)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('does not expose the raw id', () => {
    expect(encodeCursor('Q90')).not.toContain('Q90');
  });

  it('gives different cursors for different ids', () => {
    expect(encodeCursor('a')).not.toBe(encodeCursor('b'));
  });
});

describe('decodeCursor: garbage', () => {
  it.each([
    ['empty', ''],
    ['not base64', '!!!***'],
    ['base64 of another text', Buffer.from('Q90').toString('base64url')],
    ['the prefix alone', Buffer.from('entity:').toString('base64url')],
    ['a raw id', 'Q90'],
    ['the prefix in another case', Buffer.from('ENTITY:Q90').toString('base64url')],
  ])('rejects %s with BAD_USER_INPUT on field "after"', (_label, cursor) => {
    expect(cursorError(cursor).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });
});
