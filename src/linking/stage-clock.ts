export const LINK_STAGES = [
  'decode',
  'mentions',
  'regions',
  'encode-text',
  'encode-regions',
  'candidates',
  'context',
  'score',
  'align',
  'write',
  'total',
] as const;
export type LinkStage = (typeof LINK_STAGES)[number];

export interface StageTiming {
  readonly stage: LinkStage;
  /** Wall-clock milliseconds, 0.1 ms resolution. */
  readonly ms: number;
}

/**
 * Accumulates wall-clock time per stage (context and score run once per phase), and stops the
 * request at the next stage boundary once its budget's signal has fired: a model run cannot be
 * interrupted, but no further stage starts and nothing is written.
 */
export class StageClock {
  private readonly started = performance.now();
  private readonly spent = new Map<LinkStage, number>();

  constructor(private readonly signal: AbortSignal | undefined) {}

  async time<T>(stage: LinkStage, work: () => Promise<T>): Promise<T> {
    this.signal?.throwIfAborted();
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.spent.set(stage, (this.spent.get(stage) ?? 0) + performance.now() - started);
    }
  }

  timings(): StageTiming[] {
    const round = (ms: number) => Math.round(ms * 10) / 10;
    this.spent.set('total', performance.now() - this.started);
    return LINK_STAGES.map((stage) => ({ stage, ms: round(this.spent.get(stage) ?? 0) }));
  }
}
