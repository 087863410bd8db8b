/**
 * The reconcile schedule's watchdog on real Redis and real PostgreSQL, one fresh queue prefix (a schema on
 * PostgreSQL) per test. BullMQ adds a job scheduler's next run right after a worker takes the current one
 * (Worker.moveToActive, then nextJobFromJobData): a worker that dies between the two leaves the current run
 * locked for lockDuration (30 s) and no next run, so no pass would come until BullMQ's stalled check hands
 * the run back. The dead worker here does exactly the first step (the backend's moveToActive) and stops.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPostgresBackend, Worker } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, expect, inject, onTestFinished, test, vi } from 'vitest';
import { openQueue, postgresSchemaOf, type QueueTarget } from '../../src/adapters/queue/backend.js';
import { MAINTENANCE_QUEUE, RECONCILE_SCHEDULER_ID, startReconcileSchedule } from '../../src/adapters/queue/reconcile-schedule.js';
import { OVERDUE_MARGIN_MS } from '../../src/adapters/queue/schedule-verdict.js';
import { systemClock } from '../../src/wiring.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';

const EVERY_MS = 1_000;
// The watchdog looks every EVERY_MS and calls a run overdue once it has waited more than OVERDUE_MARGIN_MS while
// the schedule's worker was free, so a pass starts within OVERDUE_MARGIN_MS + EVERY_MS of that worker's pass
// ending; the rest is room for a loaded machine. BullMQ alone would need lockDuration (30 s).
const REPAIR_BOUND_MS = OVERDUE_MARGIN_MS + EVERY_MS + 3_000;

let database: PostgresDatabase;
beforeAll(async () => void (database = await freshPostgresDatabase(inject('postgresUrl'))));
afterAll(() => database?.drop());

const targets: Record<'redis' | 'postgres', () => QueueTarget> = {
  redis: () => ({ url: inject('redisUrl') }),
  postgres: () => ({ postgres: { url: database.url } }),
};

/** A worker that takes one run, as BullMQ's Worker does first, and never adds the next run nor renews the lock. */
async function takeAndDie(target: QueueTarget, prefix: string): Promise<string | undefined> {
  const options = { autorun: false };
  const worker =
    'postgres' in target
      ? new Worker(MAINTENANCE_QUEUE, null, { ...options, connection: { connectionString: target.postgres.url, schema: postgresSchemaOf(prefix), max: 1 } }, createPostgresBackend)
      : new Worker(MAINTENANCE_QUEUE, null, { ...options, connection: { url: (target as { url: string }).url }, prefix });
  try {
    await worker.waitUntilReady();
    const [, jobId] = (await worker.backend.moveToActive(`dead-${randomUUID()}`)) as [unknown, string | undefined];
    return jobId || undefined;
  } finally {
    await worker.close(true);
  }
}

test.each(['redis', 'postgres'] as const)(
  '%s: a run taken by a worker that died before adding the next one is noticed and repaired within the overdue margin and an interval, with a warning',
  async (kind) => {
    const target = targets[kind]();
    const prefix = `test-${randomUUID()}`;
    const warnings: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const passes: number[] = [];
    let releaseFirstPass!: () => void;
    const firstPassHeld = new Promise<void>((resolve) => (releaseFirstPass = resolve));
    const run = async () => {
      passes.push(Date.now());
      if (passes.length === 1) await firstPassHeld;
    };
    const schedule = startReconcileSchedule({ ...target, prefix, everyMs: EVERY_MS, run, logger, clock: systemClock });
    onTestFinished(() => schedule.close(5_000));
    const inspector = openQueue<unknown, string>(MAINTENANCE_QUEUE, target, prefix);
    onTestFinished(() => inspector.close(1_000));
    const nextRun = async () => (await inspector.queue.getJobScheduler(RECONCILE_SCHEDULER_ID))?.next ?? undefined;

    // The schedule's own worker (concurrency 1) takes the first run and stays in its pass, so it cannot take the next.
    await vi.waitFor(() => expect(passes).toHaveLength(1), { timeout: 10_000 });
    const dueAt = await nextRun();
    expect(dueAt).toBeDefined();
    await sleep(Math.max(0, dueAt! - Date.now()));
    // When due, another worker takes that next run and dies.
    let taken: string | undefined;
    await vi.waitFor(async () => expect((taken = await takeAndDie(target, prefix))).toBeDefined(), { timeout: 3_000, interval: 20 });
    expect(taken).toBe(`repeat:${RECONCILE_SCHEDULER_ID}:${dueAt}`);
    releaseFirstPass();
    const releasedAt = Date.now();

    await vi.waitFor(() => expect(passes.length).toBeGreaterThanOrEqual(2), { timeout: REPAIR_BOUND_MS + 1_000, interval: 50 });
    expect(passes[1]! - releasedAt).toBeLessThanOrEqual(REPAIR_BOUND_MS);
    expect(warnings).toContainEqual(
      expect.objectContaining({ msg: expect.stringContaining('reconcile scheduler overdue'), dueAt: new Date(dueAt!).toISOString(), lateMs: expect.any(Number) }),
    );
    // The schedule runs by itself again: the schedule's worker takes the re-created run and adds the one after
    // it (the next-run time advances once more), and its pass runs. The stalled run is still held meanwhile:
    // the repair did not wait for BullMQ's stalled check.
    let repairedNext = 0;
    await vi.waitFor(async () => expect((repairedNext = (await nextRun())!)).toBeGreaterThan(dueAt!), { timeout: 2_000, interval: 50 });
    await vi.waitFor(async () => expect(await nextRun()).toBeGreaterThan(repairedNext), { timeout: 2 * EVERY_MS + 2_000, interval: 50 });
    await vi.waitFor(() => expect(passes.length).toBeGreaterThanOrEqual(3), { timeout: 2_000, interval: 50 });
    expect(await inspector.queue.getJobState(taken!)).toBe('active');
  },
  30_000,
);
