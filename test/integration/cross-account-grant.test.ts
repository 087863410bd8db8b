/**
 * A grant in another account and region, end to end: the policy rule's roleArn is assumed through
 * STS (answered at the SDK edge), and the rule is added and removed in the rule's region with the
 * assumed credentials — not the bot's own.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';

const ROLE = 'arn:aws:iam::210987654321:role/cache-access';
const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "payments-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    region: eu-central-1
    roleArn: ${ROLE}
`;
const TARGET_GROUP = 'sg-0f0000000000000f1';
const SOURCE_GROUP = 'sg-0f0000000000000f2';

const sts = mockClient(STSClient);
let h: BotHarness;

beforeEach(async () => {
  sts.reset();
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIAPAYMENTS0001',
      SecretAccessKey: 'secret',
      SessionToken: 'token',
      Expiration: new Date(Date.now() + 3_600_000),
    },
  });
  h = await startHarness(POLICY);
  h.aws.addGroup(TARGET_GROUP);
  h.aws.addGroup(SOURCE_GROUP);
  h.aws.addReplicationGroup({ id: 'payments-redis', engine: 'redis', port: 6379, securityGroupIds: [TARGET_GROUP] });
});
afterEach(async () => {
  await h.stop();
});

test('the rule is added and revoked in the rule’s region with the assumed role', async () => {
  await h.command(`payments-redis ${SOURCE_GROUP} 2s testing`, 'U0ALICE');
  await h.click('approve', 1, 'U0BOB');
  const status = () => h.query<{ status: string }>('select status from requests where id = 1')[0]?.status;
  await waitUntil(() => status() === 'expired', 10_000, '#1 to expire');

  const mutating = h.aws.origins.filter((o) => o.action === 'AuthorizeSecurityGroupIngress' || o.action === 'RevokeSecurityGroupIngress');
  expect(mutating.map((o) => o.action)).toEqual(['AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupIngress']);
  for (const origin of mutating) expect(origin).toMatchObject({ region: 'eu-central-1', accessKeyId: 'ASIAPAYMENTS0001' });
  expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toMatchObject({ RoleArn: ROLE, RoleSessionName: 'cache-access' });
  expect(h.aws.rules.size).toBe(0);
});
