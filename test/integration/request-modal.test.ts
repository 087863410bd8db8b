/**
 * The request form, end to end over signed HTTP: `/cache-access` alone opens it, a submission goes
 * through the same checks as the slash command, refusals appear beside their field, and a valid
 * one closes the form and creates the request.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { SIGNING_SECRET, startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';
import { postToSlackEndpoint, viewElementActionBody } from '../support/slack-request.js';

const POLICY = `
defaults:
  minDuration: 5m
clusters:
  - match: "orders-redis"
    approvers: [U0BOB]
    channel: C0APPROVALS
    maxDuration: 2h
  - match: "team-*"
    approvers: [U0BOB]
    maxDuration: 4h
`;

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  addRedisClusters(h.aws, ['orders-redis', 'team-sessions', 'unlisted-redis']);
});

afterEach(async () => {
  await h.stop();
});

const select = (value: string) => ({ type: 'static_select', selected_option: { text: { type: 'plain_text', text: value }, value } });
const text = (value: string) => ({ type: 'plain_text_input', value });

function fields(cluster: string, source: string, durationSeconds: number | undefined, reason: string) {
  return {
    cluster: { cluster: select(cluster) },
    source: { source: text(source) },
    duration: { duration: durationSeconds === undefined ? { type: 'static_select', selected_option: null } : select(String(durationSeconds)) },
    reason: { reason: text(reason) },
  };
}

function optionsOf(view: Record<string, unknown>, blockId: string): string[] {
  const block = (view.blocks as any[]).find((b) => b.block_id === blockId);
  return (block.element.options ?? []).map((o: { value: string }) => o.value);
}

test('the form lists only covered clusters (exact names and glob matches found in AWS) and durations within the policy', async () => {
  await h.openModal('U0ALICE');
  // Glob rules need an AWS listing, which arrives as an update of the open form.
  const update = await h.slack.waitFor('views.update');
  const view = update.body.view as Record<string, unknown>;
  expect(optionsOf(view, 'cluster')).toEqual(['orders-redis', 'team-sessions']);
  const durations = optionsOf(view, 'duration').map(Number);
  expect(Math.min(...durations)).toBe(300);
  expect(Math.max(...durations)).toBe(4 * 3600);
  expect(durations).toContain(3600);

  // A second opening uses the list it already has: no update needed.
  const opened = h.slack.callsTo('views.open').length;
  await h.openModal('U0ALICE');
  await waitUntil(() => h.slack.callsTo('views.open').length > opened);
  expect(optionsOf(h.slack.callsTo('views.open').at(-1)!.body.view as Record<string, unknown>, 'cluster')).toEqual(['orders-redis', 'team-sessions']);
  expect(h.slack.callsTo('views.update')).toHaveLength(1);
});

test('`/cache-access help` still prints usage, and opens nothing', async () => {
  const reply = await h.command('help', 'U0ALICE');
  expect(JSON.parse(reply.text).text).toContain('*Usage:*');
  expect(h.slack.callsTo('views.open')).toHaveLength(0);
});

test('a malformed source is refused beside its field, and nothing is stored', async () => {
  const view = await h.openModal('U0ALICE');
  const answer = await h.submitModal('U0ALICE', view, fields('orders-redis', 'sg-123', 3600, 'debugging'));
  expect(answer.status).toBe(200);
  expect(answer.body.response_action).toBe('errors');
  expect(Object.keys(answer.body.errors)).toEqual(['source']);
  expect(answer.body.errors.source).toContain('not a valid security group id');
  expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
});

test("a duration beyond the chosen cluster's maximum is refused beside the duration", async () => {
  const view = await h.openModal('U0ALICE');
  const answer = await h.submitModal('U0ALICE', view, fields('orders-redis', SOURCE_GROUP, 4 * 3600, ''));
  expect(answer.body).toEqual({ response_action: 'errors', errors: { duration: expect.stringContaining('between 5m and 2h') } });
  expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
});

test('an unknown source group, found only by asking AWS, is refused beside the source', async () => {
  const view = await h.openModal('U0ALICE');
  const answer = await h.submitModal('U0ALICE', view, fields('orders-redis', 'sg-0123456789abcdef0', 3600, ''));
  expect(answer.body).toEqual({ response_action: 'errors', errors: { source: expect.stringContaining('sg-0123456789abcdef0 does not exist') } });
});

test('a valid submission closes the form, creates the request as the command does, and tells the requester by DM', async () => {
  const view = await h.openModal('U0ALICE');
  const answer = await h.submitModal('U0ALICE', view, fields('orders-redis', SOURCE_GROUP, 1800, 'checkout latency'));
  expect(answer.status).toBe(200);
  expect(answer.body).toBeUndefined(); // an empty acknowledgement closes the modal
  const [row] = await waitUntil(() => {
    const rows = h.query<Record<string, unknown>>('select * from requests');
    return rows.length > 0 ? rows : undefined;
  });
  expect(row).toMatchObject({ requester_id: 'U0ALICE', cluster_id: 'orders-redis', source: SOURCE_GROUP, duration_seconds: 1800, reason: 'checkout latency', status: 'pending' });
  const approval = await h.approvalMessage(1);
  expect(approval.body.channel).toBe('C0APPROVALS');
  const dm = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D'));
  expect(String(dm.body.text)).toContain('#1');

  // The same submission delivered again stores nothing twice.
  await h.submitModal('U0ALICE', view, fields('orders-redis', SOURCE_GROUP, 1800, 'checkout latency'));
  expect(h.query('select count(*) as n from requests')).toEqual([{ n: 1 }]);
});

test('the DM sent after a submission is kept, so a later decision updates it in place', async () => {
  const view = await h.openModal('U0ALICE');
  await h.submitModal('U0ALICE', view, fields('orders-redis', SOURCE_GROUP, 1800, 'checkout latency'));
  const received = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D'));
  expect(String(received.body.text)).toContain('waiting for approval');
  // Stored once Slack has answered the post, a moment after the fake saw it.
  await waitUntil(() => h.query("select ts from slack_messages where request_id = 1 and kind = 'requester'").length === 1, 5_000, 'the DM to be stored');

  await h.click('deny', 1, 'U0BOB');
  const refreshed = await h.slack.waitFor((c) => c.method === 'chat.update' && c.body.channel === received.body.channel, { timeoutMs: 5_000 });
  expect(String(refreshed.body.text)).toContain('#1 was denied by <@U0BOB>');
  expect(JSON.stringify(refreshed.body.blocks)).not.toContain('waiting for approval');
});

test("leaving the duration empty takes the cluster's default", async () => {
  const view = await h.openModal('U0ALICE');
  await h.submitModal('U0ALICE', view, fields('team-sessions', SOURCE_GROUP, undefined, ''));
  const [row] = await waitUntil(() => h.query<{ duration_seconds: number }>('select duration_seconds from requests')[0] && h.query<{ duration_seconds: number }>('select duration_seconds from requests'));
  expect(row!.duration_seconds).toBe(3600);
});

/** Picks `clusterId` in the form's cluster menu, as Slack reports it (dispatch_action), with the form's other inputs. */
async function pickCluster(view: Record<string, unknown>, clusterId: string, durationSeconds: number | undefined) {
  const action = { type: 'static_select', action_id: 'cluster', block_id: 'cluster', selected_option: select(clusterId).selected_option };
  const values = fields(clusterId, SOURCE_GROUP, durationSeconds, 'checkout latency');
  return postToSlackEndpoint(h.eventsUrl, SIGNING_SECRET, viewElementActionBody({ userId: 'U0ALICE', view, action, values }));
}

const durationBlock = (view: Record<string, unknown>) => (view.blocks as any[]).find((b) => b.block_id === 'duration');

test("picking a cluster narrows the duration menu to that cluster's range, and keeps the rest of the form", async () => {
  await h.openModal('U0ALICE');
  await h.slack.waitFor('views.update'); // the AWS listing
  const view = [...h.slack.views.values()].filter((v) => v.type === 'modal').at(-1)!;
  expect((view.blocks as any[]).find((b) => b.block_id === 'cluster').dispatch_action).toBe(true);
  expect(Math.max(...optionsOf(view, 'duration').map(Number))).toBe(4 * 3600);

  // 4h was chosen first; orders-redis allows 2h at most, so its default (1h) takes the place of 4h.
  const reply = await pickCluster(view, 'orders-redis', 4 * 3600);
  expect(reply).toEqual({ status: 200, text: '' });
  const narrowed = await waitUntil(() => h.slack.callsTo('views.update')[1], 5_000, 'the update for orders-redis');
  expect(narrowed.body).toMatchObject({ view_id: view.id, hash: view.hash });
  const updated = narrowed.body.view as Record<string, unknown>;
  const durations = optionsOf(updated, 'duration').map(Number);
  expect(Math.min(...durations)).toBe(300);
  expect(Math.max(...durations)).toBe(2 * 3600);
  expect(durationBlock(updated).element.initial_option.value).toBe('3600');
  expect(optionsOf(updated, 'cluster')).toEqual(['orders-redis', 'team-sessions']);
  expect((updated.blocks as any[]).map((b) => [b.block_id, b.element.action_id])).toEqual(
    (view.blocks as any[]).map((b) => [b.block_id, b.element.action_id]),
  );

  // Then team-sessions: its own range, and the 30m already chosen stays chosen.
  await pickCluster(h.slack.views.get(String(view.id))!, 'team-sessions', 1800);
  const widened = await waitUntil(() => h.slack.callsTo('views.update')[2], 5_000, 'the update for team-sessions');
  expect(Math.max(...optionsOf(widened.body.view as Record<string, unknown>, 'duration').map(Number))).toBe(4 * 3600);
  expect(durationBlock(widened.body.view as Record<string, unknown>).element.initial_option.value).toBe('1800');
});

test('a form that changed before the AWS cluster list arrived keeps the clusters it lists, and tells nobody of an error', async () => {
  await h.stop();
  const logs: Array<{ msg: string }> = [];
  h = await startHarness(POLICY, { logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }) });
  addRedisClusters(h.aws, ['orders-redis', 'team-sessions']);
  // As Slack answers an update whose hash is stale: a cluster was picked, and its update came first.
  h.slack.failNext('views.update', 'hash_conflict');
  await h.openModal('U0ALICE');
  await waitUntil(() => logs.find((l) => l.msg.includes('before the AWS cluster list arrived')), 5_000, 'the hash conflict logged');
  expect(h.slack.callsTo('views.update')).toHaveLength(1);
  expect(h.slack.responses).toEqual([]);
});
