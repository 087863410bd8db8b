/**
 * The commands about existing requests (list, status, revoke, cancel, extend), the pending timeout,
 * the reminder with its buttons and stale clicks, end to end through Bolt's HTTP endpoint with signed
 * requests, the fake Slack server (which rejects invalid Block Kit), real Redis and SQLite.
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, inject, test } from 'vitest';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { startHarness, SIGNING_SECRET, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';
import { blockActionBody, postToSlackEndpoint } from '../support/slack-request.js';

const POLICY = `
defaults:
  minDuration: 1s
  remindBefore: 2s
clusters:
  - match: "orders-*"
    approvers: [U0BOB, U0CAROL]
    channel: C0APPROVALS
    maxDuration: 1h
    maxTotal: 3h
  - match: "quick-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    pendingTimeout: 2s
  - match: "payments-*"
    approvers: [U0BOB, U0CAROL, U0DAVE]
    channel: C0APPROVALS
    approvals: 2
    maxDuration: 1h
    maxTotal: 3h
  - match: "auto-*"
    approvers: [U0BOB, U0CAROL]
    channel: C0APPROVALS
    approvals: 2
    autoApprove: { maxDuration: 1h, requesters: [U0ALICE] }
    maxDuration: 1h
    maxTotal: 3h
  - match: "team-*"
    approvers: [U0ALICE, U0BOB]
    channel: C0APPROVALS
    maxDuration: 1h
    maxTotal: 3h
`;

let h: BotHarness;

async function start(): Promise<BotHarness> {
  h = await startHarness(POLICY, { env: { RECONCILE_INTERVAL: '1s' } });
  addRedisClusters(h.aws, ['orders-redis', 'quick-redis', 'payments-redis', 'auto-redis', 'team-redis']);
  return h;
}

afterEach(async () => {
  await h?.stop();
});

function row(id: number): { status: string; expires_at: number | null; ended_by: string | null } | undefined {
  return h.query<{ status: string; expires_at: number | null; ended_by: string | null }>(
    'select status, expires_at, ended_by from requests where id = ?',
    id,
  )[0];
}

async function waitForStatus(id: number, status: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(() => row(id)?.status === status, timeoutMs, `#${id} to be ${status} (is ${row(id)?.status})`);
}

/** Runs `/cache-access <text>` as `userId` and returns the ephemeral answer. */
async function run(text: string, userId: string): Promise<{ text: string; blocks: string }> {
  const reply = await h.command(text, userId);
  expect(reply.status).toBe(200);
  const answer = await h.slack.waitForResponse(reply.responseName);
  expect(answer.body.response_type).toBe('ephemeral');
  return { text: String(answer.body.text), blocks: JSON.stringify(answer.body.blocks ?? []) };
}

/** Clicks a button (`actionId`, value = request id) on a message, as `userId`; returns the ephemeral answer. */
async function clickButton(actionId: string, requestId: number, userId: string, at = { channel: 'D0SOMEWHERE', ts: '1.000001' }): Promise<string> {
  const responseName = `click-${actionId}-${Math.random().toString(36).slice(2)}`;
  const body = blockActionBody({
    userId,
    actionId,
    value: String(requestId),
    messageTs: at.ts,
    channelId: at.channel,
    responseUrl: h.slack.responseUrl(responseName),
  });
  const reply = await postToSlackEndpoint(h.eventsUrl, SIGNING_SECRET, body);
  expect(reply.status).toBe(200);
  const answer = await h.slack.waitForResponse(responseName);
  expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  return String(answer.body.text);
}

async function activeGrant(id: number, duration = '1h', cluster = 'orders-redis'): Promise<void> {
  await h.command(`${cluster} ${SOURCE_GROUP} ${duration} investigating`, 'U0ALICE');
  await h.click('approve', id, 'U0BOB');
  await waitForStatus(id, 'active');
}

/** revoke-<id> jobs present in Redis, in any unfinished state. */
async function revokeJobs(id: number) {
  const queue = new Queue(QUEUE_NAME, { connection: { url: inject('redisUrl') }, prefix: h.queuePrefix });
  try {
    const jobs = await queue.getJobs(['delayed', 'waiting', 'active', 'prioritized']);
    return jobs.filter((job) => job.id === `revoke-${id}`);
  } finally {
    await queue.close();
  }
}

function lastUpdateOf(channel: string): string {
  // '' until the first update arrives, so waitUntil keeps polling instead of throwing.
  return JSON.stringify(h.slack.callsTo('chat.update').filter((c) => c.body.channel === channel).at(-1)?.body.blocks) ?? '';
}

describe('list and status', () => {
  test('list shows the requester their open requests with actions, and approvers what waits for them', async () => {
    await start();
    await activeGrant(1);
    await h.command(`orders-redis ${SOURCE_GROUP} 30m second`, 'U0ALICE');
    await h.approvalMessage(2);

    const alice = await run('list', 'U0ALICE');
    expect(alice.blocks).toContain('#1');
    expect(alice.blocks).toContain('expires in');
    expect(alice.blocks).toContain('"action_id":"extend-access"');
    expect(alice.blocks).toContain('"action_id":"end-access"');
    expect(alice.blocks).toContain('Cancel request');
    expect(alice.blocks).not.toContain('"action_id":"approve"');

    const bob = await run('list', 'U0BOB');
    expect(bob.blocks).toContain('Waiting for your decision');
    expect(bob.blocks).toContain('*#2*');
    expect(bob.blocks).toContain('"action_id":"approve"');
    expect(bob.blocks).not.toContain('*#1*');

    const mallory = await run('list', 'U0MALLORY');
    expect(mallory.blocks).toContain('Nothing pending or active');
    expect(mallory.blocks).not.toContain('#2');
  });

  test('status tells the requester and approvers the whole story, and nobody else', async () => {
    await start();
    await activeGrant(1);
    for (const user of ['U0ALICE', 'U0CAROL']) {
      const story = await run('status #1', user);
      for (const fact of ['Request #1: active', '<@U0ALICE>', 'approved by <@U0BOB>', 'investigating', TARGET_GROUP, 'requested', 'activated']) {
        expect(story.blocks).toContain(fact);
      }
    }
    expect((await run('status 1', 'U0MALLORY')).text).toContain('Only the requester of #1 or an approver');
    expect((await run('status 99', 'U0ALICE')).text).toContain('There is no request #99');
  });
});

describe('cancel and revoke', () => {
  test('the requester cancels a pending request; others cannot; the approval message loses its buttons', async () => {
    await start();
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.approvalMessage(1);

    expect((await run('cancel 1', 'U0BOB')).text).toContain('Only the requester can cancel #1');
    expect(row(1)?.status).toBe('pending');

    expect((await run('cancel #1', 'U0ALICE')).text).toContain('#1 is cancelled');
    expect(row(1)).toMatchObject({ status: 'cancelled', ended_by: 'U0ALICE' });
    await waitUntil(() => lastUpdateOf('C0APPROVALS').includes('Cancelled by <@U0ALICE>'), 5_000, 'the approval message update');
    expect(lastUpdateOf('C0APPROVALS')).not.toContain('"type":"button"');

    expect((await run('cancel 1', 'U0ALICE')).text).toContain('already cancelled by <@U0ALICE>');
    // A late Approve click is told what happened and changes nothing.
    const stale = await h.click('approve', 1, 'U0BOB');
    expect(String((await h.slack.waitForResponse(stale.responseName)).body.text)).toContain('#1 was cancelled');
    expect(row(1)?.status).toBe('cancelled');
  });

  test('revoke by the requester on a pending request cancels it', async () => {
    await start();
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.approvalMessage(1);
    expect((await run('revoke 1', 'U0ALICE')).text).toContain('#1 is cancelled');
    expect(row(1)?.status).toBe('cancelled');
  });

  test('an approver revokes active access at once; an outsider cannot; a second revoke says who did it', async () => {
    await start();
    await activeGrant(1);
    expect((await run('cancel 1', 'U0ALICE')).text).toContain('use `/cache-access revoke 1`');
    expect((await run('revoke 1', 'U0MALLORY')).text).toContain('There is no request #1');
    expect(row(1)?.status).toBe('active');

    expect((await run('revoke #1', 'U0CAROL')).text).toContain('Revoking #1 now');
    await waitForStatus(1, 'revoked');
    expect(row(1)?.ended_by).toBe('U0CAROL');
    expect(h.aws.rules.size).toBe(0);
    expect((await run('revoke 1', 'U0ALICE')).text).toContain('already revoked by <@U0CAROL>');
  });

  test("to someone who is neither requester nor approver, another's request is answered as an id that does not exist", async () => {
    await start();
    await activeGrant(1);
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.approvalMessage(2);
    const asUnknown = async (command: string, id: number) => (await run(`${command} 99`, 'U0MALLORY')).text.replaceAll('#99', `#${id}`);

    for (const [command, id] of [['revoke', 1], ['cancel', 1], ['revoke', 2], ['cancel', 2]] as const) {
      const answer = (await run(`${command} ${id}`, 'U0MALLORY')).text;
      expect(answer, `${command} ${id}`).toBe(await asUnknown(command, id));
    }
    const click = await clickButton('end-access', 1, 'U0MALLORY');
    expect(click).toBe((await clickButton('end-access', 99, 'U0MALLORY')).replaceAll('#99', '#1'));
    expect([row(1)?.status, row(2)?.status]).toEqual(['active', 'pending']);

    // Once it has ended, the outsider still learns nothing (not even who ended it).
    await run('revoke 1', 'U0CAROL');
    await waitForStatus(1, 'revoked');
    expect((await run('revoke 1', 'U0MALLORY')).text).toBe(await asUnknown('revoke', 1));
  });
});

describe('extend', () => {
  test('approval moves the expiry and leaves exactly one revoke job, due at the new expiry; stale clicks are told', async () => {
    await start();
    await activeGrant(1);
    const before = row(1)!.expires_at!;

    expect((await run('extend 1 1h', 'U0BOB')).text).toContain('Only the requester of #1 can ask to extend it');
    expect((await run('extend 1 3h', 'U0ALICE')).text).toContain('at most 2h');
    expect((await run('extend #1 1h', 'U0ALICE')).text).toContain('Asked the approvers to extend #1 by 1h');
    expect((await run('extend 1 30m', 'U0ALICE')).text).toContain('already waiting for approval');

    const asked = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? '').includes('extension-approve'));
    expect(asked.body.channel).toBe('C0APPROVALS');
    // Only the value locates the request; where the button sits does not matter to the bot.
    const at = { channel: 'C0APPROVALS', ts: '1.000002' };

    expect(await clickButton('extension-approve', 1, 'U0MALLORY', at)).toContain('not an approver for orders-redis');
    expect(await clickButton('extension-approve', 1, 'U0ALICE', at)).toContain('not an approver');
    expect(await clickButton('extension-approve', 1, 'U0BOB', at)).toContain('Extended #1');
    expect(row(1)!.expires_at).toBe(before + 3_600_000);

    const jobs = await revokeJobs(1);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.timestamp + jobs[0]!.delay).toBeGreaterThan(before + 3_600_000 - 5_000);
    expect(jobs[0]!.timestamp + jobs[0]!.delay).toBeLessThanOrEqual(before + 3_600_000);

    expect(await clickButton('extension-deny', 1, 'U0CAROL', at)).toContain('The extension of #1 was already approved by <@U0BOB>');
    const events = h.query<{ type: string; actor: string }>("select type, actor from events where request_id = 1 and type like 'extension-%' order by id");
    expect(events).toEqual([
      { type: 'extension-requested', actor: 'U0ALICE' },
      { type: 'extension-approved', actor: 'U0BOB' },
    ]);
    // The extension message now shows the outcome, without buttons.
    const updated = h.slack.callsTo('chat.update').filter((c) => JSON.stringify(c.body.blocks).includes('Extension request #1')).at(-1);
    expect(JSON.stringify(updated?.body.blocks)).toContain('approved by <@U0BOB>');
    expect(JSON.stringify(updated?.body.blocks)).not.toContain('"type":"button"');
  });

  test('a denied extension keeps the expiry; extending a request that is not active is refused', async () => {
    await start();
    await activeGrant(1);
    const before = row(1)!.expires_at;
    await run('extend 1 1h', 'U0ALICE');
    expect(await clickButton('extension-deny', 1, 'U0CAROL')).toContain('Denied the extension of #1');
    expect(row(1)!.expires_at).toBe(before);
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('was denied by <@U0CAROL>'));

    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.approvalMessage(2);
    expect((await run('extend 2 1h', 'U0ALICE')).text).toContain('#2 is pending, not active');
  });
});

describe('extension approvals', () => {
  /** The extension message for #1 as last updated (its first post when never updated). */
  function extensionMessageOf(): string {
    const isExtension = (c: { body: Record<string, unknown> }) => JSON.stringify(c.body.blocks ?? '').includes('Extension request #1');
    const last = h.slack.callsTo('chat.update').filter(isExtension).at(-1) ?? h.slack.callsTo('chat.postMessage').filter(isExtension).at(-1);
    return JSON.stringify(last?.body.blocks ?? '');
  }

  async function askForExtension(id: number, duration: string): Promise<void> {
    expect((await run(`extend ${id} ${duration}`, 'U0ALICE')).text).toContain('Asked the approvers');
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? '').includes('extension-approve'));
  }

  function extensionEvents(id: number): Array<{ type: string; actor: string }> {
    return h.query("select type, actor from events where request_id = ? and type like 'extension-%' order by id", id);
  }

  /** Requests #1 on `cluster` as U0ALICE, approved by `approvers`; returns its expiry once active. */
  async function activeOn(cluster: string, duration: string, approvers: string[]): Promise<number> {
    await h.command(`${cluster} ${SOURCE_GROUP} ${duration}`, 'U0ALICE');
    for (const approver of approvers) await h.click('approve', 1, approver);
    await waitForStatus(1, 'active');
    return row(1)!.expires_at!;
  }

  test('an extension needs as many distinct approvers as the request did, shows the count, and counts a repeated click once', async () => {
    await start();
    const before = await activeOn('payments-redis', '1h', ['U0BOB', 'U0CAROL']);

    await askForExtension(1, '1h');
    expect(extensionMessageOf()).toContain('0 of 2 approvals');
    expect(await clickButton('extension-approve', 1, 'U0BOB')).toContain('1 of 2 approvals');
    expect(row(1)!.expires_at).toBe(before);
    expect(extensionMessageOf()).toContain('1 of 2 approvals (<@U0BOB>)');
    expect(extensionMessageOf()).toContain('"action_id":"extension-approve"');

    expect(await clickButton('extension-approve', 1, 'U0BOB')).toContain('You have already approved the extension of #1');
    expect(row(1)!.expires_at).toBe(before);

    expect(await clickButton('extension-approve', 1, 'U0DAVE')).toContain('Extended #1');
    expect(row(1)!.expires_at).toBe(before + 3_600_000);
    expect(extensionEvents(1)).toEqual([
      { type: 'extension-requested', actor: 'U0ALICE' },
      { type: 'extension-approval-added', actor: 'U0BOB' },
      { type: 'extension-approved', actor: 'U0DAVE' },
    ]);
    expect(extensionMessageOf()).toContain('approved by <@U0BOB>, <@U0DAVE>');
    expect(extensionMessageOf()).not.toContain('"type":"button"');
  });

  test('a requester who is also an approver cannot approve her own extension without selfApproval', async () => {
    await start();
    const before = await activeOn('team-redis', '1h', ['U0BOB']);

    await askForExtension(1, '1h');
    expect(await clickButton('extension-approve', 1, 'U0ALICE')).toContain('You cannot approve the extension of your own request #1');
    expect(row(1)!.expires_at).toBe(before);
    expect(extensionEvents(1)).toEqual([{ type: 'extension-requested', actor: 'U0ALICE' }]);
    expect(extensionMessageOf()).toContain('"action_id":"extension-approve"');
  });

  test("an extension of an auto-approved grant needs the rule's approvals", async () => {
    await start();
    const before = await activeOn('auto-redis', '30m', []);

    await askForExtension(1, '30m');
    expect(extensionMessageOf()).toContain('0 of 2 approvals');
    expect(await clickButton('extension-approve', 1, 'U0BOB')).toContain('1 of 2 approvals');
    expect(row(1)!.expires_at).toBe(before);
    expect(await clickButton('extension-approve', 1, 'U0CAROL')).toContain('Extended #1');
    expect(row(1)!.expires_at).toBe(before + 1_800_000);
  });
});

describe('pending timeout', () => {
  test('a request nobody decides on is cancelled by the reconciler, its message updated and the requester told', async () => {
    await start();
    await h.command(`quick-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.approvalMessage(1);
    await waitForStatus(1, 'cancelled', 8_000);
    expect(row(1)?.ended_by).toBe('system');
    expect(h.query<{ type: string }>("select type from events where request_id = 1 and type = 'timed-out'")).toHaveLength(1);
    await waitUntil(() => lastUpdateOf('C0APPROVALS').includes('no decision in time'), 5_000, 'the approval message update');
    expect(lastUpdateOf('C0APPROVALS')).not.toContain('"type":"button"');
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('no approver decided in time'));
    const stale = await h.click('approve', 1, 'U0BOB');
    expect(String((await h.slack.waitForResponse(stale.responseName)).body.text)).toContain('#1 was cancelled');
  });
});

describe('reminder', () => {
  test('a DM before expiry offers Extend and Done; Done revokes now and the DM buttons go away', async () => {
    await start();
    await activeGrant(1, '6s');
    const reminder = await h.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('ends in about'),
      { timeoutMs: 8_000 },
    );
    const blocks = JSON.stringify(reminder.body.blocks);
    expect(blocks).toContain('"action_id":"extend-access"');
    expect(blocks).toContain('"action_id":"end-access"');
    // Recorded once Slack has answered the post, a moment after the fake saw it.
    await waitUntil(() => h.query("select type from events where request_id = 1 and type = 'reminded'").length === 1, 5_000, 'the reminder event');

    expect(await clickButton('end-access', 1, 'U0ALICE')).toContain('Revoking #1 now');
    await waitForStatus(1, 'revoked');
    expect(row(1)?.ended_by).toBe('U0ALICE');
    // Every DM to the requester is refreshed: none keeps a button once access has ended.
    await waitUntil(() => {
      const dms = h.query<{ channel: string; ts: string }>("select channel, ts from slack_messages where request_id = 1 and kind = 'requester'");
      return dms.length >= 2 && dms.every((dm) => !JSON.stringify(h.slack.message(dm.channel, dm.ts)?.blocks).includes('"type":"button"'));
    }, 5_000, 'the requester DMs to lose their buttons');
    expect(await clickButton('extend-access', 1, 'U0ALICE')).toContain('#1 is revoked, not active');
    expect(await clickButton('end-access', 1, 'U0ALICE')).toContain('already revoked by <@U0ALICE>');
  });

  test("the reminder's Extend asks the approvers for the original duration again", async () => {
    await start();
    await activeGrant(1, '6s');
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('ends in about'), { timeoutMs: 8_000 });
    expect(await clickButton('extend-access', 1, 'U0ALICE')).toContain('extend #1 by 6s');
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body.blocks ?? '').includes('extension-approve'));
    expect(await clickButton('extension-approve', 1, 'U0CAROL')).toContain('Extended #1');
    await waitForStatus(1, 'expired', 15_000);
    const [first] = h.query<{ at: number }>("select at from events where request_id = 1 and type = 'activated'");
    const [ended] = h.query<{ ended_at: number }>('select ended_at from requests where id = 1');
    expect(ended!.ended_at - first!.at).toBeGreaterThanOrEqual(12_000);
  });

  test('no reminder for a grant shorter than twice remindBefore', async () => {
    await start();
    await activeGrant(1, '3s');
    await waitForStatus(1, 'expired');
    expect(h.query("select type from events where request_id = 1 and type = 'reminded'")).toHaveLength(0);
  });
});
