/**
 * Which sources a grant may open to, through the real HTTP endpoint: security groups in a peered VPC
 * only when the policy lists that VPC (the rule then names the peer account and peering connection),
 * and CIDR ranges only inside allowedCidrs and no wider than maxCidrPrefix.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { OTHER_VPC, VPC } from '../fakes/aws-account.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';

const PEER_ACCOUNT = '210987654321';
const PEERING = 'pcx-0123456789abcdef0';
const LISTED_VPC = OTHER_VPC;
const UNPEERED_VPC = 'vpc-0ccccccccccccccc3';
const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "wide-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    allowedCidrs: [10.0.0.0/8, "2001:db8::/32"]
    maxCidrPrefix: { ipv4: 16, ipv6: 48 }
  - match: "*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    allowedCidrs: [10.0.0.0/8, "2001:db8::/32"]
    peeredVpcs: [${LISTED_VPC}, ${UNPEERED_VPC}]
  `;
const TARGET = 'sg-0d0000000000000d1';
const LOCAL_SOURCE = 'sg-0d0000000000000d2';
const PEER_SOURCE = 'sg-0d0000000000000d3';
const UNPEERED_SOURCE = 'sg-0d0000000000000d4';
const UNLISTED_SOURCE = 'sg-0d0000000000000d5';

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  h.aws.addGroup(TARGET);
  h.aws.addGroup(LOCAL_SOURCE);
  h.aws.addGroup(PEER_SOURCE, LISTED_VPC, { ownerId: PEER_ACCOUNT });
  h.aws.addGroup(UNPEERED_SOURCE, UNPEERED_VPC);
  h.aws.addGroup(UNLISTED_SOURCE, 'vpc-0ddddddddddddddd4');
  h.aws.addPeering(PEERING, VPC, LISTED_VPC, PEER_ACCOUNT);
  h.aws.addPeering('pcx-0fffffffffffffff0', VPC, UNPEERED_VPC, PEER_ACCOUNT, 'deleted');
  h.aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [TARGET] });
  h.aws.addReplicationGroup({ id: 'wide-redis', engine: 'redis', port: 6379, securityGroupIds: [TARGET] });
});

afterEach(async () => {
  await h.stop();
});

async function refusal(text: string): Promise<string> {
  const reply = await h.command(text, 'U0ALICE');
  const answer = reply.text ? JSON.parse(reply.text) : (await h.slack.waitForResponse(reply.responseName)).body;
  expect(answer.response_type).toBe('ephemeral');
  expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
  expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  return String(answer.text);
}

async function accepted(text: string): Promise<void> {
  await h.command(text, 'U0ALICE');
  await h.approvalMessage(1);
  expect(h.query('select count(*) as n from requests')).toEqual([{ n: 1 }]);
}

describe('security groups in a peered VPC', () => {
  test('accepted when the policy lists the VPC: the rule names the peer account and the peering connection', async () => {
    await h.command(`orders-redis ${PEER_SOURCE} 1h`, 'U0ALICE');
    const approval = JSON.stringify((await h.approvalMessage(1)).body.blocks);
    expect(approval).toContain(`from \`${PEER_SOURCE}\` in peered \`${LISTED_VPC}\` (account \`${PEER_ACCOUNT}\`, via \`${PEERING}\`)`);

    await h.click('approve', 1, 'U0BOB');
    const [authorize] = (await waitUntil(() => {
      const calls = h.aws.callsOf('AuthorizeSecurityGroupIngress');
      return calls.length > 0 && calls;
    })) as any[];
    expect(authorize.IpPermissions[0].UserIdGroupPairs).toEqual([
      { GroupId: PEER_SOURCE, UserId: PEER_ACCOUNT, VpcPeeringConnectionId: PEERING, Description: expect.stringContaining('cache-access #1') },
    ]);
    const peering = JSON.stringify({ accountId: PEER_ACCOUNT, vpcId: LISTED_VPC, peeringConnectionId: PEERING });
    expect(h.query('select source_peering from requests')).toEqual([{ source_peering: peering }]);
    expect(h.query('select source_peering from ingress_rules')).toEqual([{ source_peering: peering }]);
  });

  test('a group in the same VPC names neither account nor peering', async () => {
    await h.command(`orders-redis ${LOCAL_SOURCE} 1h`, 'U0ALICE');
    await h.click('approve', 1, 'U0BOB');
    const [authorize] = (await waitUntil(() => {
      const calls = h.aws.callsOf('AuthorizeSecurityGroupIngress');
      return calls.length > 0 && calls;
    })) as any[];
    expect(authorize.IpPermissions[0].UserIdGroupPairs).toEqual([{ GroupId: LOCAL_SOURCE, Description: expect.any(String) }]);
    expect(h.aws.callsOf('DescribeVpcPeeringConnections')).toHaveLength(0);
  });

  test('refused when the policy does not list the VPC, naming the ones it does', async () => {
    const text = await refusal(`orders-redis ${UNLISTED_SOURCE} 1h`);
    expect(text).toContain(`Security group ${UNLISTED_SOURCE} is in vpc-0ddddddddddddddd4, but orders-redis is in ${VPC}`);
    expect(text).toContain(`or from a peered VPC the policy lists (${LISTED_VPC}, ${UNPEERED_VPC})`);
  });

  test('refused without any peeredVpcs in the policy rule', async () => {
    const text = await refusal(`wide-redis ${PEER_SOURCE} 1h`);
    expect(text).toContain(`use a security group from the cluster's VPC.`);
    expect(text).not.toContain('peered');
  });

  test('refused when the listed VPC has no active peering with the cluster', async () => {
    const text = await refusal(`orders-redis ${UNPEERED_SOURCE} 1h`);
    expect(text).toContain(`${UNPEERED_VPC} is listed as a peered VPC for orders-redis, but no active peering connection joins it to ${VPC}`);
  });
});

describe('CIDR width', () => {
  test.each([
    ['a /24 at the default limit', 'orders-redis 10.1.2.0/24'],
    ['a single IPv4 address', 'orders-redis 10.1.2.3/32'],
    ['a /64 at the default IPv6 limit', 'orders-redis 2001:db8:1:2::/64'],
    ['a /16 where the rule allows /16', 'wide-redis 10.1.0.0/16'],
    ['a /48 where the rule allows /48', 'wide-redis 2001:db8:1::/48'],
  ])('accepted: %s', async (_name, text) => {
    await accepted(`${text} 1h`);
  });

  test.each([
    ['a /23, wider than the default /24', 'orders-redis 10.1.2.0/23', /10\.1\.2\.0\/23 is wider than the policy allows for orders-redis: use a \/24 or narrower IPv4 range/],
    ['a /56, wider than the default /64', 'orders-redis 2001:db8:1::/56', /2001:db8:1::\/56 is wider than the policy allows for orders-redis: use a \/64 or narrower IPv6 range/],
    ['a /15 where the rule allows /16', 'wide-redis 10.0.0.0/15', /use a \/16 or narrower IPv4 range/],
    ['inside allowedCidrs is not enough', 'wide-redis 10.0.0.0/8', /10\.0\.0\.0\/8 is wider than the policy allows/],
    ['outside allowedCidrs, however narrow', 'orders-redis 192.168.1.1/32', /not allowed for orders-redis: the policy accepts ranges inside 10\.0\.0\.0\/8, 2001:db8::\/32/],
    ['the whole internet', 'wide-redis 0.0.0.0/0', /whole internet/],
  ])('refused: %s', async (_name, text, expected) => {
    expect(await refusal(`${text} 1h`)).toMatch(expected);
  });
});
