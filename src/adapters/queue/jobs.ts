/**
 * The contract between the scheduler (producer) and the workers: queue and job names, job ids, job data,
 * retry options. Both sides import it so they cannot drift apart.
 */
import type { JobsOptions } from 'bullmq';

export const QUEUE_NAME = 'cache-access';

export const JOB_NAMES = ['grant', 'revoke', 'remind', 'end-sessions', 'audit'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** Only the id: handlers load the request from the store, so a job never acts on stale data. */
export interface JobData {
  requestId: number;
}

/**
 * `grant-42`, `revoke-42`, `remind-42`, `end-sessions-42`, `audit-42`: one job per request and kind, so a repeated add is a no-op while the job exists.
 * BullMQ rejects custom ids that are integers or contain ':' (Job.validateOptions), hence the hyphen.
 */
export function jobId(name: JobName, requestId: number): string {
  return `${name}-${requestId}`;
}

export function isJobName(name: string): name is JobName {
  return (JOB_NAMES as readonly string[]).includes(name);
}

/** The custom backoff type of revoke jobs; the workers' `settings.backoffStrategy` computes it. */
export const REVOKE_BACKOFF_TYPE = 'revoke-capped';
const REVOKE_BACKOFF_CAP_MS = 60_000;

/** The custom backoff type of audit jobs: the same capped curve as revocations. */
export const AUDIT_BACKOFF_TYPE = 'audit-capped';

/**
 * 1 s, 2 s, 4 s … then every 60 s: a revocation keeps trying without hammering AWS, and an audit
 * delivery resumes within a minute of its receiver coming back, however long it was down.
 */
export function revokeRetryDelayMs(attemptsMade: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), REVOKE_BACKOFF_CAP_MS);
}

/**
 * Finished jobs are removed (the SQLite history and the logs are the record): a completed or failed job left
 * in Redis would keep its id taken and silently swallow a later legitimate re-enqueue, e.g. by the reconciler.
 */
const REMOVE_WHEN_FINISHED = { removeOnComplete: true, removeOnFail: true } as const;

/**
 * Revocations go first: BullMQ runs jobs without a priority before prioritized ones, so grant and
 * reminder jobs carry one. A burst of grants then never delays an access that is due to end.
 */
export const JOB_OPTIONS: Readonly<Record<JobName, JobsOptions>> = {
  // About 31 s of retries (1+2+4+8+16 s) before the request is marked failed.
  grant: { ...REMOVE_WHEN_FINISHED, priority: 1, attempts: 6, backoff: { type: 'exponential', delay: 1000 } },
  // A revocation must never give up: a billion attempts at most a minute apart outlasts any outage.
  revoke: { ...REMOVE_WHEN_FINISHED, attempts: 1_000_000_000, backoff: { type: REVOKE_BACKOFF_TYPE } },
  // A reminder is a courtesy: a few tries through a Slack hiccup, then it is dropped.
  remind: { ...REMOVE_WHEN_FINISHED, priority: 2, attempts: 3, backoff: { type: 'exponential', delay: 2000 } },
  // Retries AWS and Secrets Manager look-ups (1+2+4+8 s); the nodes themselves are retried inside the job.
  'end-sessions': { ...REMOVE_WHEN_FINISHED, priority: 1, attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
  // An audit event is never dropped: its job retries without end (the events wait in the database anyway).
  audit: { ...REMOVE_WHEN_FINISHED, priority: 3, attempts: 1_000_000_000, backoff: { type: AUDIT_BACKOFF_TYPE } },
};
