/**
 * Runs the reconciler every `everyMs`: as a BullMQ job scheduler, so several worker processes sharing
 * one Redis run one pass per interval between them, plus an in-process watchdog with the same period.
 * The watchdog matters when Redis loses its data (FLUSHALL, a failover without persistence): the job
 * scheduler is gone then, so the watchdog runs the pass itself and re-creates the scheduler, and no
 * expiry waits longer than one interval for its repair.
 */
import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { settlesWithin, withinMs } from '../deadline.js';
import { createProducerConnection, createWorkerConnection, reconnectIfStale, settled } from './connection.js';

const MAINTENANCE_QUEUE = 'cache-access-maintenance';
const SCHEDULER_ID = 'reconcile';

export interface ReconcileScheduleOptions {
  url: string;
  prefix?: string;
  everyMs: number;
  /** One reconcile pass; its own errors are its own (it reports them), this only logs a throw. */
  run: () => Promise<unknown>;
  logger: Logger;
}

export interface ReconcileSchedule {
  close(timeoutMs: number): Promise<void>;
}

export function startReconcileSchedule({ url, prefix, everyMs, run, logger }: ReconcileScheduleOptions): ReconcileSchedule {
  let running: Promise<void> | undefined;
  // Passes never overlap within a process; across processes they are safe anyway (idempotent repairs).
  const runOnce = (trigger: string): Promise<void> =>
    (running ??= run()
      .then(() => undefined)
      .catch((error: unknown) => logger.error({ err: error, trigger }, 'reconcile pass failed'))
      .finally(() => {
        running = undefined;
      }));

  const producer = createProducerConnection(url);
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: producer, prefix, skipVersionCheck: true });
  queue.on('error', () => {}); // Redis outages are handled by the watchdog below
  const workerConnection = createWorkerConnection(url);
  const worker = new Worker(MAINTENANCE_QUEUE, () => runOnce('scheduler'), { connection: workerConnection, prefix, concurrency: 1, skipVersionCheck: true });
  worker.on('error', (error) => logger.warn({ err: error }, 'reconcile worker error'));

  const ensureScheduler = () =>
    queue.upsertJobScheduler(SCHEDULER_ID, { every: everyMs }, { name: SCHEDULER_ID, opts: { removeOnComplete: true, removeOnFail: true } });

  const watchdog = setInterval(() => {
    // BullMQ waits for a connection without limit (it never answers while Redis is down), so bound it.
    const limitMs = Math.min(everyMs, 5_000);
    void withinMs(queue.getJobScheduler(SCHEDULER_ID), limitMs, () => new Error(`Redis did not answer within ${limitMs} ms`))
      .then(async (existing) => {
        if (existing) return;
        logger.warn('reconcile scheduler missing from Redis (data lost?): running a pass and re-creating it');
        await Promise.all([runOnce('watchdog'), ensureScheduler()]);
      })
      .catch((error: unknown) => {
        reconnectIfStale(producer);
        logger.warn({ err: error }, 'Redis unreachable: running the reconcile pass in-process');
        return runOnce('watchdog');
      });
  }, everyMs);
  watchdog.unref();
  ensureScheduler().catch((error: unknown) => logger.warn({ err: error }, 'could not create the reconcile scheduler yet'));

  return {
    async close(timeoutMs: number): Promise<void> {
      clearInterval(watchdog);
      await Promise.all([
        settled(producer, timeoutMs),
        settlesWithin(worker.waitUntilReady(), timeoutMs),
      ]);
      const inTime = await settlesWithin(Promise.allSettled([worker.close(), queue.close(), running]), timeoutMs);
      for (const connection of [workerConnection, producer]) {
        // QUIT lets replies in flight arrive; past the deadline (Redis gone) only a hard disconnect ends it.
        if (inTime) await connection.quit().catch(() => connection.disconnect());
        else connection.disconnect();
      }
    },
  };
}
