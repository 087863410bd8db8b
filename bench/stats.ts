/** Percentiles and windows over measured samples. */

/** Nearest-rank percentile of `samples` (any order); NaN for none. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summary(samples: number[]): { p50: number; p99: number; max: number; count: number } {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), count: samples.length };
}

/** The most events in any half-open window [t, t + windowMs) of the given times (ms). */
export function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Events per second between the first and the last time. */
export function ratePerSecond(times: number[]): number {
  if (times.length < 2) return NaN;
  return (times.length - 1) / ((Math.max(...times) - Math.min(...times)) / 1000);
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function runPool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
