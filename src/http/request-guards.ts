import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { errorBody } from './json-errors.js';

/**
 * A multipart request whose Content-Type has no boundary never settles in graphql-upload (busboy
 * waits for a boundary it cannot find): the client would hang until its own timeout. Found by
 * the fuzz (bench/security/fuzz.ts); answered here as the malformed request it is.
 */
export const multipartBoundaryGuard: RequestHandler = (request, response, next) => {
  const type = request.headers['content-type'] ?? '';
  if (/^multipart\/form-data/i.test(type) && !/;\s*boundary=/i.test(type)) {
    response
      .status(400)
      .json(errorBody('A multipart request needs a boundary in its Content-Type', 'BAD_REQUEST'));
    return;
  }
  next();
};

/**
 * Requests Node's HTTP parser refuses before Express sees them (headers or URL over the limit,
 * malformed request lines) get the same JSON error shape as every route, not an empty body.
 */
export function answerClientErrorsInJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const message =
      status === 431 ? 'The request line or headers are too large' : 'Malformed HTTP request';
    const body = JSON.stringify(errorBody(message, 'BAD_REQUEST'));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
