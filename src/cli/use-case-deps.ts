/**
 * The adapters behind the use cases the CLI runs (revoke, reconcile), as src/main.ts makes them.
 * Loaded only by those commands: the AWS, Slack and BullMQ libraries take seconds to import.
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
import { BullmqScheduler } from '../adapters/queue/bullmq-scheduler.js';
import { SlackNotifier } from '../adapters/slack/notifier.js';
import { SlackPeopleDirectory } from '../adapters/slack/people-directory.js';
import { ObservedWebClient } from '../adapters/slack/web-client.js';
import type { UseCaseDeps } from '../app/deps.js';
import type { Clock, GrantStore } from '../app/ports.js';
import type { CliConfig } from '../config.js';
import { loadPolicy, type Policy } from '../policy.js';
import { notifierWithoutSlack, peopleWithoutSlack } from './without-slack.js';

export interface WiredUseCases {
  deps: UseCaseDeps;
  close(): Promise<void>;
}

export function wireUseCases(config: CliConfig, logger: Logger, store: GrantStore): WiredUseCases {
  // The SDK reads AWS_REGION, AWS_ENDPOINT_URL and credentials from its default chain, as in the bot.
  const requestHandler = { connectionTimeout: 5_000, requestTimeout: 20_000, throwOnRequestTimeout: true };
  const ec2 = new EC2Client({ requestHandler });
  const elasticache = new ElastiCacheClient({ requestHandler });
  const sts = new STSClient({ requestHandler });
  const clock: Clock = { now: () => new Date() };
  const clients = new AwsClientPool({ ec2, elasticache }, { assumeRole: stsAssumeRole(sts), clock });
  const scheduler = new BullmqScheduler({ url: config.redisUrl });
  const slackClient = config.slack && new ObservedWebClient({ config: { slack: config.slack }, logger });
  let policy: Policy | undefined;
  const deps: UseCaseDeps = {
    store,
    directory: new ElastiCacheDirectory({ elasticache, ec2, clients }),
    // Paced like the bot's, since a reconcile pass may revoke many orphan rules at once.
    firewall: new RateLimitedFirewall(new Ec2Firewall({ ec2, clients }), { perSecond: config.ec2RateLimitPerSecond }),
    people: slackClient ? new SlackPeopleDirectory({ client: slackClient }) : peopleWithoutSlack,
    notifier: slackClient ? new SlackNotifier({ client: slackClient, clock, logger }) : notifierWithoutSlack,
    scheduler,
    clock,
    // Read on first use: `revoke` needs no policy, `reconcile` does.
    policy: () => (policy ??= loadPolicy(config.policyFile)),
    logger,
  };
  return {
    deps,
    async close() {
      await scheduler.close();
      ec2.destroy();
      elasticache.destroy();
      sts.destroy();
    },
  };
}
