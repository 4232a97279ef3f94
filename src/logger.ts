import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';

export type { Logger };

/** What every log line written on behalf of one HTTP request carries. */
interface RequestLogFields {
  readonly requestId: string;
}

const requestFields = new AsyncLocalStorage<RequestLogFields>();

/**
 * Runs `work` so that every log line written from it (directly or through any promise it starts)
 * names the request. The services are built once per process with the root logger, so a child
 * logger per request would not reach their lines; pino's `mixin` reads this store instead.
 */
export function withRequestLogFields<T>(fields: RequestLogFields, work: () => T): T {
  return requestFields.run(fields, work);
}

/** `stderr`: commands whose standard output is their result (an API key, a table) log there. */
export function createLogger(level: string, options: { stderr?: boolean } = {}): Logger {
  const settings = {
    name: 'polylink',
    level,
    mixin: () => requestFields.getStore() ?? {},
  };
  return options.stderr ? pino(settings, pino.destination(2)) : pino(settings);
}
