/**
 * The Scheduler port on a BullMQ Queue: enqueues grant and end-sessions jobs and (re)schedules revoke and remind jobs;
 * also the AuditQueue port (audit delivery jobs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditQueue, Clock, Scheduler } from '../../app/ports.js';
import { CacheAccessError, UpstreamError } from '../../domain/errors.js';
import { formatId } from '../../domain/request.js';
import { withinMs } from '../deadline.js';
import { openQueue, SERVICE_NAMES, type JobQueue, type OpenedQueue, type QueueTarget } from './backend.js';
import { JOB_OPTIONS, jobId, QUEUE_NAME, type JobData, type JobName } from './jobs.js';

export type BullmqSchedulerOptions = QueueTarget & {
  /** BullMQ key prefix on Redis, schema on PostgreSQL (backend.ts); the workers must use the same one. */
  prefix?: string;
  clock?: Clock;
  /** How long a call waits for the first connection to the queue's store before failing (later Redis outages fail at once). */
  connectTimeoutMs?: number;
  /** How long scheduleRevoke waits for a running revoke job of the same request to finish. */
  busyWaitMs?: number;
};

const systemClock: Clock = { now: () => new Date() };
const POLL_MS = 50;

export class BullmqScheduler implements Scheduler, AuditQueue {
  private readonly opened: OpenedQueue<JobData, JobName>;
  private readonly queue: JobQueue<JobData, JobName>;
  private readonly clock: Clock;
  private readonly connectTimeoutMs: number;
  private readonly busyWaitMs: number;

  constructor(options: BullmqSchedulerOptions) {
    this.opened = openQueue<JobData, JobName>(QUEUE_NAME, options, options.prefix);
    this.queue = this.opened.queue;
    // Failures reach callers as UpstreamError; without a listener EventEmitter would crash the process instead.
    this.queue.on('error', () => {});
    this.clock = options.clock ?? systemClock;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.busyWaitMs = options.busyWaitMs ?? 30_000;
  }

  async scheduleGrant(requestId: number): Promise<void> {
    await this.run(`schedule the grant of ${formatId(requestId)}`, async () => {
      // BullMQ ignores an add whose job id already exists, which makes this idempotent.
      await this.queue.add('grant', { requestId }, { ...JOB_OPTIONS.grant, jobId: jobId('grant', requestId) });
    });
  }

  async scheduleEndSessions(requestId: number): Promise<void> {
    await this.run(`schedule ending the open sessions of ${formatId(requestId)}`, async () => {
      await this.queue.add('end-sessions', { requestId }, { ...JOB_OPTIONS['end-sessions'], jobId: jobId('end-sessions', requestId) });
    });
  }

  async scheduleRevoke(requestId: number, at: Date): Promise<void> {
    await this.run(`schedule the revocation of ${formatId(requestId)}`, () => this.replaceRevoke(requestId, at, 'wait'));
  }

  async expediteRevoke(requestId: number, at: Date): Promise<'scheduled' | 'running'> {
    return this.run(`move up the revocation of ${formatId(requestId)}`, () => this.replaceRevoke(requestId, at, 'leave'));
  }

  async ensureRevoke(requestId: number, at: Date): Promise<void> {
    await this.run(`ensure the revocation of ${formatId(requestId)}`, () => this.addUnlessExists('revoke', requestId, at));
  }

  async ensureReminder(requestId: number, at: Date): Promise<void> {
    await this.run(`ensure the reminder for ${formatId(requestId)}`, () => this.addUnlessExists('remind', requestId, at));
  }

  async scheduleReminder(requestId: number, at: Date): Promise<void> {
    await this.run(`schedule the reminder for ${formatId(requestId)}`, async () => {
      const id = jobId('remind', requestId);
      const delay = Math.max(0, at.getTime() - this.clock.now().getTime());
      const job = await this.queue.getJob(id);
      // Move a waiting reminder; otherwise drop any leftover (a running one re-reads the request and
      // checks the expiry it reminds of, so a late duplicate says nothing).
      if ((await job?.getState()) === 'delayed' && (await job!.changeDelay(delay).then(() => true, () => false))) return;
      await this.queue.remove(id).catch(() => 0);
      await this.queue.add('remind', { requestId }, { ...JOB_OPTIONS.remind, jobId: id, delay });
    });
  }

  async scheduleAuditDelivery(requestId: number): Promise<void> {
    await this.run(`schedule the audit delivery of ${formatId(requestId)}`, () => this.addAuditJobAfterRunning(requestId));
  }

  async ensureAuditDelivery(requestId: number): Promise<void> {
    await this.run(`ensure the audit delivery of ${formatId(requestId)}`, () => this.addAuditJob(requestId));
  }

  /** Stops using the queue; closes the connection only when this scheduler opened it. */
  async close(): Promise<void> {
    // Cutting the connection during BullMQ's connection handshake leaves an unhandled rejection inside
    // BullMQ (its INFO call fails without an offline queue), so let the handshake end first.
    await this.waitUntilConnected().catch(() => {});
    await this.opened.close(this.connectTimeoutMs);
  }

  /**
   * Leaves exactly one revoke-<id> job, due at `at`, whatever state an older one is in:
   * - delayed: changeDelay moves it atomically, so no crash can leave the request without a revocation;
   *   one that already ran (a failed attempt waiting to retry) is only ever moved up to now;
   * - waiting (already due), or finished but kept: removed, then added afresh;
   * - active: a running job is locked and can be neither moved nor removed, and an add with its id would be
   *   ignored. We wait for it to finish (it either revoked, or found the grant not yet due) and then add the
   *   new job, so the new schedule always happens after the running one. The wait is bounded by busyWaitMs,
   *   so a revoke handler must not reschedule its own request: it would wait for itself and fail. With
   *   `onRunning: 'leave'` it does not wait and answers 'running'.
   * Concurrent calls for the same request are not serialized here; the store's versioning lets only one
   * writer act on a state change.
   */
  private async replaceRevoke(requestId: number, at: Date, onRunning: 'wait' | 'leave'): Promise<'scheduled' | 'running'> {
    const id = jobId('revoke', requestId);
    const deadline = Date.now() + this.busyWaitMs;
    for (;;) {
      if (Date.now() > deadline) {
        throw new UpstreamError(this.opened.service, 'JOB_BUSY', `Job ${id} kept running for more than ${this.busyWaitMs} ms.`, true);
      }
      const delay = Math.max(0, at.getTime() - this.clock.now().getTime());
      const state = await this.queue.getJobState(id);
      if (state === 'unknown') {
        await this.queue.add('revoke', { requestId }, { ...JOB_OPTIONS.revoke, jobId: id, delay });
        return 'scheduled';
      }
      if (state === 'active') {
        if (onRunning === 'leave') return 'running';
        await sleep(POLL_MS);
      } else if (state === 'delayed') {
        const job = await this.queue.getJob(id);
        // A job that has run is waiting to retry an end that was already due: it may come sooner, never later.
        if (job && job.attemptsMade > 0 && delay > 0) return 'scheduled';
        // Fails when the job was promoted or taken meanwhile; the next round sees its new state.
        const moved = await job?.changeDelay(delay).then(
          () => true,
          () => false,
        );
        if (moved) return 'scheduled';
      } else {
        // 0 when a worker took it meanwhile; the next round sees it active.
        await this.queue.remove(id);
      }
    }
  }

  /**
   * Leaves a job `audit-<id>` that has yet to read the request's undelivered events. A waiting job, or
   * one delayed for a retry, reads them when it runs, so it is left alone. A running one may already
   * have read them: the add would be ignored while it exists, so we wait for it to finish (bounded by
   * busyWaitMs; past that the next sweep of the backlog queues the delivery) and then add a new one.
   */
  private async addAuditJobAfterRunning(requestId: number): Promise<void> {
    const deadline = Date.now() + this.busyWaitMs;
    while ((await this.queue.getJobState(jobId('audit', requestId))) === 'active') {
      if (Date.now() > deadline) return;
      await sleep(POLL_MS);
    }
    await this.addAuditJob(requestId);
  }

  /** BullMQ ignores the add while `audit-<id>` exists, whatever its state. */
  private async addAuditJob(requestId: number): Promise<void> {
    await this.queue.add('audit', { requestId }, { ...JOB_OPTIONS.audit, jobId: jobId('audit', requestId) });
  }

  /** Adds `<name>-<id>` due at `at`; a no-op while that job exists in any state, so an existing schedule is never moved. */
  private async addUnlessExists(name: 'revoke' | 'remind', requestId: number, at: Date): Promise<void> {
    const delay = Math.max(0, at.getTime() - this.clock.now().getTime());
    await this.queue.add(name, { requestId }, { ...JOB_OPTIONS[name], jobId: jobId(name, requestId), delay });
  }

  private async run<T>(action: string, operation: () => Promise<T>): Promise<T> {
    try {
      await this.waitUntilConnected();
      return await operation();
    } catch (error) {
      this.opened.repair();
      if (error instanceof CacheAccessError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new UpstreamError(this.opened.service, 'QUEUE_UNAVAILABLE', `Could not ${action}: ${reason}`, true);
    }
  }

  /** BullMQ waits for the first connection without limit even with the offline queue disabled; we don't. */
  private async waitUntilConnected(): Promise<void> {
    await withinMs(
      this.queue.waitUntilReady(),
      this.connectTimeoutMs,
      () => new UpstreamError(this.opened.service, 'CONNECT_TIMEOUT', `${SERVICE_NAMES[this.opened.service]} did not answer within ${this.connectTimeoutMs} ms.`, true),
    );
  }
}
