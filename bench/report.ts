import os from 'node:os';

/** What the benchmark scripts share: nearest-rank percentiles, rounding, the machine block, seeded noise. */

/** Nearest-rank percentile of ascending samples (NaN when empty). */
export function percentile(sorted: readonly number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export const round = (value: number) => Math.round(value * 10) / 10;

/** `size` items spread evenly over `items` (deterministic: a fixed stride from the first). */
export function evenlySpread<T>(items: readonly T[], size: number): T[] {
  const step = Math.max(1, items.length / size);
  const picked: T[] = [];
  for (let i = 0; picked.length < size && Math.floor(i) < items.length; i += step) {
    picked.push(items[Math.floor(i)]!);
  }
  return picked;
}

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

/** Deterministic Gaussian noise (mulberry32 + Box-Muller). */
export function gaussian(seed: number): () => number {
  let a = seed;
  const uniform = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** p50 and p95 ms of `runs` timed calls of `work`, after 3 untimed ones (warm-up). */
export async function timeRuns(
  work: () => Promise<unknown>,
  runs: number,
): Promise<{ p50: number; p95: number }> {
  for (let warm = 0; warm < 3; warm += 1) await work();
  const samples: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: round(percentile(samples, 0.5)), p95: round(percentile(samples, 0.95)) };
}
