/**
 * The composition root: the one place that knows every concrete adapter. `startBot` wires a running
 * bot from a parsed Config (tests and the benchmark call it directly); run as a program, it reads
 * the settings from process.env once and handles signals.
 */
import { pathToFileURL } from 'node:url';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { STSClient } from '@aws-sdk/client-sts';
import type { Logger } from 'pino';
import { activate } from './app/activate.js';
import type { UseCaseDeps } from './app/deps.js';
import type { ClusterDirectory, Firewall } from './app/ports.js';
import { reconcile } from './app/reconcile.js';
import { remind } from './app/remind.js';
import { revokeExpired } from './app/revoke.js';
import { AwsClientPool } from './adapters/aws/client-pool.js';
import { stsAssumeRole } from './adapters/aws/credentials.js';
import { Ec2Firewall } from './adapters/aws/ec2-firewall.js';
import { ElastiCacheDirectory } from './adapters/aws/elasticache-directory.js';
import { RateLimitedFirewall } from './adapters/aws/rate-limited-firewall.js';
import { SqliteGrantStore } from './adapters/db/grant-store.js';
import { openDatabase } from './adapters/db/open.js';
import { healthRoute } from './adapters/health.js';
import { createLogger } from './adapters/logger.js';
import { BullmqScheduler } from './adapters/queue/bullmq-scheduler.js';
import { createProducerConnection, settled } from './adapters/queue/connection.js';
import { startReconcileSchedule } from './adapters/queue/reconcile-schedule.js';
import { startWorkers } from './adapters/queue/workers.js';
import { SlackNotifier } from './adapters/slack/notifier.js';
import { SlackPeopleDirectory } from './adapters/slack/people-directory.js';
import { createSlackApp, registerListeners } from './adapters/slack/slack-app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { loadPolicy } from './policy.js';

export interface RunningBot {
  /**
   * Re-reads POLICY_FILE. Requests, grants and jobs are untouched; the next use-case call sees the new
   * policy. An invalid file is refused (logged, and reported as false) and the policy in force stays.
   */
  reloadPolicy(): boolean;
  /** The HTTP port actually bound (useful when PORT=0). */
  port: number;
  stop(): Promise<void>;
}

const SHUTDOWN_TIMEOUT_MS = 10_000;

export interface StartOptions {
  logger?: Logger;
  /** BullMQ key prefix; lets several bots (or test runs) share one Redis without sharing jobs. */
  queuePrefix?: string;
  /** How long stop() waits for running jobs before cutting Redis off. */
  shutdownTimeoutMs?: number;
  /** Stand-ins for the AWS adapters (the benchmark's in-memory AWS); the rate limit still applies. */
  adapters?: { firewall?: Firewall; directory?: ClusterDirectory };
}

export async function startBot(config: Config, options: StartOptions = {}): Promise<RunningBot> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
  let policy = loadPolicy(config.policyFile);
  const database = openDatabase(config.databasePath);
  const store = new SqliteGrantStore(database.db);
  // The AWS SDK reads AWS_REGION, AWS_ENDPOINT_URL and credentials from its own default chain.
  // A hung AWS call must fail (and be retried) rather than hold a job forever.
  const requestHandler = { connectionTimeout: 5_000, requestTimeout: 20_000, throwOnRequestTimeout: true };
  const ec2 = new EC2Client({ requestHandler });
  const elasticache = new ElastiCacheClient({ requestHandler });
  const sts = new STSClient({ requestHandler });
  // Policy rules with `region` / `roleArn` reach other regions and accounts through this pool.
  const awsClients = new AwsClientPool({ ec2, elasticache }, { assumeRole: stsAssumeRole(sts) });
  const healthRedis = createProducerConnection(config.redisUrl);
  healthRedis.on('error', () => {}); // reported through /healthz, not as an unhandled event
  const scheduler = new BullmqScheduler({ url: config.redisUrl, prefix: options.queuePrefix });

  const app = createSlackApp({
    config,
    logger,
    routes: [
      healthRoute({
        database: async () => void database.sqlite.prepare('select 1').get(),
        redis: async () => {
          await healthRedis.ping();
        },
      }),
    ],
  });
  const deps: UseCaseDeps = {
    store,
    directory: options.adapters?.directory ?? new ElastiCacheDirectory({ elasticache, ec2, clients: awsClients }),
    // One limiter for every mutating EC2 call, so a burst of grants or expiries never trips AWS throttling.
    firewall: new RateLimitedFirewall(options.adapters?.firewall ?? new Ec2Firewall({ ec2, clients: awsClients }), {
      perSecond: config.ec2RateLimitPerSecond,
    }),
    people: new SlackPeopleDirectory({ client: app.client }),
    notifier: new SlackNotifier({ client: app.client, logger }),
    scheduler,
    clock: { now: () => new Date() },
    policy: () => policy,
    logger,
  };
  registerListeners(app, deps, logger);
  const workers = startWorkers({
    url: config.redisUrl,
    prefix: options.queuePrefix,
    logger,
    handlers: {
      grant: (requestId, attempt) => activate(deps, requestId, attempt),
      revoke: (requestId, attempt) => revokeExpired(deps, requestId, attempt),
      remind: (requestId) => remind(deps, requestId),
    },
  });
  // A pass at start-up repairs whatever happened while the bot was down (expiries, lost jobs, orphans).
  const startupPass = reconcile(deps).catch((error: unknown) => logger.error({ err: error }, 'start-up reconcile failed'));
  const reconciler = startReconcileSchedule({
    url: config.redisUrl,
    prefix: options.queuePrefix,
    everyMs: config.reconcileIntervalSeconds * 1000,
    run: () => reconcile(deps),
    logger,
  });
  const server = await app.start(config.port);
  const address = (server as { address?: () => unknown }).address?.();
  const port = typeof address === 'object' && address && 'port' in address ? Number(address.port) : config.port;
  logger.info({ port, mode: config.slack.appToken ? 'socket' : 'http', clusters: policy.rules.length }, 'cache-access started');

  return {
    port,
    reloadPolicy() {
      try {
        policy = loadPolicy(config.policyFile);
      } catch (error) {
        logger.error({ err: error, policyFile: config.policyFile }, 'policy reload refused; keeping the policy in force');
        return false;
      }
      logger.info({ policyFile: config.policyFile, clusters: policy.rules.length }, 'policy reloaded');
      return true;
    },
    async stop() {
      logger.info('shutting down');
      await app.stop().catch((error: unknown) => logger.warn({ err: error }, 'Slack app did not stop cleanly'));
      await startupPass;
      await Promise.all([workers.close(shutdownTimeoutMs), reconciler.close(shutdownTimeoutMs)]);
      await scheduler.close();
      await settled(healthRedis, shutdownTimeoutMs);
      await healthRedis.quit().catch(() => healthRedis.disconnect());
      ec2.destroy();
      elasticache.destroy();
      sts.destroy();
      database.close();
      logger.info('stopped');
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let bot: RunningBot;
  try {
    bot = await startBot(config, { logger });
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
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
