/**
 * Ending live sessions end to end through the bot's real HTTP endpoint: request, approval (whose message
 * says sessions will be ended), revoke, and the end-sessions job closing the granted source's connections
 * on both real redis-server nodes while another source keeps its own.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { openSession, startCacheNode, type CacheNodeProcess, type OpenSession } from '../support/cache-nodes.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';

const POLICY = `
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    endSessions: { auth: none }
`;

let h: BotHarness;
let nodes: CacheNodeProcess[];
let sessions: OpenSession[];

beforeEach(async () => {
  h = await startHarness(POLICY);
  const primary = await startCacheNode();
  nodes = [primary, await startCacheNode({ replicaOf: primary })];
  sessions = [];
  addRedisClusters(h.aws, []);
  h.aws.addReplicationGroup({
    id: 'orders-redis',
    engine: 'redis',
    port: 6379,
    securityGroupIds: [TARGET_GROUP],
    tls: false,
    nodes: nodes.map(({ host, port }) => ({ host, port })),
  });
  h.aws.addNetworkInterface('eni-0laptop', [SOURCE_GROUP], "ana's laptop", ['127.0.0.2']);
});

afterEach(async () => {
  for (const session of sessions) session.end();
  await h.stop();
  await Promise.all(nodes.map((node) => node.stop()));
});

test('revoking closes the open sessions the grant let in, and the thread and the requester are told how many', async () => {
  await h.command(`orders-redis ${SOURCE_GROUP} 1h checking a queue`, 'U0ALICE');
  const approval = await h.approvalMessage(1);
  expect(JSON.stringify(approval.body.blocks)).toContain('cache-access also closes the connections still open from this source');
  await h.click('approve', 1, 'U0BOB');
  await waitUntil(() => h.query<{ status: string }>('select status from requests where id = 1')[0]?.status === 'active', 10_000, '#1 active');

  for (const from of ['127.0.0.2', '127.0.0.3']) sessions.push(...(await Promise.all(nodes.map((node) => openSession(node, from)))));
  const granted = sessions.filter((s) => s.from === '127.0.0.2');
  const other = sessions.filter((s) => s.from === '127.0.0.3');

  const reply = await h.command('revoke 1', 'U0ALICE');
  expect(reply.status).toBe(200);
  await Promise.all(granted.map((s) => s.whenClosed));

  const thread = await h.slack.waitFor((c) => c.body.thread_ts !== undefined && String(c.body.text).includes('closed 2 open connections'));
  expect(String(thread.body.text)).toContain('from `sg-0a1b2c3d4e5f60789` to `orders-redis`');
  await h.slack.waitFor((c) => String(c.body.text).includes('2 open connections you had to `orders-redis` were closed'));
  expect(other.map((s) => s.closed)).toEqual([false, false]);
  const events = h.query<{ type: string; detail: string }>("select type, detail from events where request_id = 1 and type like 'sessions-%'");
  expect(events.map((e) => [e.type, JSON.parse(e.detail)])).toEqual([
    ['sessions-ended', { closed: 2, nodes: [{ node: 'orders-redis-001', closed: 1 }, { node: 'orders-redis-002', closed: 1 }] }],
  ]);
  expect(h.aws.rules.size).toBe(0);
});
