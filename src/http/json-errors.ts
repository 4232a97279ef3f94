import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/** Every route answers errors as GraphQL does: `{errors: [{message, extensions: {code}}]}`, never HTML or a stack. */
export function errorBody(message: string, code: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extensions } }] };
}

interface HttpishError {
  readonly status?: unknown;
  readonly statusCode?: unknown;
  readonly type?: unknown;
  readonly expose?: unknown;
  readonly message?: unknown;
}

function statusOf(error: AppError): number {
  const http = error.extensions.http as { status?: number } | undefined;
  if (http?.status) return http.status;
  if (error.code === ErrorCode.DatabaseUnavailable) return 503;
  if (error.code === ErrorCode.ServiceUnavailable) return 503;
  if (error.code === ErrorCode.InternalServerError) return 500;
  return 400;
}

export function createJsonErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    if (response.headersSent) {
      // Part of a body went out (a streamed image): all that is left is to end the connection.
      response.destroy();
      return;
    }
    if (error instanceof AppError) {
      const { http: _http, code: _code, ...extensions } = error.extensions;
      response.status(statusOf(error)).json(errorBody(error.message, error.code, extensions));
      return;
    }
    const httpish = (typeof error === 'object' && error !== null ? error : {}) as HttpishError;
    const status = Number(httpish.status ?? httpish.statusCode);
    if (httpish.type === 'entity.too.large' || status === 413) {
      response
        .status(413)
        .json(errorBody('The request body is too large', ErrorCode.PayloadTooLarge));
      return;
    }
    if (httpish.type === 'entity.parse.failed') {
      response.status(400).json(errorBody('The request body is not valid JSON', 'BAD_REQUEST'));
      return;
    }
    if (status >= 400 && status < 500) {
      // body-parser and graphql-upload mark client errors as such; their messages name no internals.
      const message =
        httpish.expose === true && typeof httpish.message === 'string'
          ? httpish.message
          : 'Bad request';
      response.status(status).json(errorBody(message, 'BAD_REQUEST'));
      return;
    }
    if (request.is('multipart/form-data')) {
      // busboy's parse errors ("Unexpected end of form") reach here without a status: the body
      // is malformed, which is the client's to fix.
      response.status(400).json(errorBody('The multipart request is malformed', 'BAD_REQUEST'));
      return;
    }
    logger.error({ err: error }, 'unexpected error in an HTTP route');
    response.status(500).json(errorBody('Internal server error', ErrorCode.InternalServerError));
  };
}

/** Unknown routes: a JSON 404, not Express's HTML page. */
export const notFoundHandler: RequestHandler = (_request, response) => {
  response.status(404).json(errorBody('No such route', ErrorCode.NotFound));
};
