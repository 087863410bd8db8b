/**
 * `npm run bench -- backends`: the same figures on each way of keeping records and jobs (bench/backends.ts),
 * one backend after the other, with the machine's load beside each (the cores are shared).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendName, BenchBackend } from './backends.js';
import { loadAverage } from './machine.js';
import { flowRun, reconcilePasses, steadyRun, type AckLevel, type FlowResult, type ReconcileResult, type SteadyResult } from './scenarios.js';

/** How much each run does: `full` as the issue states the figures, `quick` to check the harness works. */
export interface BackendsScale {
  name: 'full' | 'quick';
  ackLevels: AckLevel[];
  /** Approve → Authorize, one click at a time. */
  approvals: number;
  lagGrants: number;
  /** Expiries spread over this many seconds, from 10 s after activation. */
  lagSpreadSeconds: number;
  throughputGrants: number;
  reconcileGrants: number;
  reconcileActive: number;
}

export const BACKENDS_SCALES: Readonly<Record<BackendsScale['name'], BackendsScale>> = {
  full: {
    name: 'full',
    ackLevels: [{ concurrency: 50, rounds: 4 }],
    approvals: 100,
    lagGrants: 1000,
    lagSpreadSeconds: 60,
    throughputGrants: 1000,
    reconcileGrants: 10_000,
    reconcileActive: 1000,
  },
  quick: {
    name: 'quick',
    ackLevels: [{ concurrency: 50, rounds: 1 }],
    approvals: 10,
    lagGrants: 100,
    lagSpreadSeconds: 10,
    throughputGrants: 100,
    reconcileGrants: 500,
    reconcileActive: 50,
  },
};

/** The worker processes of the throughput runs (beside one web process). */
export const WORKER_COUNTS = [1, 2] as const;

/** The EC2 rate limit of the lag runs: 1,000 expiries in 60 s need about 17 revokes a second (BENCHMARKS.md). */
export const LAG_RATE_LIMIT = 50;

export interface BackendResult {
  backend: BackendName;
  /** `uptime`'s 1-minute load average at the start and the end of each of the backend's runs. */
  load: Record<RunName, { start: number; end: number }>;
  steady: SteadyResult;
  lag: FlowResult;
  throughput: Array<{ workers: number; result: FlowResult }>;
  reconcile: ReconcileResult;
}

export type RunName = 'steady' | 'lag' | 'throughput-1' | 'throughput-2' | 'reconcile';

export interface BackendsResult {
  scale: BackendsScale;
  results: BackendResult[];
}

/**
 * Figure by figure, each over every backend in turn, so the backends of one figure see about the same
 * machine (the cores are shared and the load moves over minutes). Each run's figures are also logged as
 * it ends, so an interrupted bench still leaves them.
 */
export async function backendsRun(backends: BenchBackend[], scale: BackendsScale, step: (what: string) => void): Promise<BackendsResult> {
  type Partly = Partial<Omit<BackendResult, 'load'>> & { load: Partial<BackendResult['load']> };
  const partial = new Map(backends.map((b): [BackendName, Partly] => [b.name, { backend: b.name, load: {}, throughput: [] }]));
  const timed = async <T>(backend: BenchBackend, run: RunName, what: string, measure: () => Promise<T>): Promise<T> => {
    const start = loadAverage()[0];
    step(`${backend.name}: ${what} (load ${loadAverage().join(' ')})`);
    const result = await measure();
    partial.get(backend.name)!.load[run] = { start, end: loadAverage()[0] };
    step(`${backend.name}: ${run} done: ${JSON.stringify(result)}`);
    return result;
  };
  for (const backend of backends) {
    partial.get(backend.name)!.steady = await timed(backend, 'steady', 'ack at 50 concurrent and approve → Authorize', () =>
      steadyRun(backend, 0, { levels: scale.ackLevels, approvals: scale.approvals }),
    );
  }
  const spread = (i: number) => 10 + (i % scale.lagSpreadSeconds);
  for (const backend of backends) {
    partial.get(backend.name)!.lag = await timed(backend, 'lag', `revocation lag, ${scale.lagGrants} grants expiring over ${scale.lagSpreadSeconds} s`, () =>
      flowRun(backend, { latencyMs: 0, rateLimit: LAG_RATE_LIMIT, grants: scale.lagGrants, durationOf: spread }),
    );
  }
  for (const workers of WORKER_COUNTS) {
    for (const backend of backends) {
      const result = await timed(backend, `throughput-${workers}`, `throughput, one web and ${workers} worker process(es)`, () =>
        flowRun(backend, { latencyMs: 0, rateLimit: 1000, grants: scale.throughputGrants, durationOf: () => 1, workers }),
      );
      partial.get(backend.name)!.throughput!.push({ workers, result });
    }
  }
  for (const backend of backends) {
    partial.get(backend.name)!.reconcile = await timed(backend, 'reconcile', `reconcile passes over ${scale.reconcileGrants} recorded grants`, () => reconcileOn(backend, scale));
  }
  return { scale, results: backends.map((b) => partial.get(b.name) as BackendResult) };
}
async function reconcileOn(backend: BenchBackend, scale: BackendsScale): Promise<ReconcileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-bench-'));
  const prepared = await backend.prepare(dir);
  try {
    return await reconcilePasses(prepared, dir, scale.reconcileGrants, scale.reconcileActive);
  } finally {
    await prepared.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
