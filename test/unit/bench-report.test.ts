/** The published verdicts: each figure is compared with its target as the issue states it. */
import { expect, test } from 'vitest';
import { BACKENDS_SCALES, type BackendResult } from '../../bench/backend-runs.js';
import type { BackendName } from '../../bench/backends.js';
import { renderReport, type Results } from '../../bench/report.js';
import type { FlowResult, FootprintResult, Spread, SteadyResult, Summary } from '../../bench/scenarios.js';

const s = (p50: number, p99: number, max = p99): Summary => ({ p50, p99, max, count: 200 });
const levels = (p99At50: number, maxAt200: number) =>
  [1, 10, 50, 200].map((concurrency) => ({
    concurrency,
    summary: concurrency === 50 ? s(10, p99At50) : concurrency === 200 ? s(10, 20, maxAt200) : s(1, 2),
  }));
const steady = (p99At50: number, maxAt200: number, startupMs = 1500): SteadyResult => ({
  startupMs,
  idleRssMb: 180,
  ack: levels(p99At50, maxAt200),
  floor: levels(5, 10),
  approveToAuthorize: s(9, 19),
  peakRssMb: 300,
});
const flow = (lagP99: number): FlowResult => ({
  grants: 1000,
  rateLimit: 50,
  requestedPerSecond: 50,
  approvedPerSecond: 50,
  activatedPerSecond: 40,
  revokedPerSecond: 12,
  endToEndPerSecond: 10,
  revocationLag: s(50, lagP99),
  revocationLagAfterGrants: { ...s(50, lagP99), count: 900 },
  busiestSecond: 49,
  peakRssMb: 300,
});
/** A median with a range around it, as repeated runs give. */
const around = (median: number): Spread => ({ median, min: median - 5, max: median + 5 });
const footprintOf = (build: FootprintResult['build'], figures: { idle: number; grants: number; startup: number }): FootprintResult => ({
  build,
  runs: 5,
  startupMs: around(figures.startup),
  startupCpuMs: around(500),
  modulesLoadedMs: around(300),
  idleRssMb: around(figures.idle),
  idlePeakRssMb: around(figures.idle + 20),
  grants: 10_000,
  active: 1000,
  grantsRssMb: around(figures.grants),
  grantsStartupMs: around(700),
});
const footprint = (bundled: { idle?: number; grants?: number; startup?: number }): FootprintResult[] => [
  footprintOf('unbundled', { idle: 180, grants: 190, startup: 1800 }),
  footprintOf('bundled', { idle: bundled.idle ?? 90, grants: bundled.grants ?? 120, startup: bundled.startup ?? 600 }),
];
function results(overrides: {
  ack50?: number;
  ack200Max?: number;
  lagP99?: number;
  busiest?: number;
  rss?: number;
  bundled?: Parameters<typeof footprint>[0];
}): Results {
  return {
    machine: { cpu: 'Test CPU', cores: 2, node: 'v20', date: '2026-11-26' },
    steady: [
      { latencyMs: 0, result: steady(overrides.ack50 ?? 20, overrides.ack200Max ?? 100) },
      { latencyMs: 50, result: steady(15, 90) },
    ],
    lag: [
      { latencyMs: 0, result: flow(overrides.lagP99 ?? 120) },
      { latencyMs: 50, result: flow(100) },
    ],
    burst: { grants: 1000, rateLimit: 10, busiestSecond: overrides.busiest ?? 10, activatedPerSecond: 9.9 },
    throughput: flow(100),
    scale: { grants: 10_000, active: 1000, seedSeconds: 26, reconcileFirstMs: 600, reconcileSteadyMs: 400, rssMb: overrides.rss ?? 187, peakRssMb: 250, startupMs: 1400 },
    footprint: footprint(overrides.bundled ?? {}),
  };
}

test('figures within their targets are reported as met, the worst run deciding', () => {
  const report = renderReport(results({ ack50: 25, lagP99: 500, bundled: { idle: 110, grants: 140, startup: 800 } }));
  expect(report).toContain('Targets: p99 ≤ 25 ms at 50 concurrent (worst 25 ms: met); no request over 3 s at 200 (worst 100 ms: met).');
  expect(report).toContain('Target: p99 ≤ 500 ms (worst 500 ms: met).');
  expect(report).toContain('at most 10 AuthorizeSecurityGroupIngress calls in any one-second window (met)');
  expect(report).toContain('| RSS with the grants recorded (after the start-up pass) | 187 MB | ≤ 200 MB: met |');
  expect(report).toContain(
    '| bundled | 110 MB (105 MB–115 MB) | 130 MB (125 MB–135 MB) | 800 ms (795 ms–805 ms) | 500 ms (495 ms–505 ms) | 300 ms (295 ms–305 ms) | 140 MB (135 MB–145 MB) | 700 ms (695 ms–705 ms) |',
  );
  expect(report).toContain('idle RSS ≤ 110 MB (110 MB: met); RSS with the grants ≤ 140 MB\n(140 MB: met); start-up to ready ≤ 0.8 s (800 ms: met).');
  expect(report).not.toContain('missed');
});

test('a figure past its target is reported as missed', () => {
  const report = renderReport(results({ ack50: 26, ack200Max: 3001, lagP99: 501, busiest: 11, rss: 201, bundled: { idle: 111, grants: 141, startup: 801 } }));
  expect(report).toContain('(worst 26 ms: **missed**)');
  expect(report).toContain('(worst 3001 ms: **missed**)');
  expect(report).toContain('(worst 501 ms: **missed**)');
  expect(report).toContain('in any one-second window (**missed**)');
  expect(report).toContain('| 201 MB | ≤ 200 MB: **missed** |');
  expect(report).toContain('idle RSS ≤ 110 MB (111 MB: **missed**); RSS with the grants ≤ 140 MB\n(141 MB: **missed**); start-up to ready ≤ 0.8 s (801 ms: **missed**).');
});

const backendResult = (backend: BackendName, figures: { lagP99: number; one: number; two: number; reconcileMs?: number }): BackendResult => {
  const load = { start: 3, end: 4 };
  const throughput = (workers: number, rate: number) => ({ workers, result: { ...flow(100), endToEndPerSecond: rate } });
  return {
    backend,
    load: { steady: load, lag: load, 'throughput-1': load, 'throughput-2': load, reconcile: load },
    steady: steady(20, 100),
    lag: flow(figures.lagP99),
    throughput: [throughput(1, figures.one), throughput(2, figures.two)],
    reconcile: { grants: 10_000, active: 1000, seedSeconds: 30, reconcileFirstMs: figures.reconcileMs ?? 900, reconcileSteadyMs: 500 },
  };
};
const withBackends = (backendResults: BackendResult[]): Results => ({ ...results({}), backends: { scale: BACKENDS_SCALES.full, results: backendResults } });

test('backends side by side: revocation lag against 500 ms on every backend, two workers against 1.6× one on PostgreSQL only', () => {
  const report = renderReport(
    withBackends([
      backendResult('sqlite-redis', { lagP99: 500, one: 50, two: 40 }),
      backendResult('pg-redis', { lagP99: 501, one: 20, two: 32 }),
      backendResult('pg', { lagP99: 120, one: 20, two: 31.8, reconcileMs: 2001 }),
    ]),
  );
  expect(report).toContain('| figure | target | SQLite + Redis | PostgreSQL + Redis | PostgreSQL only |');
  expect(report).toContain('| revocation lag p50 / p99 / max | p99 ≤ 500 ms | 50 ms / 500 ms / 500 ms: met | 50 ms / 501 ms / 501 ms: **missed** | 50 ms / 120 ms / 120 ms: met |');
  expect(report).toContain('| two workers ÷ one | ≥ 1.6× on PostgreSQL | 0.80× (not a target) | 1.60×: met | 1.59×: **missed** |');
  expect(report).toContain('| reconcile pass, first / steady | ≤ 2 s | 900 ms / 500 ms: met | 900 ms / 500 ms: met | 2001 ms / 500 ms: **missed** |');
  expect(report).toContain('`npm run bench -- backends --backend sqlite-redis,pg-redis,pg`');
});
