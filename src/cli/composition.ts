/**
 * The admin CLI's wiring: the same adapters as the bot (src/main.ts), each made on first use, so a
 * command opens only what it needs (`show` never touches Redis or AWS).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { STSClient } from '@aws-sdk/client-sts';
import type { Logger } from 'pino';
import { AwsClientPool } from '../adapters/aws/client-pool.js';
import { stsAssumeRole } from '../adapters/aws/credentials.js';
import { Ec2Firewall } from '../adapters/aws/ec2-firewall.js';
import { ElastiCacheDirectory } from '../adapters/aws/elasticache-directory.js';
import { RateLimitedFirewall } from '../adapters/aws/rate-limited-firewall.js';
import { SqliteGrantStore } from '../adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../adapters/db/open.js';
import { BullmqScheduler } from '../adapters/queue/bullmq-scheduler.js';
import { SlackNotifier } from '../adapters/slack/notifier.js';
import { SlackPeopleDirectory } from '../adapters/slack/people-directory.js';
import { ObservedWebClient } from '../adapters/slack/web-client.js';
import type { UseCaseDeps } from '../app/deps.js';
import type { CliConfig } from '../config.js';
import { loadPolicy, type Policy } from '../policy.js';
import { eventsSince, type AuditEntry } from './event-log.js';
import { notifierWithoutSlack, peopleWithoutSlack } from './without-slack.js';

export interface CliServices {
  store(): SqliteGrantStore;
  eventsSince(since: Date): AuditEntry[];
  /** Everything a use case may reach; Redis, AWS and the policy file are touched only when used. */
  useCaseDeps(): UseCaseDeps;
  /** Closes whatever was opened. */
  close(): Promise<void>;
}

export function composeCli(config: CliConfig, logger: Logger): CliServices {
  let database: OpenedDatabase | undefined;
  let store: SqliteGrantStore | undefined;
  let scheduler: BullmqScheduler | undefined;
  let aws: { ec2: EC2Client; elasticache: ElastiCacheClient; sts: STSClient } | undefined;
  let deps: UseCaseDeps | undefined;

  const opened = () => (database ??= openDatabase(config.databasePath));
  const grantStore = () => (store ??= new SqliteGrantStore(opened().db));

  const buildDeps = (): UseCaseDeps => {
    // The SDK reads AWS_REGION, AWS_ENDPOINT_URL and credentials from its default chain, as in the bot.
    const requestHandler = { connectionTimeout: 5_000, requestTimeout: 20_000, throwOnRequestTimeout: true };
    aws = { ec2: new EC2Client({ requestHandler }), elasticache: new ElastiCacheClient({ requestHandler }), sts: new STSClient({ requestHandler }) };
    const clients = new AwsClientPool({ ec2: aws.ec2, elasticache: aws.elasticache }, { assumeRole: stsAssumeRole(aws.sts) });
    scheduler = new BullmqScheduler({ url: config.redisUrl });
    const slackClient = config.slack && new ObservedWebClient({ config: { slack: config.slack }, logger });
    let policy: Policy | undefined;
    return {
      store: grantStore(),
      directory: new ElastiCacheDirectory({ elasticache: aws.elasticache, ec2: aws.ec2, clients }),
      // Paced like the bot's, since a reconcile pass may revoke many orphan rules at once.
      firewall: new RateLimitedFirewall(new Ec2Firewall({ ec2: aws.ec2, clients }), { perSecond: config.ec2RateLimitPerSecond }),
      people: slackClient ? new SlackPeopleDirectory({ client: slackClient }) : peopleWithoutSlack,
      notifier: slackClient ? new SlackNotifier({ client: slackClient, logger }) : notifierWithoutSlack,
      scheduler,
      clock: { now: () => new Date() },
      // Read on first use: `revoke` needs no policy, `reconcile` does.
      policy: () => (policy ??= loadPolicy(config.policyFile)),
      logger,
    };
  };

  return {
    store: grantStore,
    eventsSince: (since) => eventsSince(opened().db, since),
    useCaseDeps: () => (deps ??= buildDeps()),
    async close() {
      await scheduler?.close();
      aws?.ec2.destroy();
      aws?.elasticache.destroy();
      aws?.sts.destroy();
      database?.close();
    },
  };
}
