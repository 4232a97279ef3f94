import { AsyncLocalStorage } from 'node:async_hooks';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

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

/**
 * `stderr`: commands whose standard output is their result (an API key, a table) log there.
 * Lines are readable (pino-pretty) on a terminal or with `development` (NODE_ENV=development),
 * JSON otherwise, for log collectors. pino-pretty runs in-process and synchronously rather than as
 * a worker transport, so the last lines of a command that exits are never lost.
 */
export function createLogger(
  level: string,
  options: { stderr?: boolean; development?: boolean } = {},
): Logger {
  const fd = options.stderr ? 2 : 1;
  const readable = options.development === true || isatty(fd);
  const destination: DestinationStream = readable
    ? pretty({ destination: fd, sync: true, colorize: isatty(fd) })
    : pino.destination(fd);
  return pino(
    { name: 'polylink', level, mixin: () => requestFields.getStore() ?? {} },
    destination,
  );
}
