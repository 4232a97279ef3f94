import os from 'node:os';

/** What the benchmark scripts share: nearest-rank percentiles, rounding, the machine block. */

/** Nearest-rank percentile of ascending samples (NaN when empty). */
export function percentile(sorted: readonly number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export const round = (value: number) => Math.round(value * 10) / 10;

/** The machine a result was measured on; call it at the end so the load average covers the run. */
export function benchMachine() {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverageAtEnd: os.loadavg().map(round),
  };
}
