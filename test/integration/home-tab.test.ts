/**
 * The App Home tab over signed HTTP: app_home_opened → views.publish, validated by the fake Slack
 * (100 blocks at most), with 0, 1 and 200 grants; its buttons use the message listeners and checks.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase } from '../../src/adapters/db/open.js';
import type { NewAccessRequest } from '../../src/domain/request.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
`;

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  addRedisClusters(h.aws);
});

afterEach(async () => {
  await h.stop();
});

const json = (view: Record<string, unknown>) => JSON.stringify(view.blocks);
const statusOf = (id: number) => h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;

test('with nothing to show, the Home tab says so and has no buttons', async () => {
  const view = await h.openHome('U0ALICE');
  expect(view.type).toBe('home');
  expect(json(view)).toContain('No active access.');
  expect(json(view)).toContain('Nothing waiting.');
  expect(json(view)).not.toContain('"type":"button"');
  expect(json(view)).not.toContain('Waiting for your decision');
});

test('one pending request: the requester sees Cancel, the approver decides from Home with the same checks', async () => {
  await h.command(`orders-redis ${SOURCE_GROUP} 1h checkout`, 'U0ALICE');
  await h.approvalMessage(1);

  const mine = await h.openHome('U0ALICE');
  expect(json(mine)).toContain('Your pending requests');
  expect(json(mine)).toMatch(/"action_id":"end-access","text":\{[^}]*\},"value":"1"/);
  expect(json(mine)).not.toContain('"action_id":"approve"');

  // Someone who is not an approver clicking Approve changes nothing (the decision listener's check).
  const bobHome = await h.openHome('U0BOB');
  expect(json(bobHome)).toContain('Waiting for your decision');
  expect(json(bobHome)).toContain('checkout');
  await h.clickInHome('approve', 1, 'U0MALLORY', bobHome);
  // No response_url in the Home tab: the refusal reaches Mallory by DM instead of being lost.
  const refusal = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === 'U0MALLORY');
  expect(String(refusal.body.text)).toContain('not an approver for');
  expect(statusOf(1)).toBe('pending');

  const after = await h.clickInHome('approve', 1, 'U0BOB', bobHome);
  await waitUntil(() => statusOf(1) === 'active', 10_000, '#1 to be active');
  expect(json(after)).not.toContain('"action_id":"approve"');

  // Alice's tab shows the grant the next time she opens it; a click republishes only the clicker's tab.
  const active = await h.openHome('U0ALICE');
  expect(json(active)).toMatch(/1h left|59m left/);
  expect(json(active)).toContain('"action_id":"extend-access"');
  expect(json(active)).toContain('"action_id":"end-access"');
});

test("Cancel in the requester's Home tab withdraws the pending request and the tab shows it gone", async () => {
  await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
  await h.approvalMessage(1);
  const home = await h.openHome('U0ALICE');
  const after = await h.clickInHome('end-access', 1, 'U0ALICE', home);
  expect(statusOf(1)).toBe('cancelled');
  expect(json(after)).toContain('Nothing waiting.');
});

test('200 active grants, 200 pending requests and 200 awaiting a decision stay within 100 blocks, with the rest counted', async () => {
  const database = openDatabase(h.databasePath);
  const store = new SqliteGrantStore(database.db);
  const now = Date.now();
  const draft = (requesterId: string): NewAccessRequest => ({
    requesterId,
    requesterName: requesterId.toLowerCase(),
    clusterId: 'orders-redis',
    engine: 'redis',
    endpoint: 'orders-redis.example',
    port: 6379,
    vpcId: 'vpc-0aaaaaaaaaaaaaaa1',
    targetGroupId: TARGET_GROUP,
    source: { kind: 'security-group', groupId: SOURCE_GROUP },
    durationSeconds: 3600,
    reason: 'load test',
    policyMatch: 'orders-*',
    approvalsRequired: 1,
    createdAt: new Date(now),
  });
  try {
    for (let i = 0; i < 200; i++) {
      const { request } = await store.create(draft('U0ALICE'), { at: new Date(now), actor: 'U0ALICE', type: 'requested', detail: { durationSeconds: 3600, reason: 'test' } });
      const approvedAt = new Date(now);
      await store.save(
        { ...request, version: request.version + 1, status: 'active', approvals: [{ userId: 'U0BOB', at: approvedAt }], approvedAt, activatedAt: approvedAt, expiresAt: new Date(now + 3_600_000) },
        [{ at: approvedAt, actor: 'U0BOB', type: 'approved' }],
      );
      await store.create(draft('U0ALICE'), { at: new Date(now), actor: 'U0ALICE', type: 'requested', detail: { durationSeconds: 3600, reason: 'test' } });
    }
  } finally {
    database.close();
  }

  const alice = await h.openHome('U0ALICE');
  expect((alice.blocks as unknown[]).length).toBeLessThanOrEqual(100);
  expect(json(alice)).toContain('and 185 more');
  expect(json(alice)).toContain('/cache-access list');

  // Bob approves all 200 pending ones.
  const bob = await h.openHome('U0BOB');
  expect((bob.blocks as unknown[]).length).toBeLessThanOrEqual(100);
  expect(json(bob)).toContain('Waiting for your decision');
  expect(json(bob)).toContain('and 185 more');
});
