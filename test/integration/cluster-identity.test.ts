/**
 * Which policy rule decides a request is settled by the id AWS returns, not by how the requester
 * spelled it: a strict rule for a replication group is followed by a lenient catch-all that
 * auto-approves, and neither a node id of the group nor the group's id in capitals may reach the
 * catch-all. Over signed HTTP against the fake Slack and the fake AWS account (which, as AWS does,
 * finds ids in any case and knows the group's member nodes).
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';

const POLICY = `
clusters:
  - match: orders-redis
    approvers: [U0BOB, U0CAROL]
    channel: C0APPROVALS
    approvals: 2
  - match: "*"
    approvers: [U0BOB]
    autoApprove: { maxDuration: 8h, requesters: [U0ALICE] }
`;

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  addRedisClusters(h.aws, ['orders-redis']);
});

afterEach(async () => {
  await h.stop();
});

async function replyTo(text: string): Promise<string> {
  const reply = await h.command(text, 'U0ALICE');
  expect(reply.status).toBe(200);
  const answer = reply.text ? JSON.parse(reply.text) : (await h.slack.waitForResponse(reply.responseName)).body;
  return String(answer.text);
}

describe("a node of a replication group is not requestable under another rule than the group's", () => {
  test.each(['orders-redis-001', 'Orders-Redis-002'])('%s is refused, naming the group to ask for; nothing is stored or opened', async (nodeId) => {
    const text = await replyTo(`${nodeId} ${SOURCE_GROUP} 20m`);

    expect(text).toContain(`${nodeId.toLowerCase()} is a node of replication group orders-redis: ask for orders-redis`);
    expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);
  });
});

describe('cluster ids are compared in any case', () => {
  test("ORDERS-REDIS is orders-redis: stored under that id and decided by its strict rule, not auto-approved by \"*\"", async () => {
    const text = await replyTo(`ORDERS-REDIS ${SOURCE_GROUP} 20m`);

    expect(text).not.toContain('approved automatically');
    const [request] = await waitUntil(() => {
      const rows = h.query<{ id: number; cluster_id: string; policy_match: string; approvals_required: number; status: string }>(
        'select id, cluster_id, policy_match, approvals_required, status from requests',
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(request).toEqual({ id: 1, cluster_id: 'orders-redis', policy_match: 'orders-redis', approvals_required: 2, status: 'pending' });
    expect(JSON.stringify((await h.approvalMessage(1)).body.blocks)).toContain('0 of 2 approvals');
    expect(h.query("select count(*) as n from events where type = 'auto-approved'")).toEqual([{ n: 0 }]);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);
  });
});
