import type { RequestHandler } from 'express';
import { bearerToken, type ApiKeyService, type Principal } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { RequestTimeoutError, UnauthenticatedError } from '../errors.js';
import type { RequestScope } from '../graphql/context.js';

const ANONYMOUS_READER: Principal = { keyId: null, keyName: null, role: 'read' };

/**
 * Authenticates a GraphQL request before its body is read (an upload from an unknown client is
 * never parsed) and gives it a wall-clock budget: its AbortSignal fires when the budget runs out or
 * the client goes away, and the services stop at their next check without writing more.
 */
export function createRequestScopeMiddleware(deps: {
  readonly apiKeys: Pick<ApiKeyService, 'authenticate'>;
  readonly auth: Config['auth'];
  readonly budgetMs: number;
}): RequestHandler {
  const { apiKeys, auth, budgetMs } = deps;
  return async (request, response, next) => {
    const token = bearerToken(request.get('authorization'));
    let principal: Principal;
    if (token !== null) principal = await apiKeys.authenticate(token);
    else if (auth.anonymousRead) principal = ANONYMOUS_READER;
    else throw new UnauthenticatedError();

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new RequestTimeoutError(budgetMs)), budgetMs);
    response.on('close', () => {
      clearTimeout(timer);
      if (!response.writableFinished) {
        controller.abort(new RequestTimeoutError(budgetMs, 'The client closed the connection'));
      }
    });
    const scope: RequestScope = {
      principal,
      client: request.ip ?? request.socket.remoteAddress ?? 'unknown',
      signal: controller.signal,
    };
    response.locals.requestScope = scope;
    next();
  };
}

export function requestScopeOf(locals: Record<string, unknown>): RequestScope {
  const scope = locals.requestScope as RequestScope | undefined;
  if (!scope) throw new Error('The request-scope middleware did not run before GraphQL');
  return scope;
}
