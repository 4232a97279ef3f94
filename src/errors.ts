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
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  RateLimited: 'RATE_LIMITED',
  QueryTooComplex: 'QUERY_TOO_COMPLEX',
  RequestTimeout: 'REQUEST_TIMEOUT',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  ServiceUnavailable: 'SERVICE_UNAVAILABLE',
  InternalServerError: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes Apollo Server itself gives to malformed requests; they describe the request, not our internals. */
export const REQUEST_ERROR_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  // Automatic persisted queries are off (src/graphql/server.ts): a request that uses them gets this.
  'PERSISTED_QUERY_NOT_SUPPORTED',
] as const;

/** Every code a client can see, on any route: the test of the docs and the fuzz oracle use this list. */
export const DOCUMENTED_ERROR_CODES: readonly string[] = [
  ...Object.values(ErrorCode),
  ...REQUEST_ERROR_CODES,
];

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

/** No key, or a key that is unknown, malformed or revoked (HTTP 401). */
export class UnauthenticatedError extends AppError {
  constructor(message = 'An API key is required: send it as "Authorization: Bearer <key>"') {
    super(message, ErrorCode.Unauthenticated, { http: { status: 401 } });
  }
}

/** A valid key whose role does not allow the operation (HTTP 403). */
export class ForbiddenError extends AppError {
  constructor(field: string, required: string, role: string) {
    super(`"${field}" needs the ${required} role; this key has ${role}`, ErrorCode.Forbidden, {
      field,
      requiredRole: required,
      http: { status: 403 },
    });
  }
}

export class RateLimitedError extends AppError {
  constructor(what: string, retryAfterSeconds: number) {
    super(
      `Too many ${what} requests for this key; retry in ${retryAfterSeconds} s`,
      ErrorCode.RateLimited,
      {
        retryAfterSeconds,
        http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
      },
    );
  }
}

/** The operation would do more work than one request may: depth, aliases, cost or linkImage count. */
export class QueryTooComplexError extends AppError {
  constructor(message: string, limit: string, details: Record<string, unknown> = {}) {
    super(message, ErrorCode.QueryTooComplex, { limit, ...details, http: { status: 400 } });
  }
}

/** The request's wall-clock budget ran out (or its client went away): the work stopped, nothing more was written. */
export class RequestTimeoutError extends AppError {
  constructor(budgetMs: number, reason = `The request ran past its ${budgetMs} ms budget`) {
    super(
      `${reason}; its work was stopped and nothing more was written`,
      ErrorCode.RequestTimeout,
      {
        budgetMs,
      },
    );
  }
}

/**
 * The image store (the local folder or the S3 bucket) could not be read or written: a network
 * failure, refused credentials, a missing bucket, a full disk. The cause is logged where it is
 * translated (src/images/), never sent to the client.
 */
export class ImageStoreUnavailableError extends AppError {
  constructor(cause?: unknown) {
    super('The image store is unavailable; try again shortly', ErrorCode.ServiceUnavailable);
    this.cause = cause;
  }
}

/** Thrown where a switch should have covered every case; keeps switches exhaustive at compile time. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}
