/**
 * Richer approval policy end to end, over signed HTTP against the fake Slack and AWS: N distinct
 * approvers with progress shown, one Deny ending it, approvers read from the cluster's AWS tag, and
 * autoApprove granting without a human while the approvers get an FYI.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "two-*"
    approvers: [U0BOB, U0CAROL, U0DAVE]
    channel: C0APPROVALS
    approvals: 2
  - match: "tagged-*"
    approvers: [U0BOB]
    approversFromTags: true
  - match: "untagged-*"
    approvers: [U0BOB]
  - match: "oncall-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    approvals: 2
    autoApprove: { maxDuration: 30m, requesters: [S0ONCALL] }
`;

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY, { usergroups: { S0ONCALL: ['U0ALICE'], S0OWNERS: ['U0OWEN'] } });
  addRedisClusters(h.aws, ['two-redis', 'tagged-redis', 'untagged-redis', 'oncall-redis']);
});

afterEach(async () => {
  await h.stop();
});

const statusOf = (id: number) => h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;
const waitForStatus = (id: number, status: string) => waitUntil(() => statusOf(id) === status, 10_000, `#${id} to be ${status} (is ${statusOf(id)})`);
const events = (id: number) => h.query<{ type: string; actor: string }>('select type, actor from events where request_id = ? order by id', id);

/** The approval message's current blocks, after any updates. */
async function approvalBlocks(id: number): Promise<string> {
  const posted = await h.approvalMessage(id);
  const stored = h.slack.message(String(posted.body.channel), await tsOf(id));
  return JSON.stringify(stored?.blocks);
}

/** Waits until the approval message's current blocks satisfy `test`. */
async function approvalShows(id: number, test: (blocks: string) => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!test(await approvalBlocks(id))) {
    if (Date.now() > deadline) throw new Error(`approval message of #${id} never matched: ${await approvalBlocks(id)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function tsOf(id: number): Promise<string> {
  const [row] = await waitUntil(() => {
    const rows = h.query<{ ts: string }>("select ts from slack_messages where request_id = ? and kind = 'approval'", id);
    return rows.length > 0 ? rows : undefined;
  });
  return row!.ts;
}

describe('approvals: N', () => {
  test('needs two distinct approvers, showing progress; the rule is added only after the second', async () => {
    await h.command(`two-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    expect(await approvalBlocks(1)).toContain('0 of 2 approvals');

    await h.click('approve', 1, 'U0BOB');
    await approvalShows(1, (blocks) => blocks.includes('1 of 2 approvals'));
    const afterOne = await approvalBlocks(1);
    expect(afterOne).toContain('<@U0BOB>');
    expect(afterOne).toContain('"action_id":"approve"'); // still open for the second approver
    expect(statusOf(1)).toBe('pending');
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);

    // The same approver again does not count twice.
    const again = await h.click('approve', 1, 'U0BOB');
    expect(String((await h.slack.waitForResponse(again.responseName)).body.text)).toContain('already approved');
    expect(statusOf(1)).toBe('pending');

    await h.click('approve', 1, 'U0CAROL');
    await waitForStatus(1, 'active');
    expect(h.query('select user_id from approvals where request_id = 1 order by user_id')).toEqual([{ user_id: 'U0BOB' }, { user_id: 'U0CAROL' }]);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
  });

  test('one Deny after one approval ends the request: no rule, buttons gone, requester told', async () => {
    await h.command(`two-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.click('approve', 1, 'U0BOB');
    await approvalShows(1, (blocks) => blocks.includes('1 of 2 approvals'));
    await h.click('deny', 1, 'U0CAROL');
    await waitForStatus(1, 'denied');
    await approvalShows(1, (blocks) => !blocks.includes('"type":"button"'));
    expect(await approvalBlocks(1)).toContain('Denied by <@U0CAROL>');

    const late = await h.click('approve', 1, 'U0DAVE');
    expect(String((await h.slack.waitForResponse(late.responseName)).body.text)).toContain('denied by <@U0CAROL>');
    expect(statusOf(1)).toBe('denied');
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && String(c.body.channel).startsWith('D') && JSON.stringify(c.body).includes('denied'));
  });
});

describe('approversFromTags', () => {
  test("the cluster's tag adds approvers (users and groups): they are asked, and may decide", async () => {
    h.aws.tagCluster('tagged-redis', { 'cache-access:approvers': ' U0TAGGED , S0OWNERS, not-an-id' });
    await h.command(`tagged-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    const asked = await waitUntil(() => {
      const users = h.slack.callsTo('conversations.open').map((c) => c.body.users);
      return ['U0BOB', 'U0TAGGED', 'U0OWEN'].every((u) => users.includes(u)) ? users : undefined;
    });
    expect(asked).not.toContain('not-an-id');
    await h.click('approve', 1, 'U0OWEN');
    await waitForStatus(1, 'active');
    expect(h.aws.origins.filter((o) => o.action === 'ListTagsForResource').length).toBeGreaterThanOrEqual(2);
  });

  test('a tag change applies to pending requests: a removed tag approver may no longer decide', async () => {
    h.aws.tagCluster('tagged-redis', { 'cache-access:approvers': 'U0TAGGED' });
    await h.command(`tagged-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.approvalMessage(1);
    h.aws.tagCluster('tagged-redis', {});
    const click = await h.click('approve', 1, 'U0TAGGED');
    expect(String((await h.slack.waitForResponse(click.responseName)).body.text)).toContain('not an approver for tagged-redis');
    expect(statusOf(1)).toBe('pending');
    // The policy's own approvers remain.
    await h.click('approve', 1, 'U0BOB');
    await waitForStatus(1, 'active');
  });

  test('without approversFromTags the tag is never read nor honoured', async () => {
    h.aws.tagCluster('untagged-redis', { 'cache-access:approvers': 'U0TAGGED' });
    await h.command(`untagged-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    const click = await h.click('approve', 1, 'U0TAGGED');
    expect(String((await h.slack.waitForResponse(click.responseName)).body.text)).toContain('not an approver');
    expect(h.aws.origins.filter((o) => o.action === 'ListTagsForResource')).toHaveLength(0);
  });
});

describe('autoApprove', () => {
  test('a listed requester within maxDuration is granted at once by cache-access; approvers get an FYI without buttons', async () => {
    const reply = await h.command(`oncall-redis ${SOURCE_GROUP} 20m incident`, 'U0ALICE');
    const answer = await h.slack.waitForResponse(reply.responseName);
    expect(String(answer.body.text)).toContain('approved automatically');
    await waitForStatus(1, 'active');
    expect(events(1).slice(0, 2)).toEqual([
      { type: 'requested', actor: 'U0ALICE' },
      { type: 'auto-approved', actor: 'system' },
    ]);
    expect(h.query('select user_id from approvals where request_id = 1')).toEqual([{ user_id: 'system' }]);
    const fyi = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === 'C0APPROVALS');
    const shown = JSON.stringify(fyi.body.blocks);
    expect(shown).toContain('FYI: approved automatically');
    expect(shown).not.toContain('"type":"button"');
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
  });

  test('longer than maxDuration, or someone not listed, goes to the approvers as usual', async () => {
    await h.command(`oncall-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.command(`oncall-redis ${SOURCE_GROUP} 10m`, 'U0MALLORY');
    await h.approvalMessage(1);
    await h.approvalMessage(2);
    expect([statusOf(1), statusOf(2)]).toEqual(['pending', 'pending']);
    expect(h.query("select count(*) as n from events where type = 'auto-approved'")).toEqual([{ n: 0 }]);
    expect(await approvalBlocks(1)).toContain('0 of 2 approvals');
  });
});
