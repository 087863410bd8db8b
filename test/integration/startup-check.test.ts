/** The start-up check of the clusters a policy names exactly, against the ElastiCache adapter over the fake account. */
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { ElastiCacheDirectory } from '../../src/adapters/aws/elasticache-directory.js';
import { checkPolicyClusters } from '../../src/adapters/aws/startup-check.js';
import { parsePolicy } from '../../src/policy.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { ec2Client, elastiCacheClient } from '../fixtures/aws/sdk.js';

const GROUP = 'sg-0c1a57000000000a1';
let aws: FakeAwsAccount;

beforeEach(() => {
  aws = new FakeAwsAccount();
  aws.addGroup(GROUP);
  aws.addReplicationGroup({ id: 'sessions-memcached', engine: 'memcached', port: 11211, securityGroupIds: [GROUP] });
  aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [GROUP] });
});

afterEach(() => aws.restore());

test('names missing clusters, and flags endSessions on a Memcached cluster with the file, line and key', async () => {
  const policy = parsePolicy(
    [
      'defaults:',
      '  endSessions: { auth: none }',
      'clusters:',
      '  - match: sessions-memcached',
      '    approvers: [U0BOB]',
      '    endSessions: { auth: iam, user: cache-access }',
      '  - match: orders-redis',
      '    approvers: [U0BOB]',
      '  - match: gone-redis',
      '    approvers: [U0BOB]',
      '',
    ].join('\n'),
    'policy.yml',
  );
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const directory = new ElastiCacheDirectory({ ec2: ec2Client(), elasticache: elastiCacheClient() });

  expect(await checkPolicyClusters(policy, directory, logger)).toEqual(['gone-redis']);
  expect(lines.map((line) => line.msg).sort()).toEqual([
    "policy names cluster gone-redis, which does not exist or is not visible",
    "policy.yml:6: clusters.0.endSessions: sessions-memcached runs Memcached, which cannot close a client's connection: endSessions does nothing for it",
  ]);
});
