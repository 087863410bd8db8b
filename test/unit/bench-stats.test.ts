/** The benchmark's arithmetic: the figures BENCHMARKS.md publishes against targets come from these. */
import { expect, test } from 'vitest';
import { busiestWindow, percentile, ratePerSecond, runPool, summary } from '../../bench/stats.js';

test('percentiles are nearest-rank over the samples in any order', () => {
  const samples = Array.from({ length: 200 }, (_, i) => 200 - i); // 200 … 1
  expect(percentile(samples, 50)).toBe(100);
  expect(percentile(samples, 99)).toBe(198);
  expect(percentile(samples, 100)).toBe(200);
  expect(percentile([7], 99)).toBe(7);
  expect(percentile([], 50)).toBeNaN();
  expect(summary([3, 1, 2])).toEqual({ p50: 2, p99: 3, max: 3, count: 3 });
});

test('the busiest window counts events in half-open windows [t, t + width)', () => {
  // Ten calls 100 ms apart fit one second only if the window is closed at its end: it is not.
  const tenPerSecond = Array.from({ length: 11 }, (_, i) => i * 100);
  expect(busiestWindow(tenPerSecond, 1000)).toBe(10);
  expect(busiestWindow([0, 999, 1000, 1001], 1000)).toBe(3);
  expect(busiestWindow([], 1000)).toBe(0);
});

test('a rate is events per second between the first and the last', () => {
  expect(ratePerSecond([0, 500, 1000])).toBe(2);
  expect(ratePerSecond([5])).toBeNaN();
});

test('runPool runs every task once with at most `concurrency` in flight', async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  await runPool(25, 4, async (i) => {
    most = Math.max(most, ++running);
    await new Promise((resolve) => setTimeout(resolve, 1));
    running--;
    done.push(i);
  });
  expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  expect(most).toBe(4);
});
