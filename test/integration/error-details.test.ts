/**
 * AWS's error messages can carry account ids and role ARNs. People in Slack get the AWS error code
 * and a plain explanation; the message itself goes only to the log.
 */
import { ElastiCacheServiceException } from '@aws-sdk/client-elasticache';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { ec2Error } from '../fakes/aws-account.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';

const POLICY = 'clusters: [{ match: "orders-*", approvers: [U0BOB], channel: C0APPROVALS }]';
const ACCOUNT_ID = '210987654321';
const ROLE_ARN = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/cache-access-prod/i-0f00dfeed`;

let h: BotHarness;
let logs: string[];

beforeEach(async () => {
  logs = [];
  h = await startHarness(POLICY, { logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }) });
  addRedisClusters(h.aws);
});

afterEach(async () => {
  await h.stop();
});

/** Everything the bot sent to Slack: Web API calls and posts to response URLs. */
function sentToSlack(): string {
  return JSON.stringify([h.slack.calls, h.slack.responses]);
}

test('AccessDenied while checking a request: the code and what it means, not the ARN', async () => {
  h.aws.failNext('DescribeReplicationGroups', 1, () =>
    new ElastiCacheServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: `User: ${ROLE_ARN} is not authorized to perform: elasticache:DescribeReplicationGroups`,
    }),
  );

  const reply = await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
  const answer = String((await h.slack.waitForResponse(reply.responseName)).body.text);

  expect(sentToSlack()).not.toContain(ACCOUNT_ID);
  expect(answer).toContain('AccessDenied');
  expect(answer).toMatch(/not allowed/);
  expect(logs.join('')).toContain(ROLE_ARN);
});

test('a grant AWS refuses: requester, approvers and the status command see the code, not the ARN', async () => {
  h.aws.failNext('AuthorizeSecurityGroupIngress', 1, () =>
    ec2Error('UnauthorizedOperation', 403, `User: ${ROLE_ARN} is not authorized to perform: ec2:AuthorizeSecurityGroupIngress`),
  );
  await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
  await h.click('approve', 1, 'U0BOB');
  await waitUntil(() => h.query<{ status: string }>('select status from requests where id = 1')[0]?.status === 'failed');
  await h.slack.waitFor((c) => c.method === 'chat.update' && c.body.channel === 'C0APPROVALS' && JSON.stringify(c.body).includes('UnauthorizedOperation'));
  await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && JSON.stringify(c.body).includes('UnauthorizedOperation'));

  const status = await h.command('status 1', 'U0ALICE');
  expect(JSON.stringify((await h.slack.waitForResponse(status.responseName)).body)).toContain('UnauthorizedOperation');

  expect(sentToSlack()).not.toContain(ACCOUNT_ID);
  expect(sentToSlack()).toMatch(/UnauthorizedOperation[^"]*not allowed/);
  expect(logs.join('')).toContain(ROLE_ARN);
  // The record keeps AWS's words for the audit (the admin CLI shows them).
  expect(h.query('select failure_message from requests where id = 1')).toEqual([{ failure_message: expect.stringContaining(ROLE_ARN) }]);
});
