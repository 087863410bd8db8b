/**
 * The App Home tab over signed HTTP: app_home_opened → views.publish, validated by the fake Slack
 * (100 blocks at most), with 0, 1 and 200 grants, and break-glass grants to review; its buttons use the
 * message listeners and checks.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase } from '../../src/adapters/db/open.js';
import type { NewHistoryEvent } from '../../src/app/ports.js';
import type { AccessRequest, NewAccessRequest } from '../../src/domain/request.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
  - match: "payments-*"
    # Alice is on call and an approver: she may break glass, and may not review her own.
    approvers: [U0BOB, U0ALICE]
    breakGlass: { maxDuration: 1h, requesters: [U0ALICE] }
`;

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  addRedisClusters(h.aws, ['orders-redis', 'payments-redis']);
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

/** Writes requests straight into the bot's database, more than a test could make through Slack. */
async function seed(write: (records: Seeder) => Promise<void>): Promise<void> {
  const database = openDatabase(h.databasePath);
  const store = new SqliteGrantStore(database.db);
  const now = Date.now();
  const draft = (requesterId: string, clusterId: string): NewAccessRequest => ({
    requesterId,
    requesterName: requesterId.toLowerCase(),
    clusterId,
    engine: 'redis',
    endpoint: `${clusterId}.example`,
    port: 6379,
    vpcId: 'vpc-0aaaaaaaaaaaaaaa1',
    targetGroupId: TARGET_GROUP,
    source: { kind: 'security-group', groupId: SOURCE_GROUP },
    durationSeconds: 3600,
    reason: 'load test',
    policyMatch: `${clusterId.split('-')[0]}-*`,
    approvalsRequired: 1,
    createdAt: new Date(now),
  });
  const records: Seeder = {
    async pending(requesterId, clusterId = 'orders-redis') {
      const event = { at: new Date(now), actor: requesterId, type: 'requested', detail: { durationSeconds: 3600, reason: 'test' } } as const;
      return (await store.create(draft(requesterId, clusterId), event)).request;
    },
    async active(requesterId, clusterId = 'orders-redis', { breakGlass = false } = {}) {
      const request = await records.pending(requesterId, clusterId);
      const at = new Date(now);
      const [approval, decided]: [Partial<AccessRequest>, NewHistoryEvent] = breakGlass
        ? [{ breakGlass: {} }, { at, actor: requesterId, type: 'break-glass', detail: { policyMatch: request.policyMatch } }]
        : [{ approvals: [{ userId: 'U0BOB', at }] }, { at, actor: 'U0BOB', type: 'approved' }];
      const opened = { version: request.version + 1, status: 'active', approvedAt: at, activatedAt: at, expiresAt: new Date(now + 3_600_000) } as const;
      await store.save({ ...request, ...approval, ...opened }, [decided]);
    },
  };
  try {
    await write(records);
  } finally {
    database.close();
  }
}

interface Seeder {
  pending(requesterId: string, clusterId?: string): Promise<AccessRequest>;
  active(requesterId: string, clusterId?: string, options?: { breakGlass?: boolean }): Promise<void>;
}

test('200 active grants, 200 pending requests and 200 awaiting a decision stay within 100 blocks, with the rest counted', async () => {
  await seed(async (records) => {
    for (let i = 0; i < 200; i++) {
      await records.active('U0ALICE');
      await records.pending('U0ALICE');
    }
  });

  const alice = await h.openHome('U0ALICE');
  expect((alice.blocks as unknown[]).length).toBeLessThanOrEqual(100);
  expect(json(alice)).toContain('and 185 more');
  expect(json(alice)).toContain('more, not shown; use `/cache-access status <id>` for one');

  // Bob approves all 200 pending ones.
  const bob = await h.openHome('U0BOB');
  expect((bob.blocks as unknown[]).length).toBeLessThanOrEqual(100);
  expect(json(bob)).toContain('Waiting for your decision');
  expect(json(bob)).toContain('and 185 more');
});

test("an approver's Home tab lists the break-glass grants they may review; Reviewed there goes through the review's checks", async () => {
  const reply = await h.command(`break-glass payments-redis ${SOURCE_GROUP} 30m checkout is down INC-7`, 'U0ALICE');
  expect(String((await h.slack.waitForResponse(reply.responseName, { timeoutMs: 10_000 })).body.text)).toContain('Break-glass #1');
  await waitUntil(() => statusOf(1) === 'active', 10_000, '#1 to be active');
  const [times] = h.query<{ approved_at: number; expires_at: number }>('select approved_at, expires_at from requests where id = 1');
  const date = (ms: number) => `<!date^${Math.floor(ms / 1000)}^`;

  const bob = await h.openHome('U0BOB');
  const blocks = bob.blocks as Array<{ type: string; text?: { text: string }; elements?: unknown[] }>;
  const header = blocks.findIndex((b) => b.type === 'header' && b.text?.text === 'Break-glass grants to review');
  expect(header).toBeGreaterThan(0);
  const item = blocks[header + 1]!.text!.text;
  expect(item).toContain('*#1* `payments-redis`');
  expect(item).toContain(`opened by <@U0ALICE> ${date(times!.approved_at)}`);
  expect(item).toContain(`without approval, open until ${date(times!.expires_at)}`);
  expect(item).toContain('*Why:* checkout is down INC-7');
  expect(blocks[header + 2]!.elements).toEqual([expect.objectContaining({ type: 'button', action_id: 'break-glass-reviewed', value: '1' })]);

  // Not for the requester, though she is an approver, nor for someone who is not one.
  expect(json(await h.openHome('U0ALICE'))).not.toContain('Break-glass grants to review');
  expect(json(await h.openHome('U0ERIN'))).not.toContain('Break-glass grants to review');

  // The button is the loud message's: clicked from Bob's tab by others, the review's own checks refuse them.
  const dmTo = (userId: string, text: string) =>
    h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === userId && String(c.body.text).includes(text));
  await h.clickInHome('break-glass-reviewed', 1, 'U0ALICE', bob);
  await dmTo('U0ALICE', 'You cannot review your own break-glass grant #1');
  await h.clickInHome('break-glass-reviewed', 1, 'U0ERIN', bob);
  await dmTo('U0ERIN', 'You are not an approver for payments-redis');
  expect(h.query("select actor from events where request_id = 1 and type = 'break-glass-reviewed'")).toEqual([]);

  const after = await h.clickInHome('break-glass-reviewed', 1, 'U0BOB', bob);
  await dmTo('U0BOB', 'Recorded your review of break-glass #1');
  expect(h.query("select actor from events where request_id = 1 and type = 'break-glass-reviewed'")).toEqual([{ actor: 'U0BOB' }]);
  expect(json(after)).not.toContain('Break-glass grants to review');
});

test('with all four sections long, the Home tab shares its 100 blocks among them and counts the rest of each', async () => {
  await seed(async (records) => {
    for (let i = 0; i < 20; i++) {
      await records.active('U0BOB');
      await records.pending('U0BOB');
      await records.pending('U0ALICE');
      await records.active('U0ALICE', 'payments-redis', { breakGlass: true });
    }
  });

  const bob = await h.openHome('U0BOB');
  const blocks = bob.blocks as Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }>;
  expect(blocks.length).toBeLessThanOrEqual(100);
  const headers = blocks.filter((b) => b.type === 'header').map((b) => b.text!.text);
  expect(headers).toEqual(['Your access', 'Your pending requests', 'Waiting for your decision', 'Break-glass grants to review']);
  const reviewed = blocks.filter((b) => b.type === 'actions' && JSON.stringify(b).includes('"action_id":"break-glass-reviewed"'));
  // 1 + 4 × (header + count) leave room for 45 two-block items: 11 a section, the one over to the last.
  expect(reviewed).toHaveLength(12);
  const counted = blocks.filter((b) => b.type === 'context').map((b) => b.elements![0]!.text);
  expect(counted.map((text) => /and (\d+) more/.exec(text)?.[1])).toEqual(['9', '9', '9', '8']);
});
