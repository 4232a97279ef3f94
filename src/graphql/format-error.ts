import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { AppError, ErrorCode, REQUEST_ERROR_CODES } from '../errors.js';
import type { Logger } from '../logger.js';

/** Apollo's request errors, and its BAD_USER_INPUT for variables that do not coerce. */
const PASSED_THROUGH = new Set<string>([...REQUEST_ERROR_CODES, ErrorCode.BadUserInput]);

/**
 * Passes documented errors through and masks everything else, so a driver message or a stack
 * never reaches a client; the original is logged with the request path.
 */
export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof AppError) return formatted;
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && PASSED_THROUGH.has(code)) return formatted;
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
