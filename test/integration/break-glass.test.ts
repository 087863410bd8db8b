/**
 * Break-glass end to end, through Bolt's HTTP endpoint with signed requests, the fake Slack server
 * (which rejects invalid Block Kit), the fake AWS account, real Redis and SQLite: access opened at once
 * for a listed requester, the loud message to the approvers and the notify channel, the review (never
 * by the requester), the daily limit, Revoke now, and the daily reminder of unreviewed grants.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { Clock } from '../../src/app/ports.js';
import { startHarness, SIGNING_SECRET, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';
import { blockActionBody, postToSlackEndpoint } from '../support/slack-request.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    # U0ALICE is on call and an approver: she may break glass, and may not review her own.
    approvers: [U0BOB, U0CAROL, U0ALICE]
    channel: C0APPROVALS
    breakGlass: { maxDuration: 1h, requesters: [S0ONCALL], notify: C0SECURITY, perDay: 2 }
  - match: "plain-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
`;
const REASON = 'checkout is down INC-7';
const DAY_MS = 24 * 3_600_000;

let h: BotHarness;

/** The use cases' clock, moved ahead by `ahead` ms; Redis and Slack keep real time. */
const clock: Clock & { ahead: number } = { ahead: 0, now: () => new Date(Date.now() + clock.ahead) };

async function start(): Promise<void> {
  clock.ahead = 0;
  h = await startHarness(POLICY, { usergroups: { S0ONCALL: ['U0ALICE', 'U0ERIN'] }, env: { RECONCILE_INTERVAL: '1s' }, clock });
  addRedisClusters(h.aws, ['orders-redis', 'plain-redis']);
}

afterEach(async () => {
  await h?.stop();
});

const statusOf = (id: number) => h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;
const waitForStatus = (id: number, status: string) => waitUntil(() => statusOf(id) === status, 10_000, `#${id} to be ${status} (is ${statusOf(id)})`);
const eventTypes = (id: number) => h.query<{ type: string }>('select type from events where request_id = ? order by id', id).map((e) => e.type);
const requestCount = () => h.query<{ n: number }>('select count(*) as n from requests')[0]!.n;

/** Runs `/cache-access <text>` as `userId` and returns the ephemeral answer's text. */
async function run(text: string, userId: string): Promise<string> {
  const reply = await h.command(text, userId);
  expect(reply.status).toBe(200);
  const answer = await h.slack.waitForResponse(reply.responseName, { timeoutMs: 10_000 });
  expect(answer.body.response_type).toBe('ephemeral');
  return String(answer.body.text);
}

/** Where the break-glass message of `id` was posted in `channel`. */
async function alertIn(id: number, channel: string): Promise<string> {
  const [row] = await waitUntil(() => {
    const rows = h.query<{ ts: string }>("select ts from slack_messages where request_id = ? and kind = 'approval' and channel = ?", id, channel);
    return rows.length > 0 ? rows : undefined;
  }, 10_000, `the alert of #${id} in ${channel}`);
  return row!.ts;
}

/** The alert's current blocks in `channel`, after any updates. */
async function alertBlocks(id: number, channel: string): Promise<string> {
  return JSON.stringify(h.slack.message(channel, await alertIn(id, channel))?.blocks);
}

async function alertShows(id: number, channel: string, test: (blocks: string) => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!test(await alertBlocks(id, channel))) {
    if (Date.now() > deadline) throw new Error(`the alert of #${id} in ${channel} never matched: ${await alertBlocks(id, channel)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Clicks `actionId` on the alert of `id` in C0APPROVALS as `userId`; returns the ephemeral answer. */
async function clickAlert(actionId: string, id: number, userId: string): Promise<string> {
  const responseName = `click-${actionId}-${Math.random().toString(36).slice(2)}`;
  const body = blockActionBody({
    userId,
    actionId,
    value: String(id),
    messageTs: await alertIn(id, 'C0APPROVALS'),
    channelId: 'C0APPROVALS',
    responseUrl: h.slack.responseUrl(responseName),
  });
  expect((await postToSlackEndpoint(h.eventsUrl, SIGNING_SECRET, body)).status).toBe(200);
  return String((await h.slack.waitForResponse(responseName, { timeoutMs: 10_000 })).body.text);
}

async function breakGlass(id: number, userId = 'U0ALICE', duration = '30m'): Promise<void> {
  expect(await run(`break-glass orders-redis ${SOURCE_GROUP} ${duration} ${REASON}`, userId)).toContain(`Break-glass #${id}`);
  await waitForStatus(id, 'active');
}

describe('break-glass', () => {
  test('opens the rule at once without approval, and tells the approvers and the notify channel loudly', async () => {
    await start();
    const answer = await run(`break-glass orders-redis ${SOURCE_GROUP} 30m ${REASON}`, 'U0ALICE');
    expect(answer).toContain('Break-glass #1');
    expect(answer).toContain('<#C0APPROVALS> and <#C0SECURITY>');

    await waitForStatus(1, 'active');
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
    expect(h.query('select * from approvals where request_id = 1')).toEqual([]);
    expect(h.query('select break_glass, reviewed_by from requests where id = 1')).toEqual([{ break_glass: 1, reviewed_by: null }]);
    expect(eventTypes(1).slice(0, 2)).toEqual(['requested', 'break-glass']);
    expect(eventTypes(1)).toContain('activated');

    for (const channel of ['C0APPROVALS', 'C0SECURITY']) {
      // Updated on activation: it says until when.
      await alertShows(1, channel, (blocks) => blocks.includes('Open until'));
      const blocks = await alertBlocks(1, channel);
      expect(blocks).toContain('BREAK-GLASS access #1');
      expect(blocks).toContain('<@U0ALICE>');
      expect(blocks).toContain('orders-redis');
      expect(blocks).toContain(REASON);
      expect(blocks).toContain('Unreviewed');
      expect(blocks).toContain('"action_id":"break-glass-reviewed"');
      expect(blocks).toContain('"action_id":"end-access"');
    }
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && JSON.stringify(c.body).includes('You broke glass for #1'));
  });

  test('refuses, storing nothing: a requester the policy does not list, a cluster without breakGlass, no reason, too long', async () => {
    await start();
    expect(await run(`break-glass orders-redis ${SOURCE_GROUP} 30m ${REASON}`, 'U0BOB')).toContain('You are not among the people the policy lets break glass for orders-redis');
    expect(await run(`break-glass plain-redis ${SOURCE_GROUP} 30m ${REASON}`, 'U0ALICE')).toContain('Break-glass is not enabled for plain-redis');
    // Refused while parsing, in the acknowledgement itself.
    expect((await h.command(`break-glass orders-redis ${SOURCE_GROUP} 30m`, 'U0ALICE')).text).toContain('Break-glass needs a reason');
    expect(await run(`break-glass orders-redis ${SOURCE_GROUP} 2h ${REASON}`, 'U0ALICE')).toContain('lasts between 1s and 1h');

    expect(requestCount()).toBe(0);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  test('the requester cannot review their own; an approver does, the messages say so, and a second review changes nothing', async () => {
    await start();
    await breakGlass(1);
    const list = async (userId: string) => {
      const reply = await h.command('list', userId);
      return JSON.stringify((await h.slack.waitForResponse(reply.responseName, { timeoutMs: 10_000 })).body);
    };
    expect(await list('U0CAROL')).toContain('Break-glass grants to review');
    expect(await list('U0ALICE')).not.toContain('Break-glass grants to review');

    expect(await clickAlert('break-glass-reviewed', 1, 'U0ALICE')).toContain('You cannot review your own break-glass grant #1');
    expect(await clickAlert('break-glass-reviewed', 1, 'U0ERIN')).toContain('You are not an approver for orders-redis');
    expect(h.query('select reviewed_by from requests where id = 1')).toEqual([{ reviewed_by: null }]);

    expect(await clickAlert('break-glass-reviewed', 1, 'U0BOB')).toContain('Recorded your review of break-glass #1');
    expect(h.query('select reviewed_by from requests where id = 1')).toEqual([{ reviewed_by: 'U0BOB' }]);
    for (const channel of ['C0APPROVALS', 'C0SECURITY']) {
      await alertShows(1, channel, (blocks) => blocks.includes('Reviewed by <@U0BOB>'));
      expect(await alertBlocks(1, channel)).not.toContain('"action_id":"break-glass-reviewed"');
    }
    expect(await list('U0CAROL')).not.toContain('Break-glass grants to review');

    expect(await clickAlert('break-glass-reviewed', 1, 'U0CAROL')).toContain('already reviewed by <@U0BOB>');
    expect(h.query("select actor from events where request_id = 1 and type = 'break-glass-reviewed'")).toEqual([{ actor: 'U0BOB' }]);
    expect(statusOf(1)).toBe('active');
  });

  test('more than perDay in 24 h is refused with the time the next is possible', async () => {
    await start();
    await breakGlass(1);
    await breakGlass(2, 'U0ALICE', '20m');
    // Another on-call person has their own count.
    await breakGlass(3, 'U0ERIN');

    const first = h.query<{ created_at: number }>('select created_at from requests where id = 1')[0]!.created_at;
    const answer = await run(`break-glass orders-redis ${SOURCE_GROUP} 30m ${REASON}`, 'U0ALICE');
    expect(answer).toContain('the most the policy allows (perDay: 2)');
    expect(answer).toContain(`The next is possible at ${new Date(first + DAY_MS).toISOString()}`);
    expect(requestCount()).toBe(3);
  });

  test('Revoke now on the alert ends the grant and removes the rule', async () => {
    await start();
    await breakGlass(1);
    expect(await clickAlert('end-access', 1, 'U0CAROL')).toContain('Revoking #1 now');
    await waitForStatus(1, 'revoked');
    expect(h.aws.callsOf('RevokeSecurityGroupIngress')).toHaveLength(1);
    await alertShows(1, 'C0SECURITY', (blocks) => blocks.includes('Revoked by <@U0CAROL>'));
    const blocks = await alertBlocks(1, 'C0SECURITY');
    expect(blocks).not.toContain('"action_id":"end-access"');
    // Still to be reviewed after it ended.
    expect(blocks).toContain('"action_id":"break-glass-reviewed"');
  });

  test('a grant still unreviewed a day later: the approvers are reminded in its threads, once a day', async () => {
    await start();
    await breakGlass(1);
    const reminders = () =>
      h.slack.callsTo('chat.postMessage').filter((c) => c.body.thread_ts !== undefined && String(c.body.text).includes('nobody has reviewed it yet'));
    const reminderEvents = () => h.query("select actor from events where request_id = 1 and type = 'break-glass-review-reminded'").length;

    // Several reconcile passes (every second) within the first day: no reminder.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reminders()).toHaveLength(0);

    clock.ahead = DAY_MS + 60_000;
    // Recorded once posted: both threads (the approvers' channel and the notify channel) have it by then.
    await waitUntil(() => reminderEvents() === 1, 10_000, 'the first day’s reminder');
    expect(reminders().map((c) => c.body.channel).sort()).toEqual(['C0APPROVALS', 'C0SECURITY']);
    const text = String(reminders()[0]!.body.text);
    // The approvers who may review it are named; the requester only as who broke glass.
    expect(text).toMatch(/^:rotating_light: <@U0BOB> <@U0CAROL>: break-glass grant #1 by <@U0ALICE>/);

    // Later passes the same day remind nobody again; the next day does.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reminderEvents()).toBe(1);
    clock.ahead = 2 * DAY_MS + 120_000;
    await waitUntil(() => reminderEvents() === 2, 10_000, 'the second day’s reminder');

    // Reviewed: no more reminders.
    expect(await clickAlert('break-glass-reviewed', 1, 'U0BOB')).toContain('Recorded your review');
    clock.ahead = 4 * DAY_MS;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reminderEvents()).toBe(2);
  });
});
