/**
 * The composition root: the one place that knows every concrete adapter. `startBot` wires a running
 * bot from a parsed Config (tests and the benchmark call it directly); run as a program, it reads
 * the settings from process.env once and handles signals.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { activate } from './app/activate.js';
import { deliverAuditEvents, queueAuditBacklog } from './app/audit-stream.js';
import type { UseCaseDeps } from './app/deps.js';
import type { JobAttempt } from './app/ports.js';
import { reconcile } from './app/reconcile.js';
import { endSessions } from './app/end-sessions.js';
import { remind } from './app/remind.js';
import { revokeExpired } from './app/revoke.js';
import { openRecords } from './adapters/db/records.js';
import { checkPolicyClusters } from './adapters/aws/startup-check.js';
import { healthRoute, liveRoute, onceSucceeded, readyRoute } from './adapters/health.js';
import { Metrics, metricsRoute } from './adapters/metrics.js';
import { startOpsServer } from './adapters/ops-server.js';
import { openQueue } from './adapters/queue/backend.js';
import { QUEUE_NAME } from './adapters/queue/jobs.js';
import { observedJob } from './adapters/queue/observed-jobs.js';
import { createLogger } from './adapters/logger.js';
import { startReconcileSchedule } from './adapters/queue/reconcile-schedule.js';
import { startWorkers } from './adapters/queue/workers.js';
import { PostAckQueue } from './adapters/slack/post-ack-queue.js';
import { createSlackApp, registerListeners } from './adapters/slack/slack-app.js';
import { workspacesOfToken } from './adapters/slack/workspace-guard.js';
import { WebhookAuditSink } from './adapters/webhook/webhook-sink.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { loadPolicy, type Policy } from './policy.js';
import { withinMs } from './adapters/deadline.js';
import { queueTargetOf, systemClock, wireUseCases, type WiringOptions } from './wiring.js';

export interface RunningBot {
  /**
   * Re-reads POLICY_FILE. Requests, grants and jobs are untouched; the next use-case call sees the new
   * policy. An invalid file is refused (logged, and reported as false) and the policy in force stays.
   */
  reloadPolicy(): boolean;
  /** The HTTP port actually bound (useful when PORT=0). */
  port: number;
  /** Where /readyz and /metrics are served: OPS_PORT's server when set, else `port`. */
  opsPort: number;
  stop(): Promise<void>;
}

/** The longest each step of stop() waits (running jobs, acknowledged Slack work, a connection's handshake). */
export const SHUTDOWN_TIMEOUT_MS = 10_000;
/** How long start-up waits for the job queue's PostgreSQL (connection and schema migration). */
const STARTUP_QUEUE_TIMEOUT_MS = 30_000;
/**
 * Jobs spend their time waiting on AWS and Slack, so many can run at once; the EC2 rate limiter, not
 * this, paces AWS. With 4, revocations topped out near 15/s and lagged seconds behind a burst of
 * expiries (BENCHMARKS.md).
 */
const JOB_CONCURRENCY = 16;

/**
 * Slack work after ack() (look-ups, storing, posting) running at once: a burst of commands queues rather
 * than holding hundreds of flows and their Slack calls in flight. 1 to 16 measured the same acknowledgement
 * times (BENCHMARKS.md); what keeps acks first is that queued work starts on a later event-loop turn.
 */
const POST_ACK_CONCURRENCY = 8;

export interface StartOptions extends Pick<WiringOptions, 'queuePrefix' | 'adapters' | 'clock'> {
  logger?: Logger;
  /** How long stop() waits for running jobs before cutting the queue's connection off. */
  shutdownTimeoutMs?: number;
  /** What this process runs (default all); see ROLES. */
  role?: Role;
}

/**
 * all: everything. web: Slack traffic only (HTTP or Socket Mode, health, metrics); requests are
 * stored and jobs enqueued for workers. worker: jobs and the reconciler, with health and metrics on
 * PORT. Several workers can share one Redis and database.
 */
export const ROLES = ['all', 'web', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export async function startBot(config: Config, options: StartOptions = {}): Promise<RunningBot> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
  // Problems that do not stop a policy loading, such as a roleArn the documented IAM policy cannot assume.
  const logPolicyWarnings = (loaded: Policy) => {
    for (const warning of loaded.warnings) logger.warn({ policyFile: config.policyFile }, warning);
  };
  let policy = loadPolicy(config.policyFile);
  logPolicyWarnings(policy);
  const records = await openRecords(config);
  const { store, reader, auditOutbox } = records;
  // The backlog of the audit stream, for /metrics and /readyz; only with a webhook (without one, nothing is sent).
  const auditBacklog = config.audit && (async () => {
    const { undelivered, oldestAt } = await auditOutbox.backlog();
    const oldestAgeSeconds = oldestAt ? Math.max(0, (systemClock.now().getTime() - oldestAt.getTime()) / 1000) : 0;
    return { undelivered, oldestAgeSeconds };
  });
  const queueTarget = queueTargetOf(config);
  // Queue depths and the health probe share one connection: a scrape never waits on a reconnect.
  const healthQueue = openQueue(QUEUE_NAME, queueTarget, options.queuePrefix);
  healthQueue.queue.on('error', () => {}); // reported through /healthz, not as an unhandled event
  if (healthQueue.service === 'postgres') {
    // BullMQ's PostgreSQL connections migrate their schema on first use and keep a failed first use for
    // good; start only once that worked, or stop here (a restart tries again).
    await withinMs(healthQueue.queue.waitUntilReady(), STARTUP_QUEUE_TIMEOUT_MS, () => new Error(`PostgreSQL did not answer within ${STARTUP_QUEUE_TIMEOUT_MS} ms`)).catch(
      async (error: unknown) => {
        await healthQueue.close(0).catch(() => {});
        await records.close();
        throw new Error(`The job queue in DATABASE_URL is not usable: ${(error as Error).message}`, { cause: error });
      },
    );
  }

  const role = options.role ?? 'all';
  const runsJobs = role !== 'web';
  const metrics = new Metrics({
    requestsByStatus: () => reader.requestCountsByStatus(),
    decisions: () => reader.decisionCounts(),
    overdueRevocations: () => reader.overdueRevocations(systemClock.now()),
    queueDepths: async () => ({ ...(await healthQueue.queue.getJobCounts('waiting', 'delayed', 'active', 'failed')) }),
    ...(auditBacklog ? { auditBacklog } : {}),
  });
  const wired = wireUseCases(config, { store, policy: () => policy, logger, metrics, queuePrefix: options.queuePrefix, adapters: options.adapters, clock: options.clock });
  const { deps } = wired;
  const auditSink = config.audit && new WebhookAuditSink({ url: config.audit.webhookUrl, secret: config.audit.secret, source: config.audit.source });
  const slackAuth = onceSucceeded(() => wired.slackClient.auth.test());
  slackAuth().catch((error: unknown) => logger.error({ err: error }, 'Slack auth.test failed; /readyz reports not ready'));
  // An explicit SLACK_ALLOWED_TEAMS, else the workspace the bot token belongs to, as auth.test said once.
  const allowedTeams = config.slack.allowedTeams && new Set(config.slack.allowedTeams);
  const servedWorkspaces = allowedTeams ? async () => allowedTeams : async () => workspacesOfToken(await slackAuth());
  // Named after the service the jobs are on (redis or postgres): with jobs on PostgreSQL, Redis is not checked.
  const queueProbe = { [healthQueue.service]: () => healthQueue.ping() };
  const health = { database: () => reader.ping(), ...queueProbe };
  const opsRoutes = [
    healthRoute(health),
    liveRoute(),
    // A receiver that is down does not make the bot unready (nothing here would fix it, and events wait
    // in the database): its backlog is shown beside the checks, and alerted on from /metrics.
    readyRoute(
      { database: () => reader.checkWritable(), ...queueProbe, slack: async () => void (await slackAuth()) },
      auditBacklog ? { auditBacklog } : {},
    ),
    metricsRoute(metrics),
  ];
  // With OPS_PORT, the port Slack reaches keeps only a bare /healthz (for load balancers and Docker's HEALTHCHECK).
  const slackPortRoutes = config.opsPort === undefined ? opsRoutes : [healthRoute(health, { showChecks: false })];
  const app = role === 'worker' ? undefined : createSlackApp({ config, logger, routes: slackPortRoutes, servedWorkspaces });
  const postAck = new PostAckQueue(POST_ACK_CONCURRENCY, logger);
  if (app) registerListeners(app, deps, logger, postAck);
  // Each job logs with its request id; its duration (and a revocation's lag) is measured.
  const job = (name: string, run: (jobDeps: UseCaseDeps, requestId: number, attempt: JobAttempt) => Promise<void>) =>
    observedJob(name, (requestId, attempt, jobLogger) => run({ ...deps, logger: jobLogger }, requestId, attempt), { logger, metrics, store });
  const workers = runsJobs && startWorkers({
    ...queueTarget,
    prefix: options.queuePrefix,
    concurrency: JOB_CONCURRENCY,
    logger,
    handlers: {
      grant: job('grant', activate),
      revoke: job('revoke', revokeExpired),
      remind: job('remind', (jobDeps, requestId) => remind(jobDeps, requestId)),
      'end-sessions': job('end-sessions', (jobDeps, requestId, attempt) => endSessions(jobDeps, requestId, attempt)),
      ...(auditSink ? { audit: job('audit', async (jobDeps, requestId) => void (await deliverAuditEvents({ ...jobDeps, outbox: auditOutbox, sink: auditSink }, requestId))) } : {}),
    },
  });
  // A pass at start-up repairs whatever happened while the bot was down (expiries, lost jobs, orphans),
  // and queues the delivery of audit events still waiting (whose job Redis lost, or the history when the webhook is new).
  const reconcilePass = async () => {
    metrics.countReconcileErrors((await reconcile(deps)).errors);
    if (!auditSink) return;
    await queueAuditBacklog({ outbox: auditOutbox, queue: wired.auditQueue }).catch((error: unknown) => {
      metrics.countReconcileErrors([{ step: 'audit-backlog' }]);
      logger.warn({ err: error }, 'could not queue the audit backlog; the next pass tries again');
    });
  };
  const startupPass = runsJobs && reconcilePass().catch((error: unknown) => logger.error({ err: error }, 'start-up reconcile failed'));
  const reconciler = runsJobs && startReconcileSchedule({
    ...queueTarget,
    prefix: options.queuePrefix,
    everyMs: config.reconcileIntervalSeconds * 1000,
    run: reconcilePass,
    logger,
    clock: systemClock,
  });
  // A worker takes no Slack traffic: its ops routes go on OPS_PORT when set, else on PORT.
  const opsServerPort = app ? config.opsPort : (config.opsPort ?? config.port);
  const opsServer = opsServerPort === undefined ? undefined : await startOpsServer(opsRoutes, opsServerPort);
  const port = app ? portOf(await app.start(config.port), config.port) : opsServer!.port;
  const opsPort = opsServer?.port ?? port;
  const mode = app ? (config.slack.appToken ? 'socket' : 'http') : 'none';
  logger.info({ port, opsPort, role, mode, clusters: policy.rules.length }, 'cache-access started');
  // Once listening: it only logs, and its first AWS call loads the AWS SDK (src/wiring.ts), which readiness does not need.
  void checkPolicyClusters(policy, deps.directory, logger);

  return {
    port,
    opsPort,
    reloadPolicy() {
      try {
        policy = loadPolicy(config.policyFile);
      } catch (error) {
        logger.error({ err: error, policyFile: config.policyFile }, 'policy reload refused; keeping the policy in force');
        return false;
      }
      logger.info({ policyFile: config.policyFile, clusters: policy.rules.length }, 'policy reloaded');
      logPolicyWarnings(policy);
      return true;
    },
    async stop() {
      logger.info('shutting down');
      await app?.stop().catch((error: unknown) => logger.warn({ err: error }, 'Slack app did not stop cleanly'));
      await opsServer?.close();
      // Requests already acknowledged finish (or are cut off) before their database and queue close.
      if (!(await postAck.drain(shutdownTimeoutMs))) logger.warn({ backlog: postAck.backlog }, 'Slack work still running at shutdown');
      await startupPass;
      await Promise.all([workers && workers.close(shutdownTimeoutMs), reconciler && reconciler.close(shutdownTimeoutMs)]);
      await wired.close();
      await healthQueue.close(shutdownTimeoutMs).catch(() => {});
      await records.close();
      logger.info('stopped');
    },
  };
}

function portOf(server: unknown, fallback: number): number {
  const address = (server as { address?: () => unknown }).address?.();
  return typeof address === 'object' && address && 'port' in address ? Number(address.port) : fallback;
}

/** `--role all|web|worker` from the command line (argv, not the environment). */
function roleFrom(argv: string[]): Role {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' } } });
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new ConfigError(`--role must be one of ${ROLES.join(', ')}`);
  return role;
}

async function main(): Promise<void> {
  let config: Config;
  let role: Role;
  try {
    role = roleFrom(process.argv.slice(2));
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error((error as Error).message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let bot: RunningBot;
  try {
    bot = await startBot(config, { logger, role });
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    if (!stopping) bot.reloadPolicy();
  });
  // A stray rejection in a dependency (seen in BullMQ's handshake during Redis outages) must not end
  // the process that revokes access on time: log it loudly instead.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
