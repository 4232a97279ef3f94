import { createRequire } from 'node:module';
import { describe, it, expect, vi } from 'vitest';
import { GraphQLError } from 'graphql';
import type * as GraphQLModule from 'graphql';
import type { GraphQLFormattedError } from 'graphql';
import { createFormatError } from '../../src/graphql/format-error.js';
import { BadInputError, DatabaseUnavailableError, NotFoundError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';

function setup() {
  const error = vi.fn();
  const logger = { error } as unknown as Logger;
  return { error, formatError: createFormatError(logger) };
}

// Node loads Apollo Server, which gets graphql's CommonJS build, while Vite gives this file and src/
// the ESM build. unwrapResolverError checks `instanceof GraphQLError` against Apollo's copy, so the
// resolver-error wrapper must come from that copy, as it does when Apollo executes an operation.
const apolloGraphql = createRequire(import.meta.url)('graphql') as typeof GraphQLModule;

/** What graphql-js hands Apollo for an error thrown in a resolver at `path`. */
function fromResolver(
  thrown: Error,
  path: readonly (string | number)[] = ['entity'],
): GraphQLError {
  return apolloGraphql.locatedError(thrown, undefined, path);
}

/** Roughly what Apollo passes as the first argument, including the code it adds to unknown errors. */
function formattedOf(
  error: GraphQLError,
  defaultCode = 'INTERNAL_SERVER_ERROR',
): GraphQLFormattedError {
  const json = error.toJSON();
  return {
    ...json,
    locations: [{ line: 1, column: 3 }],
    extensions: {
      code: defaultCode,
      ...json.extensions,
      stacktrace: ['Error: secret', '    at x'],
    },
  };
}

describe('createFormatError', () => {
  it('passes an AppError thrown in a resolver through with its code', () => {
    const { error, formatError } = setup();
    const wrapped = fromResolver(new NotFoundError('Entity', 'Q1'));
    const formatted = formattedOf(wrapped);
    expect(formatted.extensions?.code).toBe('NOT_FOUND');
    expect(formatError(formatted, wrapped)).toBe(formatted);
    expect(error).not.toHaveBeenCalled();
  });

  it('passes an AppError with a non-request code (DATABASE_UNAVAILABLE)', () => {
    const { formatError } = setup();
    const wrapped = fromResolver(new DatabaseUnavailableError(new Error('ECONNREFUSED')));
    const formatted = formattedOf(wrapped);
    expect(formatError(formatted, wrapped)).toEqual(formatted);
    expect(formatted.extensions?.code).toBe('DATABASE_UNAVAILABLE');
  });

  it('passes an AppError given unwrapped', () => {
    const { formatError } = setup();
    const appError = new BadInputError('first must be positive', { field: 'first' });
    const formatted = formattedOf(appError);
    expect(formatError(formatted, appError)).toBe(formatted);
  });

  it('passes a GRAPHQL_VALIDATION_FAILED error', () => {
    const { error, formatError } = setup();
    const validation = new GraphQLError('Cannot query field "nope" on type "Query".', {
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    const formatted = formattedOf(validation);
    expect(formatError(formatted, validation)).toBe(formatted);
    expect(error).not.toHaveBeenCalled();
  });

  it('masks a plain Error from a resolver and logs the original with its path', () => {
    const { error, formatError } = setup();
    const original = new Error('Neo4jError: password=hunter2');
    const wrapped = fromResolver(original, ['entity', 'images', 0]);
    const result = formatError(formattedOf(wrapped), wrapped);
    expect(result).toEqual({
      message: 'Internal server error',
      locations: [{ line: 1, column: 3 }],
      path: ['entity', 'images', 0],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(JSON.stringify(result)).not.toContain('hunter2');
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]?.[0]).toEqual({ err: original, path: ['entity', 'images', 0] });
  });

  it('masks a plain Error given unwrapped, without path or locations', () => {
    const { error, formatError } = setup();
    const original = new Error('boom');
    const result = formatError(
      { message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      original,
    );
    expect(result).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(error.mock.calls[0]?.[0]).toMatchObject({ err: original });
  });

  it('masks a GraphQLError that is not an AppError and carries an undocumented code', () => {
    const { error, formatError } = setup();
    const foreign = fromResolver(
      new GraphQLError('driver detail', { extensions: { code: 'SERVICE_UNAVAILABLE' } }),
    );
    const result = formatError(formattedOf(foreign), foreign);
    expect(result.message).toBe('Internal server error');
    expect(result.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(error).toHaveBeenCalledTimes(1);
  });
});
