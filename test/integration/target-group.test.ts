/**
 * Which security group gets the rule, through the real HTTP endpoint: a cluster's only group; among
 * several, the policy's targetGroup or the one tagged cache-access:managed=true; anything else refused
 * with the groups listed and how to choose, storing and posting nothing.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "pinned-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    targetGroup: sg-0b0000000000000b2
  - match: "*"
    approvers: [U0BOB]
    channel: C0APPROVALS
`;
const FIRST = 'sg-0b0000000000000b1';
const SECOND = 'sg-0b0000000000000b2';
const THIRD = 'sg-0b0000000000000b3';
const SOURCE = 'sg-0a1b2c3d4e5f60789';

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  h.aws.addGroup(SOURCE);
});

afterEach(async () => {
  await h.stop();
});

/** Requests access, approves it, and returns the group AWS was asked to add the rule to. */
async function grantedGroup(clusterId: string): Promise<string> {
  await h.command(`${clusterId} ${SOURCE} 1h`, 'U0ALICE');
  const approval = await h.approvalMessage(1);
  await h.click('approve', 1, 'U0BOB');
  const [authorize] = await waitUntil(() => {
    const calls = h.aws.callsOf('AuthorizeSecurityGroupIngress');
    return calls.length > 0 && calls;
  });
  const group = String(authorize!.GroupId);
  // The approver was shown the same group the rule went to.
  expect(JSON.stringify(approval.body.blocks)).toContain(`on \`${group}\``);
  expect(h.query('select target_group_id from requests')).toEqual([{ target_group_id: group }]);
  return group;
}

async function refusal(text: string): Promise<string> {
  const reply = await h.command(text, 'U0ALICE');
  const answer = reply.text ? JSON.parse(reply.text) : (await h.slack.waitForResponse(reply.responseName)).body;
  expect(answer.response_type).toBe('ephemeral');
  expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
  expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);
  return String(answer.text);
}

describe('the group that gets the rule', () => {
  test('a cluster with one security group: that group', async () => {
    h.aws.addGroup(FIRST);
    h.aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [FIRST] });
    expect(await grantedGroup('orders-redis')).toBe(FIRST);
  });

  test('several groups: the one tagged cache-access:managed=true', async () => {
    h.aws.addGroup(FIRST, undefined, { tags: { team: 'orders' } });
    h.aws.addGroup(SECOND, undefined, { tags: { 'cache-access:managed': 'true' } });
    h.aws.addGroup(THIRD, undefined, { tags: { 'cache-access:managed': 'false' } });
    h.aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [FIRST, SECOND, THIRD] });
    expect(await grantedGroup('orders-redis')).toBe(SECOND);
  });

  test("several groups: the policy rule's targetGroup, even when another is tagged", async () => {
    h.aws.addGroup(FIRST, undefined, { tags: { 'cache-access:managed': 'true' } });
    h.aws.addGroup(SECOND);
    h.aws.addReplicationGroup({ id: 'pinned-redis', engine: 'redis', port: 6379, securityGroupIds: [FIRST, SECOND] });
    expect(await grantedGroup('pinned-redis')).toBe(SECOND);
  });
});

describe('refused when the choice is not clear', () => {
  test('several groups, none tagged and no targetGroup: the groups are listed with how to choose', async () => {
    h.aws.addGroup(FIRST);
    h.aws.addGroup(THIRD);
    h.aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [FIRST, THIRD] });
    const text = await refusal(`orders-redis ${SOURCE} 1h`);
    expect(text).toContain(`orders-redis has 2 security groups (${FIRST}, ${THIRD}) and none is tagged cache-access:managed=true`);
    expect(text).toContain('Tag exactly one of them cache-access:managed=true, or set targetGroup');
  });

  test('two groups tagged: refused, naming both', async () => {
    h.aws.addGroup(FIRST, undefined, { tags: { 'cache-access:managed': 'true' } });
    h.aws.addGroup(THIRD, undefined, { tags: { 'cache-access:managed': 'true' } });
    h.aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [FIRST, THIRD] });
    const text = await refusal(`orders-redis ${SOURCE} 1h`);
    expect(text).toContain(`${FIRST} and ${THIRD} are all tagged cache-access:managed=true on orders-redis`);
  });

  test('a targetGroup the cluster does not use: refused, naming what it uses', async () => {
    h.aws.addGroup(FIRST);
    h.aws.addReplicationGroup({ id: 'pinned-redis', engine: 'redis', port: 6379, securityGroupIds: [FIRST] });
    const text = await refusal(`pinned-redis ${SOURCE} 1h`);
    expect(text).toContain(`The policy names ${SECOND} as the target group for pinned-redis, but the cluster uses ${FIRST}`);
  });
});
