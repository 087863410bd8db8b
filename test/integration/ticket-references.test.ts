/**
 * Ticket references end to end over signed HTTP: a policy's reasonPattern refuses a reason without a
 * ticket (nothing stored), and reasonLink turns the ticket into a link in the approval message, the
 * requester's message, the Home tab, and the `requested` event kept for audit.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';

const POLICY = String.raw`
defaults:
  minDuration: 1s
  reasonPattern: '[A-Z]+-\d+'
  reasonExample: OPS-1234 checkout latency
  reasonLink: https://tracker.example.com/browse/{0}?from=cache&access=1
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
  - match: "plain-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    reasonPattern: 'INC/\d+'
    reasonExample: INC/42 outage
`;

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  addRedisClusters(h.aws, ['orders-redis', 'plain-redis']);
});

afterEach(async () => {
  await h.stop();
});

const LINK = '<https://tracker.example.com/browse/OPS-77?from=cache&amp;access=1|OPS-77>';

describe('reasonPattern', () => {
  test.each([
    ['a reason without a ticket', 'looking at checkout latency'],
    ['no reason at all', ''],
  ])('%s is refused with the pattern and an example, and nothing is stored or posted', async (_name, reason) => {
    const reply = await h.command(`orders-redis ${SOURCE_GROUP} 1h ${reason}`, 'U0ALICE');
    const answer = reply.text ? JSON.parse(reply.text) : (await h.slack.waitForResponse(reply.responseName)).body;
    expect(answer.response_type).toBe('ephemeral');
    expect(String(answer.text)).toContain('need a ticket reference in the reason, matching the pattern `[A-Z]+-\\d+`');
    expect(String(answer.text)).toContain('for example: "OPS-1234 checkout latency"');
    expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
    expect(h.query('select count(*) as n from events')).toEqual([{ n: 0 }]);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  });
});

describe('reasonLink', () => {
  test('the ticket becomes a link in the approval message, the requester message and the Home tab, and is recorded', async () => {
    const reply = await h.command(`orders-redis ${SOURCE_GROUP} 1h see OPS-77 for details`, 'U0ALICE');
    expect(String((await h.slack.waitForResponse(reply.responseName)).body.text)).toContain(LINK);

    const approval = await h.approvalMessage(1);
    expect(JSON.stringify(approval.body.blocks)).toContain(`*Ticket*\\n${LINK}`);
    expect(JSON.stringify(await h.openHome('U0ALICE'))).toContain(LINK);
    expect(JSON.stringify(await h.openHome('U0BOB'))).toContain(LINK);

    const [requested] = h.query<{ detail: string }>("select detail from events where request_id = 1 and type = 'requested'");
    expect(JSON.parse(requested!.detail)).toEqual({
      durationSeconds: 3600,
      reason: 'see OPS-77 for details',
      ticket: { id: 'OPS-77', url: 'https://tracker.example.com/browse/OPS-77?from=cache&access=1' },
    });

    // Later states keep it: the requester's DM on approval, and the approval message once updated.
    await h.click('approve', 1, 'U0BOB');
    const requesterDm = await h.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && JSON.stringify(c.body).includes('#1'),
      { timeoutMs: 10_000 },
    );
    expect(JSON.stringify(requesterDm.body.blocks)).toContain(LINK);
    await waitUntil(() => h.slack.callsTo('chat.update').some((c) => JSON.stringify(c.body).includes(LINK)), 10_000, 'an update carrying the link');
  });

  test('a rule may override the pattern; a ticket with characters a URL reserves is encoded in the link', async () => {
    // The rule inherits reasonLink from the defaults.
    await h.command(`plain-redis ${SOURCE_GROUP} 1h INC/42 paging`, 'U0ALICE');
    expect(JSON.stringify((await h.approvalMessage(1)).body.blocks)).toContain('<https://tracker.example.com/browse/INC%2F42?from=cache&amp;access=1|INC/42>');
  });
});
