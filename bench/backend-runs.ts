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
  /** `uptime`'s load averages (1, 5, 15 min) before the backend's first run and after its last. */
  loadAverage: { start: number[]; end: number[] };
  steady: SteadyResult;
  lag: FlowResult;
  throughput: Array<{ workers: number; result: FlowResult }>;
  reconcile: ReconcileResult;
}

export interface BackendsResult {
  scale: BackendsScale;
  results: BackendResult[];
}

export async function backendsRun(backends: BenchBackend[], scale: BackendsScale, step: (what: string) => void): Promise<BackendsResult> {
  const results: BackendResult[] = [];
  for (const backend of backends) {
    const start = loadAverage();
    step(`${backend.name}: ack at 50 concurrent and approve → Authorize (load ${start.join(' ')})`);
    const steady = await steadyRun(backend, 0, { levels: scale.ackLevels, approvals: scale.approvals });
    step(`${backend.name}: revocation lag, ${scale.lagGrants} grants expiring over ${scale.lagSpreadSeconds} s (load ${loadAverage().join(' ')})`);
    const spread = (i: number) => 10 + (i % scale.lagSpreadSeconds);
    const lag = await flowRun(backend, { latencyMs: 0, rateLimit: LAG_RATE_LIMIT, grants: scale.lagGrants, durationOf: spread });
    const throughput = [];
    for (const workers of WORKER_COUNTS) {
      step(`${backend.name}: throughput, one web and ${workers} worker process(es) (load ${loadAverage().join(' ')})`);
      throughput.push({ workers, result: await flowRun(backend, { latencyMs: 0, rateLimit: 1000, grants: scale.throughputGrants, durationOf: () => 1, workers }) });
    }
    step(`${backend.name}: reconcile passes over ${scale.reconcileGrants} recorded grants (load ${loadAverage().join(' ')})`);
    const reconcile = await reconcileOn(backend, scale);
    results.push({ backend: backend.name, loadAverage: { start, end: loadAverage() }, steady, lag, throughput, reconcile });
  }
  return { scale, results };
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
