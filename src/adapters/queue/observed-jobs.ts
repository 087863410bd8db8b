/**
 * Wraps the job handlers with what operators need from them: a logger carrying the request (grant)
 * id and job for every line the job logs, its duration by outcome, and for a revoke that ends a grant
 * at expiry, the revocation lag (actual end minus expiry).
 */
import type { Logger } from 'pino';
import type { GrantStore, JobAttempt } from '../../app/ports.js';
import type { Metrics } from '../metrics.js';
import type { JobHandler } from './workers.js';

export type LoggedJobHandler = (requestId: number, attempt: JobAttempt, logger: Logger) => Promise<void>;

export function observedJob(job: string, handler: LoggedJobHandler, context: { logger: Logger; metrics: Metrics; store: GrantStore }): JobHandler {
  const { logger, metrics, store } = context;
  return async (requestId, attempt) => {
    const log = logger.child({ requestId, job, attempt: attempt.attemptsMade + 1 });
    const wasActive = job === 'revoke' && (await store.get(requestId))?.status === 'active';
    const stopTimer = metrics.jobDuration.startTimer({ job });
    try {
      await handler(requestId, attempt, log);
      stopTimer({ outcome: 'ok' });
    } catch (error) {
      stopTimer({ outcome: 'error' });
      throw error;
    }
    if (wasActive) {
      const ended = await store.get(requestId);
      if (ended?.status === 'expired' && ended.endedAt && ended.expiresAt) {
        metrics.revocationLag.observe(Math.max(0, ended.endedAt.getTime() - ended.expiresAt.getTime()) / 1000);
      }
    }
  };
}
