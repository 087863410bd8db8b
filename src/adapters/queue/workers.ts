/** Runs grant, revoke, remind, end-sessions and audit jobs through the given handlers, deciding which failures BullMQ may retry. */
import { UnrecoverableError, type Job, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { JobAttempt } from '../../app/ports.js';
import { CacheAccessError, UpstreamError } from '../../domain/errors.js';
import { settlesWithin } from '../deadline.js';
import { openWorker, SERVICE_NAMES, type QueueTarget } from './backend.js';
import { isJobName, QUEUE_NAME, revokeRetryDelayMs, type JobData, type JobName } from './jobs.js';

export type JobHandler = (requestId: number, attempt: JobAttempt) => Promise<void>;
/** Audit jobs exist only where an audit webhook is set; a process without one leaves them out. */
export type JobHandlers = Omit<Record<JobName, JobHandler>, 'audit'> & { audit?: JobHandler };

export type WorkersOptions = QueueTarget & {
  /** BullMQ key prefix on Redis, schema on PostgreSQL; the scheduler must use the same one. */
  prefix?: string;
  concurrency?: number;
  handlers: JobHandlers;
  logger: Logger;
};

export interface Workers {
  /** Stops taking jobs and lets running ones finish; after `timeoutMs` cuts the connection instead. */
  close(timeoutMs: number): Promise<void>;
}

export function startWorkers(options: WorkersOptions): Workers {
  const { handlers, logger } = options;
  const processJob = jobProcessor(handlers);
  let cutOff = false;
  // Always a connection of its own: forcing a stuck close means disconnecting it.
  const opened = openWorker<JobData, JobName>(
    QUEUE_NAME,
    // A job still running when close() cut Redis off never reports back: BullMQ would retry recording its
    // outcome on the closed connection without pause, forever, at full CPU (Worker.retryIfFailed skips its
    // delay while closing). Left active, it is retried by another worker once its lock expires.
    async (job) => {
      const outcome = await processJob(job).then(
        () => ({ failed: false as const }),
        (error: unknown) => ({ failed: true as const, error }),
      );
      if (cutOff) return new Promise<never>(() => {});
      if (outcome.failed) throw outcome.error;
    },
    options,
    options.prefix,
    {
      // No skipVersionCheck here, unlike the queues: without the Redis version BullMQ assumes a Redis
      // that only blocks for whole seconds and rounds its wait for the next delayed job up to one, so
      // revocations ran up to a second late (BENCHMARKS.md). This connection waits out outages (offline
      // queue, no retry limit), so its INFO cannot reject the way a producer's can. (PostgreSQL's
      // LISTEN-based wait is timed in milliseconds on its own.)
      skipVersionCheck: false,
      concurrency: options.concurrency ?? 4,
      settings: WORKER_SETTINGS,
    },
  );
  const { worker } = opened;

  worker.on('failed', (job: Job<JobData, void, JobName> | undefined, error: Error) => {
    // finishedOn is set only when BullMQ gives up; otherwise the job is back in the delayed set.
    const final = job?.finishedOn !== undefined;
    logger[final ? 'error' : 'warn'](
      { requestId: job?.data?.requestId, jobId: job?.id, attemptsMade: job?.attemptsMade, err: error },
      final ? 'queue job failed for good' : 'queue job failed; will retry',
    );
  });
  worker.on('error', (error: Error) => logger.error({ err: error }, 'queue worker error'));

  return {
    async close(timeoutMs: number): Promise<void> {
      // Includes BullMQ's own blocking connection, which it opens after ours.
      await settlesWithin(worker.waitUntilReady(), timeoutMs);
      const closed = worker.close().then(
        () => true,
        (error: unknown) => {
          logger.warn({ err: error }, 'queue worker did not close cleanly');
          return true;
        },
      );
      // While Redis is unreachable worker.close() never resolves: it waits for Redis to record the running jobs'
      // outcome, and for an 'end' event ioredis does not emit while reconnecting (bullmq issues #4656, #2430).
      // worker.close(true) would only return that same pending promise, so past the deadline we cut our
      // connection and leave; jobs left active are retried by another worker once their lock expires.
      if (await settlesWithin(closed, timeoutMs)) {
        await opened.release();
      } else {
        logger.warn({ timeoutMs }, `queue workers did not stop in time; disconnecting from ${SERVICE_NAMES[opened.service]}`);
        cutOff = true;
        opened.cutOff();
      }
    },
  };
}

/** Only revoke and audit jobs use a custom backoff type (the same curve); grant and remind jobs use BullMQ's built-in exponential one. */
export const WORKER_SETTINGS: WorkerOptions['settings'] = { backoffStrategy: (attemptsMade: number) => revokeRetryDelayMs(attemptsMade) };

/**
 * Runs one job through its handler, telling the handler whether a retry follows, and turns failures a
 * retry cannot change into UnrecoverableError. Exported for tests that take jobs by hand (Worker.getNextJob).
 */
export function jobProcessor(handlers: JobHandlers): (job: Job<JobData, void, JobName>) => Promise<void> {
  return async (job) => {
    const handler = isJobName(job.name) ? handlers[job.name] : undefined;
    const requestId = job.data?.requestId;
    if (handler === undefined || !Number.isSafeInteger(requestId)) {
      throw new UnrecoverableError(`Job ${job.id} (${job.name}) is not a cache-access job.`);
    }
    const attempt = { attemptsMade: job.attemptsMade, finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1) };
    try {
      await handler(requestId, attempt);
    } catch (error) {
      throw isPermanent(error) ? new UnrecoverableError(`${error.name}: ${error.message}`) : error;
    }
  };
}

/** Refusals and broken invariants won't change on a retry; only retryable upstream failures and unknowns might. */
function isPermanent(error: unknown): error is CacheAccessError {
  if (error instanceof UpstreamError) return !error.retryable;
  return error instanceof CacheAccessError;
}
