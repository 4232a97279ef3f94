import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { withRequestLogFields, type Logger } from '../logger.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * A load balancer's or client's id is kept when it is a plain token of at most 128 characters
 * (a UUID, a trace id): anything else could forge log structure or flood the logs, so it is replaced.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function requestIdOf(header: string | undefined): string {
  return header !== undefined && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Names each request: the id goes back in `x-request-id` and onto every log line written while
 * the request is served (src/logger.ts), and one line per request records how it ended.
 */
export function createRequestIdMiddleware(logger: Logger): RequestHandler {
  return (request, response, next) => {
    const requestId = requestIdOf(request.get(REQUEST_ID_HEADER));
    response.setHeader(REQUEST_ID_HEADER, requestId);
    const started = performance.now();
    response.once('close', () => {
      withRequestLogFields({ requestId }, () =>
        logger.info(
          {
            method: request.method,
            path: request.path,
            status: response.writableFinished ? response.statusCode : 'aborted',
            ms: Math.round((performance.now() - started) * 10) / 10,
          },
          'request',
        ),
      );
    });
    withRequestLogFields({ requestId }, next);
  };
}
