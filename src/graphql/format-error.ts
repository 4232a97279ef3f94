import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { AppError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/** Codes Apollo Server itself gives to malformed requests; they describe the request, not our internals. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  ErrorCode.BadUserInput,
]);

/**
 * Passes documented errors through and masks everything else, so a driver message or a stack
 * never reaches a client; the original is logged with the request path.
 */
export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof AppError) return formatted;
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) return formatted;
    logger.error(
      { err: original, path: formatted.path },
      'unexpected error in a GraphQL operation',
    );
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.InternalServerError },
    };
  };
}
