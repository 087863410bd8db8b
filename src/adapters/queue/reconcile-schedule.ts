/**
 * Runs the reconciler every `everyMs`: as a BullMQ job scheduler, so several worker processes sharing
 * one Redis (or one PostgreSQL queue schema) run one pass per interval between them, plus an in-process
 * watchdog with the same period. The watchdog matters when the queue store loses its data (FLUSHALL, a
 * failover without persistence) or cannot be reached, or when the scheduler's next run is overdue (a
 * worker died between taking a run and adding the next: see schedule-verdict.ts). The job scheduler is
 * gone, silent or stalled then, so the watchdog runs the pass itself and re-creates the scheduler's next
 * run, and no expiry waits much longer than one interval for its repair.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../app/ports.js';
import { settlesWithin, withinMs } from '../deadline.js';
import { openQueue, openWorker, SERVICE_NAMES, type QueueTarget } from './backend.js';
import { judgeSchedule } from './schedule-verdict.js';

export const MAINTENANCE_QUEUE = 'cache-access-maintenance';
export const RECONCILE_SCHEDULER_ID = 'reconcile';

export type ReconcileScheduleOptions = QueueTarget & {
  /** BullMQ key prefix on Redis, schema on PostgreSQL. */
  prefix?: string;
  everyMs: number;
  /** One reconcile pass; its own errors are its own (it reports them), this only logs a throw. */
  run: () => Promise<unknown>;
  logger: Logger;
  /** The job queue's time: BullMQ stamps runs with the system clock, so not a use-case clock a test moves. */
  clock: Clock;
};

export interface ReconcileSchedule {
  close(timeoutMs: number): Promise<void>;
}

export function startReconcileSchedule(options: ReconcileScheduleOptions): ReconcileSchedule {
  const { prefix, everyMs, run, logger, clock } = options;
  let running: Promise<void> | undefined;
  let lastPassEndedMs: number | undefined;
  // Passes never overlap within a process; across processes they are safe anyway (idempotent repairs).
  const runOnce = (trigger: string): Promise<void> =>
    (running ??= run()
      .then(() => undefined)
      .catch((error: unknown) => logger.error({ err: error, trigger }, 'reconcile pass failed'))
      .finally(() => {
        running = undefined;
        lastPassEndedMs = clock.now().getTime();
      }));

  const producer = openQueue<unknown, string>(MAINTENANCE_QUEUE, options, prefix);
  const { queue } = producer;
  queue.on('error', () => {}); // outages are handled by the watchdog below
  const consumer = openWorker<unknown, string>(MAINTENANCE_QUEUE, () => runOnce('scheduler'), options, prefix, { concurrency: 1, skipVersionCheck: true });
  const { worker } = consumer;
  worker.on('error', (error) => logger.warn({ err: error }, 'reconcile worker error'));

  const ensureScheduler = () =>
    queue.upsertJobScheduler(RECONCILE_SCHEDULER_ID, { every: everyMs }, { name: RECONCILE_SCHEDULER_ID, opts: { removeOnComplete: true, removeOnFail: true } });

  const watchdog = setInterval(() => {
    // BullMQ waits for a connection without limit (it never answers while Redis is down), so bound it.
    const limitMs = Math.min(everyMs, 5_000);
    void withinMs(queue.getJobScheduler(RECONCILE_SCHEDULER_ID), limitMs, () => new Error(`${SERVICE_NAMES[producer.service]} did not answer within ${limitMs} ms`))
      .then(async (scheduler) => {
        const verdict = judgeSchedule(scheduler, { nowMs: clock.now().getTime(), passRunning: running !== undefined, lastPassEndedMs });
        if (verdict.kind === 'ok') return;
        if (verdict.kind === 'missing') {
          logger.warn({ queue: producer.service }, 'reconcile scheduler missing from the job queue (data lost?): running a pass and re-creating it');
        } else {
          // Re-creating is safe beside other processes doing the same: BullMQ replaces a run not yet taken, and
          // the stalled run, when handed back later, may no longer add a next run (it is not the current one).
          const dueAt = new Date(verdict.dueAt).toISOString();
          logger.warn(
            { queue: producer.service, dueAt, lateMs: verdict.lateMs },
            'reconcile scheduler overdue (its run taken by a worker that stopped?): running a pass and re-creating its next run',
          );
        }
        await Promise.all([runOnce('watchdog'), ensureScheduler()]);
      })
      .catch((error: unknown) => {
        producer.repair();
        logger.warn({ err: error, queue: producer.service }, 'job queue unreachable: running the reconcile pass in-process');
        return runOnce('watchdog');
      });
  }, everyMs);
  watchdog.unref();
  ensureScheduler().catch((error: unknown) => logger.warn({ err: error }, 'could not create the reconcile scheduler yet'));

  return {
    async close(timeoutMs: number): Promise<void> {
      clearInterval(watchdog);
      await settlesWithin(worker.waitUntilReady(), timeoutMs);
      const inTime = await settlesWithin(Promise.allSettled([worker.close(), producer.close(timeoutMs), running]), timeoutMs);
      // Past the deadline (the store gone) only dropping the connections ends them.
      if (inTime) {
        await consumer.release();
      } else {
        consumer.cutOff();
        producer.cutOff();
      }
    },
  };
}
