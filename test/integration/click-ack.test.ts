/**
 * Button clicks are acknowledged before their work runs. Slack shows a click as failed when its HTTP
 * request is not answered within 3 s (Bolt answers 404 by then), and the work can take longer: here
 * Slack itself is slow, answering the click's first call 429 with Retry-After 3, which the bot waits out.
 * Each click must still be answered 200 at once, and its work finish seconds later. Driven through
 * Bolt's HTTP endpoint with signed requests, the fake Slack server, real Redis and SQLite.
 */
import { afterEach, expect, test } from 'vitest';
import { startHarness, SIGNING_SECRET, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';
import { blockActionBody, postToSlackEndpoint } from '../support/slack-request.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0BOB, U0CAROL]
    channel: C0APPROVALS
    maxDuration: 1h
    maxTotal: 3h
`;

const RETRY_AFTER_SECONDS = 3;
/** Well under Slack's 3 s, with room for a busy machine. */
const ACK_WITHIN_MS = 1_000;

let h: BotHarness;

afterEach(async () => {
  await h?.stop();
});

async function start(): Promise<void> {
  h = await startHarness(POLICY);
  addRedisClusters(h.aws, ['orders-redis']);
}

/** #1 pending, with its approval message posted and stored (so a decision has a message to update). */
async function pendingRequest(): Promise<void> {
  await h.command(`orders-redis ${SOURCE_GROUP} 1h investigating`, 'U0ALICE');
  await waitUntil(() => h.query("select ts from slack_messages where request_id = 1 and kind = 'approval'").length === 1, 5_000, 'the approval message');
}

/** #1 active, with Slack quiet again: the approval and activation DMs posted and stored. */
async function activeGrant(): Promise<void> {
  await pendingRequest();
  await h.click('approve', 1, 'U0BOB');
  await waitUntil(() => h.query("select ts from slack_messages where request_id = 1 and kind = 'requester'").length === 2, 5_000, 'both requester DMs');
  expect(h.query('select status from requests where id = 1')).toEqual([{ status: 'active' }]);
}

/** #1 active with an extension waiting, its message posted and recorded. */
async function extensionWaiting(): Promise<void> {
  await activeGrant();
  const reply = await h.command('extend 1 1h', 'U0ALICE');
  expect(String((await h.slack.waitForResponse(reply.responseName)).body.text)).toContain('Asked the approvers');
}

/**
 * Clicks `actionId` on #1 as `userId` while Slack answers the next `slowMethod` call 429 with
 * Retry-After 3. Returns how long the click took to be answered and how long until `done` saw its
 * work finished (both from the click).
 */
async function clickWhileSlackIsSlow(
  slowMethod: string,
  actionId: string,
  userId: string,
  done: (responseName: string) => Promise<unknown>,
): Promise<{ status: number; answeredMs: number; finishedMs: number }> {
  h.slack.failNext(slowMethod, 'ratelimited', { status: 429, retryAfter: RETRY_AFTER_SECONDS });
  const responseName = `click-${actionId}`;
  const body = blockActionBody({
    userId,
    actionId,
    value: '1',
    messageTs: '1.000001',
    channelId: 'C0APPROVALS',
    responseUrl: h.slack.responseUrl(responseName),
  });
  const started = performance.now();
  const reply = await postToSlackEndpoint(h.eventsUrl, SIGNING_SECRET, body);
  const answeredMs = performance.now() - started;
  await done(responseName);
  return { status: reply.status, answeredMs, finishedMs: performance.now() - started };
}

const dmSaying = (words: string) => () =>
  h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && String(c.body.text).includes(words), {
    timeoutMs: 10_000,
  });

const replySaying = (words: string) => async (responseName: string) => {
  const answer = await h.slack.waitForResponse(responseName, { timeoutMs: 10_000 });
  expect(String(answer.body.text)).toContain(words);
};

test.each([
  { button: 'Approve', actionId: 'approve', userId: 'U0BOB', given: pendingRequest, slowMethod: 'chat.update', done: dmSaying('#1 was approved by <@U0BOB>') },
  { button: 'Deny', actionId: 'deny', userId: 'U0BOB', given: pendingRequest, slowMethod: 'chat.update', done: dmSaying('#1 was denied by <@U0BOB>') },
  { button: 'Approve extension', actionId: 'extension-approve', userId: 'U0CAROL', given: extensionWaiting, slowMethod: 'chat.update', done: replySaying('Extended #1') },
  { button: 'Deny extension', actionId: 'extension-deny', userId: 'U0CAROL', given: extensionWaiting, slowMethod: 'chat.update', done: replySaying('Denied the extension of #1') },
  { button: 'Extend', actionId: 'extend-access', userId: 'U0ALICE', given: activeGrant, slowMethod: 'chat.postMessage', done: replySaying('Asked the approvers to extend #1') },
  { button: 'Cancel request', actionId: 'end-access', userId: 'U0ALICE', given: pendingRequest, slowMethod: 'chat.update', done: replySaying('#1 is cancelled') },
])('$button is answered 200 at once while its $slowMethod waits out a rate limit', async ({ actionId, userId, given, slowMethod, done }) => {
  await start();
  await given();
  const click = await clickWhileSlackIsSlow(slowMethod, actionId, userId, done);
  expect(click.status).toBe(200);
  expect(click.answeredMs).toBeLessThan(ACK_WITHIN_MS);
  // The work did meet the slow call: it ended only after the Retry-After.
  expect(click.finishedMs).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000 - 100);
});
