import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

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
  return pino({ name: 'polylink', level }, destination);
}
