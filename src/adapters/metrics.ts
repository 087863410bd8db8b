/**
 * Every Prometheus metric cache-access exports, in a registry of its own per bot (several bots can
 * run in one process). Counters and histograms are fed at the edges (AWS port decorators, the Slack
 * Web API client, the job handlers); the gauges are read from the database and the queue on scrape,
 * so any process (web or worker role) reports the same numbers.
 */
import type { CustomRoute } from '@slack/bolt';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STATUSES } from '../domain/request.js';

/** Where the gauges come from. Each is read on scrape; one that fails is left out of that scrape. */
export interface MetricSources {
  /** Requests by current status. */
  requestsByStatus(): Promise<Record<string, number>>;
  /** Decisions recorded, by kind (approved, denied). */
  decisions(): Promise<Record<string, number>>;
  /** Active grants whose expiry has passed: revocations that should have happened. */
  overdueRevocations(): Promise<number>;
  /** Jobs by state (waiting, delayed, active, failed); absent in a process without a queue. */
  queueDepths?(): Promise<Record<string, number>>;
  /** Events the audit webhook has not acknowledged, and how long ago the oldest happened; absent without a webhook. */
  auditBacklog?(): Promise<{ undelivered: number; oldestAgeSeconds: number }>;
}

export const JOB_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds past expiry: a healthy revocation lands within a few seconds; minutes mean trouble. */
export const REVOCATION_LAG_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

export class Metrics {
  readonly registry = new Registry();
  readonly jobDuration: Histogram<'job' | 'outcome'>;
  readonly revocationLag: Histogram;
  readonly awsCalls: Counter<'action' | 'code'>;
  readonly slackApiErrors: Counter<'method' | 'code'>;
  readonly reconcileErrors: Counter<'step'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const safely = async (read: () => Promise<void>) => {
      try {
        await read();
      } catch {
        // A scrape while the database is unavailable still reports everything else.
      }
    };
    new Gauge({
      name: 'cache_access_requests',
      help: 'Access requests by status (terminal statuses only ever grow: rate() gives outcomes per second).',
      labelNames: ['status'],
      registers,
      collect() {
        return safely(async () => {
          const counts = await sources.requestsByStatus();
          for (const status of STATUSES) this.set({ status }, counts[status] ?? 0);
        });
      },
    });
    new Gauge({
      name: 'cache_access_decisions',
      help: 'Approver decisions recorded, by decision.',
      labelNames: ['decision'],
      registers,
      collect() {
        return safely(async () => {
          const counts = await sources.decisions();
          for (const decision of ['approved', 'denied']) this.set({ decision }, counts[decision] ?? 0);
        });
      },
    });
    new Gauge({
      name: 'cache_access_grants_active',
      help: 'Grants whose ingress rule is in place now.',
      registers,
      collect() {
        return safely(async () => this.set((await sources.requestsByStatus()).active ?? 0));
      },
    });
    new Gauge({
      name: 'cache_access_revocations_overdue',
      help: 'Active grants past their expiry (alert when this stays above 0 for minutes).',
      registers,
      collect() {
        return safely(async () => this.set(await sources.overdueRevocations()));
      },
    });
    if (sources.queueDepths) {
      const queueDepths = sources.queueDepths;
      new Gauge({
        name: 'cache_access_queue_jobs',
        help: 'Grant and revoke jobs in the queue, by state.',
        labelNames: ['state'],
        registers,
        async collect() {
          try {
            for (const [state, count] of Object.entries(await queueDepths())) this.set({ state }, count);
          } catch {
            // Redis unreachable: /readyz says so; the series is simply missing from this scrape.
          }
        },
      });
    }
    if (sources.auditBacklog) {
      const auditBacklog = sources.auditBacklog;
      // One reading sets both; the first registered is collected first, so it does the reading.
      new Gauge({
        name: 'cache_access_audit_events_undelivered',
        help: 'Events of the event log the audit webhook has not acknowledged yet (they are retried until it does).',
        registers,
        async collect() {
          try {
            const backlog = await auditBacklog();
            this.set(backlog.undelivered);
            oldestUndelivered.set(backlog.oldestAgeSeconds);
          } catch {
            // The database unavailable: both series keep their last value for this scrape.
          }
        },
      });
      const oldestUndelivered = new Gauge({
        name: 'cache_access_audit_oldest_undelivered_seconds',
        help: 'Age of the oldest event the audit webhook has not acknowledged; 0 when none waits.',
        registers,
      });
    }
    this.jobDuration = new Histogram({
      name: 'cache_access_job_duration_seconds',
      help: 'Time a grant or revoke job attempt took, by outcome (ok, error).',
      labelNames: ['job', 'outcome'],
      buckets: JOB_DURATION_BUCKETS,
      registers,
    });
    this.revocationLag = new Histogram({
      name: 'cache_access_revocation_lag_seconds',
      help: 'Actual revocation time minus the grant expiry, for grants that ended at expiry.',
      buckets: REVOCATION_LAG_BUCKETS,
      registers,
    });
    this.awsCalls = new Counter({
      name: 'cache_access_aws_calls_total',
      help: 'Calls to AWS through the firewall and cluster directory, by action and error code (ok when none).',
      labelNames: ['action', 'code'],
      registers,
    });
    this.slackApiErrors = new Counter({
      name: 'cache_access_slack_api_errors_total',
      help: 'Failed Slack Web API calls (after the client’s own retries), by method and error; rate limits by method as ratelimited.',
      labelNames: ['method', 'code'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'cache_access_reconcile_errors_total',
      help: 'Reconcile steps, or items of a step (an account and region, a rule), that failed; the next pass tries again.',
      labelNames: ['step'],
      registers,
    });
  }

  /** Counts what a reconcile pass could not do. */
  countReconcileErrors(errors: ReadonlyArray<{ step: string }>): void {
    for (const { step } of errors) this.reconcileErrors.inc({ step });
  }
}

/** GET /metrics in the Prometheus text format. */
export function metricsRoute(metrics: Metrics): CustomRoute {
  return {
    path: '/metrics',
    method: ['GET'],
    handler: (_req, res) => {
      void metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics unavailable: ${(error as Error).message}`);
        },
      );
    },
  };
}
