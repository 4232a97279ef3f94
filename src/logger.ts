import { pino, type Logger } from 'pino';

export type { Logger };

/** `stderr`: commands whose standard output is their result (an API key, a table) log there. */
export function createLogger(level: string, options: { stderr?: boolean } = {}): Logger {
  return options.stderr
    ? pino({ name: 'polylink', level }, pino.destination(2))
    : pino({ name: 'polylink', level });
}
