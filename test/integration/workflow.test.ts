/**
 * The core workflow end to end, driven only through Bolt's real HTTP endpoint with signed requests:
 * request → approval message → decision → rule added by the grant job → revoked at expiry.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ec2Error, OTHER_VPC } from '../fakes/aws-account.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0BOB, U0CAROL]
    channel: C0APPROVALS
    maxDuration: 2h
    allowedCidrs: [10.0.0.0/8]
  - match: "platform-*"
    approvers: [S0PLATFORM]
  - match: "self-*"
    approvers: [U0ALICE]
    selfApproval: true
  - match: "mine-*"
    approvers: [U0ALICE, U0BOB]
`;
const FOREIGN_GROUP = 'sg-0ffff000000000001';

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY, { usergroups: { S0PLATFORM: ['U0DAVE', 'U0ERIN'] } });
  addRedisClusters(h.aws, ['orders-redis', 'self-redis', 'unlisted-redis', 'mine-redis']);
  h.aws.addGroup(FOREIGN_GROUP, OTHER_VPC);
  h.aws.addReplicationGroup({ id: 'platform-valkey', engine: 'valkey', port: 6380, securityGroupIds: [TARGET_GROUP] });
  h.aws.addReplicationGroup({ id: 'orders-classic', engine: 'redis', port: 6379, securityGroupIds: [] });
});

afterEach(async () => {
  await h.stop();
});

function statusOf(id: number): string | undefined {
  return h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;
}

async function waitForStatus(id: number, status: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(() => statusOf(id) === status, timeoutMs, `#${id} to be ${status} (is ${statusOf(id)})`);
}

describe('request, approve, grant, expire', () => {
  test('adds the exact rule on approval and removes it by id at expiry, with the full history kept', async () => {
    const reply = await h.command(`orders-redis ${SOURCE_GROUP} 2s debugging checkout latency`, 'U0ALICE');
    expect(reply.status).toBe(200);
    const received = await h.slack.waitForResponse(reply.responseName);
    expect(received.body.response_type).toBe('ephemeral');
    expect(String(received.body.text)).toContain('#1');
    expect(String(received.body.text)).toContain('<#C0APPROVALS>');

    const approval = await h.approvalMessage(1);
    expect(approval.body.channel).toBe('C0APPROVALS');
    const shown = JSON.stringify(approval.body.blocks);
    for (const fact of ['<@U0ALICE>', 'orders-redis', 'redis', '6379', TARGET_GROUP, SOURCE_GROUP, 'debugging checkout latency']) {
      expect(shown).toContain(fact);
    }

    await h.click('approve', 1, 'U0BOB');
    await waitForStatus(1, 'active');
    const [authorize] = h.aws.callsOf('AuthorizeSecurityGroupIngress') as any[];
    expect(authorize.GroupId).toBe(TARGET_GROUP);
    expect(authorize.IpPermissions).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 6379,
        ToPort: 6379,
        UserIdGroupPairs: [{ GroupId: SOURCE_GROUP, Description: expect.stringMatching(/^cache-access #1 u0alice until \d{4}-\d\d-\d\dT\d\d:\d\d/) }],
      }),
    ]);
    const tags = Object.fromEntries(authorize.TagSpecifications[0].Tags.map((t: any) => [t.Key, t.Value]));
    expect(authorize.TagSpecifications[0].ResourceType).toBe('security-group-rule');
    expect(tags['cache-access:grant-id']).toBe('1');
    expect(Date.parse(tags['cache-access:expires-at'])).toBeGreaterThan(Date.now() - 5_000);
    const [awsRuleId] = [...h.aws.rules.keys()];
    expect(h.query('select aws_rule_id, state from ingress_rules')).toEqual([{ aws_rule_id: awsRuleId, state: 'in-place' }]);

    const dm = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && JSON.stringify(c.body).includes('6379'));
    expect(JSON.stringify(dm.body)).toContain('orders-redis');

    await waitForStatus(1, 'expired', 10_000);
    const revokes = h.aws.callsOf('RevokeSecurityGroupIngress');
    expect(revokes).toEqual([{ GroupId: TARGET_GROUP, SecurityGroupRuleIds: [awsRuleId] }]);
    expect(h.aws.rules.size).toBe(0);

    const [row] = h.query<Record<string, unknown>>('select * from requests where id = 1');
    expect(row).toMatchObject({ requester_id: 'U0ALICE', cluster_id: 'orders-redis', engine: 'redis', port: 6379, target_group_id: TARGET_GROUP, source: SOURCE_GROUP, duration_seconds: 2, reason: 'debugging checkout latency', status: 'expired' });
    const activatedAt = Number(row!.activated_at);
    expect(Number(row!.expires_at) - activatedAt).toBe(2_000);
    expect(Number(row!.ended_at)).toBeGreaterThanOrEqual(Number(row!.expires_at));
    expect(h.query<{ type: string; actor: string }>('select type, actor from events where request_id = 1 order by id')).toEqual([
      { type: 'requested', actor: 'U0ALICE' },
      { type: 'approved', actor: 'U0BOB' },
      { type: 'rule-requested', actor: 'system' },
      { type: 'activated', actor: 'system' },
      { type: 'expired', actor: 'system' },
    ]);
    // The approval message now shows the outcome and has no buttons left.
    const updates = h.slack.callsTo('chat.update').filter((c) => c.body.channel === 'C0APPROVALS');
    expect(updates.length).toBeGreaterThan(0);
    const last = JSON.stringify(updates.at(-1)!.body.blocks);
    expect(last).not.toContain('"type":"button"');
  });

  test('deny tells the requester who denied, and adds no rule', async () => {
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.click('deny', 1, 'U0CAROL');
    await waitForStatus(1, 'denied');
    const dm = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && JSON.stringify(c.body).includes('U0CAROL'));
    expect(JSON.stringify(dm.body).toLowerCase()).toContain('denied');
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);
  });
});

describe('who may decide', () => {
  test('a non-approver is told so and nothing changes', async () => {
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    const click = await h.click('approve', 1, 'U0MALLORY');
    expect(click.status).toBe(200);
    const answer = await h.slack.waitForResponse(click.responseName);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(answer.body.text)).toContain('not an approver for orders-redis');
    expect(statusOf(1)).toBe('pending');
  });

  test('a requester who is an approver cannot approve their own request without selfApproval', async () => {
    await h.command(`mine-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    const click = await h.click('approve', 1, 'U0ALICE');
    const answer = await h.slack.waitForResponse(click.responseName);
    expect(String(answer.body.text)).toContain('cannot approve your own request');
    expect(statusOf(1)).toBe('pending');
  });

  test('selfApproval: true lets the requester approve their own request', async () => {
    await h.command(`self-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.click('approve', 1, 'U0ALICE');
    await waitForStatus(1, 'active');
  });

  test('two approvers clicking at once give one decision and one rule', async () => {
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.approvalMessage(1);
    const [bob, carol] = await Promise.all([h.click('approve', 1, 'U0BOB'), h.click('approve', 1, 'U0CAROL')]);
    await waitForStatus(1, 'active');
    const loser = await h.slack.waitForResponse((r) => r.name === bob.responseName || r.name === carol.responseName);
    expect(String(loser.body.text)).toMatch(/already approved by <@U0(BOB|CAROL)>/);
    expect(h.query('select count(*) as n from approvals where request_id = 1')).toEqual([{ n: 1 }]);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
  });

  test('user-group approvers are expanded and each gets a DM', async () => {
    await h.command(`platform-valkey ${SOURCE_GROUP} 30m`, 'U0ALICE');
    const opened = await waitUntil(() => {
      const users = h.slack.callsTo('conversations.open').map((c) => c.body.users);
      return users.includes('U0DAVE') && users.includes('U0ERIN') ? users : undefined;
    });
    expect(opened).toEqual(expect.arrayContaining(['U0DAVE', 'U0ERIN']));
    await waitUntil(() => h.query('select * from slack_messages where request_id = 1 and kind = ?', 'approval').length === 2);
    await h.click('approve', 1, 'U0ERIN');
    await waitForStatus(1, 'active');
    const [authorize] = h.aws.callsOf('AuthorizeSecurityGroupIngress') as any[];
    expect(authorize.IpPermissions[0].FromPort).toBe(6380);
  });
});

describe('bad input is refused with a clear reply; nothing is stored or posted', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown cluster', `nosuch-redis ${SOURCE_GROUP} 1h`, /no policy rule covers cluster nosuch-redis|no ElastiCache/i],
    ['unknown cluster covered by policy', `orders-missing ${SOURCE_GROUP} 1h`, /no ElastiCache replication group or cache cluster named orders-missing/],
    ['malformed security group', 'orders-redis sg-123 1h', /not a valid security group id/],
    ['unknown security group', 'orders-redis sg-0123456789abcdef0 1h', /sg-0123456789abcdef0 does not exist/],
    ['security group in another VPC', `orders-redis ${FOREIGN_GROUP} 1h`, /is in vpc-0bbbbbbbbbbbbbbb2, but orders-redis is in vpc-0aaaaaaaaaaaaaaa1/],
    ['CIDR outside allowedCidrs', 'orders-redis 192.168.1.0/24 1h', /not allowed for orders-redis.*10\.0\.0\.0\/8/],
    ['whole IPv4 internet', 'orders-redis 0.0.0.0/0 1h', /whole internet/],
    ['whole IPv6 internet', 'orders-redis ::/0 1h', /whole internet/],
    ['duration above maximum', `orders-redis ${SOURCE_GROUP} 3h`, /between 1s and 2h/],
    ['unparseable duration', `orders-redis ${SOURCE_GROUP} 2x`, /"2x" is not a duration/],
    ['cluster no policy rule matches', `unlisted-redis ${SOURCE_GROUP} 1h`, /No policy rule covers cluster unlisted-redis/],
    ['cluster without a VPC security group', `orders-classic ${SOURCE_GROUP} 1h`, /has no VPC security group/],
  ];
  test.each(cases)('%s', async (_name, text, expected) => {
    const reply = await h.command(text, 'U0ALICE');
    expect(reply.status).toBe(200);
    const answer = reply.text ? JSON.parse(reply.text) : (await h.slack.waitForResponse(reply.responseName)).body;
    expect(answer.response_type).toBe('ephemeral');
    expect(String(answer.text)).toMatch(expected);
    expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
    expect(h.query('select count(*) as n from events')).toEqual([{ n: 0 }]);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  // An empty command opens the request form (test/integration/request-modal.test.ts).
  test('usage for help', async () => {
    const reply = await h.command('help', 'U0ALICE');
    expect(JSON.parse(reply.text)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/cache-access <cluster> <source>') });
  });
});

describe('AWS failures', () => {
  test('throttling is retried with backoff until the rule is added', async () => {
    h.aws.failNext('AuthorizeSecurityGroupIngress', 2, () => ec2Error('RequestLimitExceeded', 503, 'Request limit exceeded.'));
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.click('approve', 1, 'U0BOB');
    await waitForStatus(1, 'active', 15_000);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress').length).toBeGreaterThanOrEqual(3);
    expect(h.aws.rules.size).toBe(1);
  });

  test('a permanent error ends the grant as failed and shows the AWS code to requester and approvers', async () => {
    h.aws.failNext('AuthorizeSecurityGroupIngress', 1, () => ec2Error('UnauthorizedOperation', 403, 'You are not authorized to perform this operation.'));
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.click('approve', 1, 'U0BOB');
    await waitForStatus(1, 'failed');
    expect(h.query('select failure_code from requests where id = 1')).toEqual([{ failure_code: 'UnauthorizedOperation' }]);
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && JSON.stringify(c.body).includes('UnauthorizedOperation'));
    await h.slack.waitFor((c) => c.method === 'chat.update' && c.body.channel === 'C0APPROVALS' && JSON.stringify(c.body).includes('UnauthorizedOperation'));
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
  });
});

describe('request signing', () => {
  test('a wrong signature is refused with 401 and nothing happens', async () => {
    const reply = await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE', { badSignature: true });
    expect(reply.status).toBe(401);
    expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
  });

  test('a stale timestamp is refused with 401', async () => {
    const reply = await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE', { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(reply.status).toBe(401);
  });

  test('a redelivered command (same trigger id) stores one request and posts one approval', async () => {
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE', { triggerId: 'trigger-1' });
    await h.approvalMessage(1);
    const again = await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE', { triggerId: 'trigger-1' });
    const answer = await h.slack.waitForResponse(again.responseName);
    expect(String(answer.body.text)).toContain('already received');
    expect(h.query('select count(*) as n from requests')).toEqual([{ n: 1 }]);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(1);
  });
});
