import cliProgress from 'cli-progress';

/** Counts shown beside the progress (created, unchanged, failed, ...). */
export type ProgressCounts = Readonly<Record<string, number>>;

export interface Progress {
  /** `done` items of `total` so far, with the current counts. */
  update(done: number, counts?: ProgressCounts): void;
  /** Draws the final state and releases the terminal line. */
  stop(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** Where progress goes: standard error, so standard output stays the command's result. */
  readonly stream?: NodeJS.WriteStream;
  /** Between plain lines when the stream is not a terminal. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

function formatCounts(counts: ProgressCounts): string {
  return Object.entries(counts)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
}

/** Seconds as `42s`, `3m05s` or `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * Progress for logs and pipes: one line per interval (and a last one), each with the count,
 * the rate and the time left, e.g. `import: 120/500 (24%), 12.3/s, ETA 31s; created 100`.
 */
export class PlainProgress implements Progress {
  private readonly started: number;
  private lastLine: number;
  private done = 0;
  private counts: ProgressCounts = {};

  constructor(
    private readonly options: ProgressOptions & { readonly write: (line: string) => void },
  ) {
    this.started = this.now();
    this.lastLine = this.started;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  update(done: number, counts: ProgressCounts = this.counts): void {
    this.done = done;
    this.counts = counts;
    const now = this.now();
    if (now - this.lastLine >= (this.options.intervalMs ?? 10_000)) {
      this.lastLine = now;
      this.options.write(this.line(now));
    }
  }

  stop(): void {
    this.options.write(this.line(this.now()));
  }

  line(now: number): string {
    const { label, total } = this.options;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const percent = total > 0 ? Math.floor((100 * this.done) / total) : 100;
    const eta = rate > 0 ? formatDuration((total - this.done) / rate) : '?';
    const counts = formatCounts(this.counts);
    return `${label}: ${this.done}/${total} (${percent}%), ${rate.toFixed(1)}/s, ETA ${eta}${counts ? `; ${counts}` : ''}`;
  }
}

/** A bar redrawn in place on a terminal (cli-progress): count, rate, ETA and the counts. */
class BarProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;
  private readonly started = Date.now();

  constructor(options: ProgressOptions) {
    this.bar = new cliProgress.SingleBar(
      {
        stream: options.stream ?? process.stderr,
        format: `${options.label} {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | {counts}`,
        etaBuffer: 50,
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(options.total, 0, { rate: '0.0', counts: '' });
  }

  update(done: number, counts: ProgressCounts = {}): void {
    const seconds = (Date.now() - this.started) / 1000;
    this.bar.update(done, {
      rate: (seconds > 0 ? done / seconds : 0).toFixed(1),
      counts: formatCounts(counts),
    });
  }

  stop(): void {
    this.bar.stop();
  }
}

/** A bar on a terminal, plain periodic lines otherwise (a pipe, a log file, CI). */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) return new BarProgress({ ...options, stream });
  return new PlainProgress({ ...options, write: (line) => stream.write(`${line}\n`) });
}
