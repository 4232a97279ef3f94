import { GraphQLError } from 'graphql';

/**
 * The one documented set of error codes a client can see in `extensions.code`.
 * schema.graphql and the README describe each; GraphQL's own request errors
 * (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST) come from Apollo Server.
 */
export const ErrorCode = {
  BadUserInput: 'BAD_USER_INPUT',
  InvalidImage: 'INVALID_IMAGE',
  UnsupportedImageFormat: 'UNSUPPORTED_IMAGE_FORMAT',
  ImageTooLarge: 'IMAGE_TOO_LARGE',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  DatabaseUnavailable: 'DATABASE_UNAVAILABLE',
  InferenceFailed: 'INFERENCE_FAILED',
  InternalServerError: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error whose message is safe to show to the client, with a code from ErrorCode. */
export class AppError extends GraphQLError {
  constructor(
    message: string,
    readonly code: ErrorCode,
    details: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { code, ...details } });
    this.name = 'AppError';
  }
}

export class BadInputError extends AppError {
  constructor(message: string, details: { field?: string } & Record<string, unknown> = {}) {
    super(message, ErrorCode.BadUserInput, details);
  }
}

export class ImageError extends AppError {
  constructor(
    message: string,
    code:
      | typeof ErrorCode.InvalidImage
      | typeof ErrorCode.UnsupportedImageFormat
      | typeof ErrorCode.ImageTooLarge,
    details: Record<string, unknown> = {},
  ) {
    super(message, code, details);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super(`${what} "${id}" does not exist`, ErrorCode.NotFound, { id });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, ErrorCode.Conflict, details);
  }
}

/** A write that broke a uniqueness constraint, usually a concurrent create of the same id. */
export class UniquenessViolationError extends ConflictError {
  constructor(cause: unknown) {
    super('The write conflicts with an existing node');
    this.cause = cause;
  }
}

export class DatabaseUnavailableError extends AppError {
  constructor(cause?: unknown) {
    super('The graph database is unavailable; try again shortly', ErrorCode.DatabaseUnavailable);
    this.cause = cause;
  }
}

/** Thrown where a switch should have covered every case; keeps switches exhaustive at compile time. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}
