/**
 * The adapters behind the use cases, made the same way for the bot (src/main.ts) and the admin CLI
 * (src/cli/use-case-deps.ts): AWS clients and their pool, directory, paced firewall, scheduler,
 * Slack notifier and people directory, clock. What differs between the two comes in as options.
 * The CLI imports this module only when a command runs a use case: the Slack and BullMQ libraries
 * take seconds to import. The AWS adapters (src/adapters/aws/aws-adapters.ts) load on the first AWS call.
 */
import type { Logger } from 'pino';
import type { AwsAdapters } from './adapters/aws/aws-adapters.js';
import { meteredAws } from './adapters/aws/metered.js';
import { deferredPort } from './adapters/deferred-port.js';
import { RateLimitedFirewall } from './adapters/aws/rate-limited-firewall.js';
import type { Metrics } from './adapters/metrics.js';
import type { QueueTarget } from './adapters/queue/backend.js';
import { BullmqScheduler } from './adapters/queue/bullmq-scheduler.js';
import { RedisLiveSessions } from './adapters/sessions/redis-sessions.js';
import { SlackNotifier } from './adapters/slack/notifier.js';
import { SlackPeopleDirectory } from './adapters/slack/people-directory.js';
import { ObservedWebClient } from './adapters/slack/web-client.js';
import { notifierWithoutSlack, peopleWithoutSlack } from './adapters/without-slack.js';
import { announcingAppends } from './app/audit-stream.js';
import type { UseCaseDeps } from './app/deps.js';
import type { AuditQueue, Clock, ClusterDirectory, ClusterNetwork, Firewall, GrantStore, LiveSessions, SessionCredentials } from './app/ports.js';
import type { Config } from './config.js';
import type { Policy } from './policy.js';

export const systemClock: Clock = { now: () => new Date() };

export interface WiringSettings extends Pick<Config, 'redisUrl' | 'queueBackend' | 'databaseUrl' | 'ec2RateLimitPerSecond' | 'audit'> {
  /** Absent (the CLI without SLACK_BOT_TOKEN): every Slack call fails, as with Slack down. */
  slack?: Config['slack'];
}

/** Where the jobs live: REDIS_URL, or DATABASE_URL with QUEUE_BACKEND=postgres (config.ts refuses one without the other). */
export function queueTargetOf(settings: Pick<Config, 'redisUrl' | 'queueBackend' | 'databaseUrl'>): QueueTarget {
  if (settings.queueBackend === 'redis') return { url: settings.redisUrl };
  if (settings.databaseUrl === undefined) throw new Error('QUEUE_BACKEND=postgres needs DATABASE_URL');
  return { postgres: { url: settings.databaseUrl } };
}

export interface WiringOptions {
  store: GrantStore;
  /** A getter, so a reloaded (or lazily read) policy applies from the next use-case call. */
  policy: () => Policy;
  logger: Logger;
  /** Counts AWS and Slack calls when given (the bot's /metrics). */
  metrics?: Metrics;
  /**
   * BullMQ key prefix (on PostgreSQL, the schema); lets several bots (or test runs) share one Redis or
   * database without sharing jobs.
   */
  queuePrefix?: string;
  /**
   * Stand-ins for the AWS adapters (the benchmark's in-memory AWS), and for how cluster nodes are reached (a
   * test's own TLS authority); metering and the rate limit still apply.
   */
  adapters?: {
    firewall?: Firewall;
    directory?: ClusterDirectory;
    network?: ClusterNetwork;
    sessionCredentials?: SessionCredentials;
    liveSessions?: LiveSessions;
  };
  /** The use cases' time; the system clock unless a test moves it. */
  clock?: Clock;
}

export interface WiredUseCases {
  deps: UseCaseDeps;
  /** The client the notifier and people directory use, when Slack is configured. */
  slackClient?: ObservedWebClient;
  /** Where audit delivery jobs are queued (the scheduler's queue). */
  auditQueue: AuditQueue;
  /** Closes the scheduler's queue connection and the AWS clients. */
  close(): Promise<void>;
}

export function wireUseCases(
  settings: WiringSettings & Pick<Config, 'slack'>,
  options: WiringOptions,
): WiredUseCases & { slackClient: ObservedWebClient };
export function wireUseCases(settings: WiringSettings, options: WiringOptions): WiredUseCases;
export function wireUseCases(settings: WiringSettings, options: WiringOptions): WiredUseCases {
  const { logger, metrics } = options;
  const clock = options.clock ?? systemClock;
  // The AWS SDK and the adapters on it load on the first AWS call: nothing before ready calls AWS.
  let aws: Promise<AwsAdapters> | undefined;
  const loadAws = () => (aws ??= import('./adapters/aws/aws-adapters.js').then(({ createAwsAdapters }) => createAwsAdapters(clock)));
  const fromAws = <T extends keyof Omit<AwsAdapters, 'destroy'>>(name: T) => async () => (await loadAws())[name];
  const metered = <T extends Firewall | ClusterDirectory>(port: T): T => (metrics ? meteredAws(port, metrics) : port);
  const scheduler = new BullmqScheduler({ ...queueTargetOf(settings), prefix: options.queuePrefix });
  // Our calls to Slack (notifications, look-ups) go through this client: bounded rate-limit waits, counted errors.
  const slackClient = settings.slack && new ObservedWebClient({ config: { slack: settings.slack }, logger, metrics });
  // With an audit webhook, every append queues the delivery of the request's events at once.
  const announcements = new Set<Promise<void>>();
  const announce = (requestId: number) => {
    const queued = scheduler.scheduleAuditDelivery(requestId).catch((error: unknown) =>
      logger.warn({ err: error, requestId }, 'could not queue the audit delivery; the next backlog sweep will'),
    );
    announcements.add(queued);
    void queued.finally(() => announcements.delete(queued));
  };
  const deps: UseCaseDeps = {
    store: settings.audit ? announcingAppends(options.store, announce) : options.store,
    directory: metered(
      options.adapters?.directory ??
        deferredPort(fromAws('directory'), { findCluster: true, findSecurityGroup: true, exposureOf: true, findPeering: true, clusterTags: true, listClusterIds: true }),
    ),
    // One limiter for every mutating EC2 call, so a burst of grants, expiries or orphan removals never trips AWS throttling.
    firewall: new RateLimitedFirewall(
      metered(options.adapters?.firewall ?? deferredPort(fromAws('firewall'), { authorize: true, revoke: true, ruleExists: true, listTaggedRules: true })),
      { perSecond: settings.ec2RateLimitPerSecond },
    ),
    network: options.adapters?.network ?? deferredPort(fromAws('network'), { nodes: true, groupAddresses: true, ingressSources: true }),
    sessionCredentials: options.adapters?.sessionCredentials ?? deferredPort(fromAws('sessionCredentials'), { forCluster: true }),
    liveSessions: options.adapters?.liveSessions ?? new RedisLiveSessions(),
    people: slackClient ? new SlackPeopleDirectory({ client: slackClient }) : peopleWithoutSlack,
    notifier: slackClient ? new SlackNotifier({ client: slackClient, clock, logger }) : notifierWithoutSlack,
    scheduler,
    clock,
    policy: options.policy,
    logger,
  };
  return {
    deps,
    slackClient,
    auditQueue: scheduler,
    async close() {
      await Promise.allSettled(announcements);
      await scheduler.close();
      await aws?.then((adapters) => adapters.destroy(), () => {});
    },
  };
}
