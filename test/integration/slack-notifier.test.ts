import { Writable } from 'node:stream';
import type { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlackNotifier } from '../../src/adapters/slack/notifier.js';
import { SlackPeopleDirectory } from '../../src/adapters/slack/people-directory.js';
import type { MessageRef } from '../../src/app/ports.js';
import { InvalidInputError, NotFoundError, UpstreamError } from '../../src/domain/errors.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack-server.js';
import { fakeSlackClient } from '../support/slack-client.js';

const request: AccessRequest = {
  id: 42,
  status: 'pending',
  requesterId: 'U0REQUEST1',
  requesterName: 'alice',
  clusterId: 'orders-redis',
  engine: 'redis',
  endpoint: 'orders-redis.abc123.ng.0001.use1.cache.amazonaws.com',
  port: 6379,
  vpcId: 'vpc-0123456789abcdef0',
  targetGroupId: 'sg-0aaaaaaaaaaaaaaaa',
  source: { kind: 'cidr', cidr: '10.1.2.0/24' },
  durationSeconds: 3600,
  reason: 'checkout latency',
  policyMatch: 'orders-*',
  approvalsRequired: 1,
  approvals: [],
  createdAt: new Date('2026-01-01T10:00:00Z'),
  version: 1,
};
const approved = transition(request, { type: 'approve', by: 'U0APPROVE1', selfApproval: false }, new Date('2026-01-01T10:05:00Z')).next;

let fake: FakeSlack;
let client: webApi.WebClient;
let logLines: Array<Record<string, unknown>>;
let notifier: SlackNotifier;

beforeEach(async () => {
  fake = await startFakeSlack();
  client = fakeSlackClient(fake);
  logLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  notifier = new SlackNotifier({ client, clock: { now: () => new Date('2026-01-01T11:00:00Z') }, logger: pino({ level: 'warn' }, sink) });
});
afterEach(() => fake.close());

const hasButtons = (blocks: unknown[] | undefined) => (blocks ?? []).some((b) => (b as { type: string }).type === 'actions');

describe('SlackNotifier.requestApproval', () => {
  it('posts once to the policy channel when there is one', async () => {
    const refs = await notifier.requestApproval(request, { channel: 'C0APPROVAL', approverIds: ['U1', 'U2'] });
    const posts = fake.callsTo('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(fake.callsTo('conversations.open')).toEqual([]);
    expect(refs).toEqual([{ requestId: 42, kind: 'approval', channel: 'C0APPROVAL', ts: expect.stringMatching(/^\d+\.\d{6}$/) }]);
    const message = fake.message('C0APPROVAL', refs[0]!.ts);
    expect(message?.text).toContain('#42');
    expect(hasButtons(message?.blocks)).toBe(true);
  });

  it('otherwise DMs each approver and returns where each message went', async () => {
    const refs = await notifier.requestApproval(request, { approverIds: ['U1', 'U2'] });
    expect(fake.callsTo('conversations.open').map((c) => c.body.users).sort()).toEqual(['U1', 'U2']);
    expect(refs).toHaveLength(2);
    expect(new Set(refs.map((r) => r.channel)).size).toBe(2);
    for (const ref of refs) {
      expect(ref).toMatchObject({ requestId: 42, kind: 'approval', channel: expect.stringMatching(/^D/) });
      expect(hasButtons(fake.message(ref.channel, ref.ts)?.blocks)).toBe(true);
    }
  });

  it('goes on when one approver cannot be reached, and logs it', async () => {
    fake.failNext('chat.postMessage', 'is_archived');
    const refs = await notifier.requestApproval(request, { approverIds: ['U1', 'U2'] });
    expect(refs).toHaveLength(1);
    expect(logLines).toEqual([expect.objectContaining({ level: 40, requestId: 42 })]);
  });

  it('fails with the Slack error when no approver can be reached', async () => {
    fake.failNext('chat.postMessage', 'is_archived');
    fake.failNext('chat.postMessage', 'is_archived');
    const failure = notifier.requestApproval(request, { approverIds: ['U1', 'U2'] });
    await expect(failure).rejects.toBeInstanceOf(UpstreamError);
    await expect(failure).rejects.toMatchObject({ service: 'slack', upstreamCode: 'is_archived', retryable: false });
  });

  it('refuses to post nowhere', async () => {
    await expect(notifier.requestApproval(request, { approverIds: [] })).rejects.toBeInstanceOf(InvalidInputError);
    expect(fake.calls).toEqual([]);
  });
});

describe('SlackNotifier.refreshMessages', () => {
  async function postedRefs(): Promise<MessageRef[]> {
    const approvalRefs = await notifier.requestApproval(request, { approverIds: ['U1', 'U2'] });
    const dm = await client.conversations.open({ users: request.requesterId });
    const posted = await client.chat.postMessage({ channel: dm.channel!.id!, text: 'received' });
    return [...approvalRefs, { requestId: 42, kind: 'requester', channel: posted.channel!, ts: posted.ts! }];
  }

  it('re-renders every message for the new state: approvals lose their buttons, the requester DM says what happened', async () => {
    const refs = await postedRefs();
    await notifier.refreshMessages(approved, refs);
    expect(fake.callsTo('chat.update')).toHaveLength(3);
    for (const ref of refs.filter((r) => r.kind === 'approval')) {
      const message = fake.message(ref.channel, ref.ts)!;
      expect(hasButtons(message.blocks)).toBe(false);
      expect(JSON.stringify(message.blocks)).toContain('Approved by <@U0APPROVE1>');
    }
    const requesterRef = refs.find((r) => r.kind === 'requester')!;
    expect(fake.message(requesterRef.channel, requesterRef.ts)?.text).toContain('#42 was approved by <@U0APPROVE1>');
  });

  it('one failing update does not stop the others; the failure is logged', async () => {
    const refs = await postedRefs();
    fake.failNext('chat.update', 'message_not_found');
    await expect(notifier.refreshMessages(approved, refs)).resolves.toBeUndefined();
    expect(fake.callsTo('chat.update')).toHaveLength(3);
    const stillPending = refs.filter((ref) => hasButtons(fake.message(ref.channel, ref.ts)?.blocks));
    expect(stillPending).toHaveLength(1);
    expect(logLines).toEqual([expect.objectContaining({ level: 40, requestId: 42, err: expect.objectContaining({ upstreamCode: 'message_not_found' }) })]);
  });
});

describe('SlackNotifier.tellRequester', () => {
  it('DMs the requester the message for the current state, with the note', async () => {
    const ref = await notifier.tellRequester(approved, 'You will get another message when the rule is in place.');
    expect(ref).toMatchObject({ requestId: 42, kind: 'requester', channel: expect.stringMatching(/^D/) });
    // The ref locates the DM, so a later state change can update it.
    expect(fake.message(ref.channel, ref.ts)?.text).toContain('#42 was approved');
    expect(fake.callsTo('conversations.open')).toEqual([expect.objectContaining({ body: expect.objectContaining({ users: 'U0REQUEST1' }) })]);
    const [post] = fake.callsTo('chat.postMessage');
    expect(post?.body.channel).toMatch(/^D/);
    expect(post?.body.text).toContain('#42 was approved');
    expect(post?.body.text).toContain('You will get another message');
  });

  it.each([
    ['a refusal, not worth retrying', 'channel_not_found', {}, 'channel_not_found', false],
    ['rate limiting, worth retrying', 'ratelimited', { status: 429, retryAfter: 1 }, 'ratelimited', true],
    ['a Slack outage, worth retrying', 'fatal_error', { status: 503 }, 'http_503', true],
  ] as const)('surfaces %s as UpstreamError', async (_, error, options, upstreamCode, retryable) => {
    fake.failNext('chat.postMessage', error, options);
    const failure = notifier.tellRequester(approved);
    await expect(failure).rejects.toBeInstanceOf(UpstreamError);
    await expect(failure).rejects.toMatchObject({ service: 'slack', upstreamCode, retryable });
  });

  // Web API 8 (Bolt 5) calls Slack with fetch: a refused connection must still read as "no answer".
  it('surfaces a Slack API that does not answer as a request error, worth retrying', async () => {
    const gone = await startFakeSlack();
    await gone.close();
    const unreachable = new SlackNotifier({ client: fakeSlackClient(gone), clock: { now: () => new Date('2026-01-01T11:00:00Z') }, logger: pino({ level: 'silent' }) });
    const failure = unreachable.tellRequester(approved);
    await expect(failure).rejects.toBeInstanceOf(UpstreamError);
    await expect(failure).rejects.toMatchObject({ service: 'slack', upstreamCode: 'request_error', retryable: true });
  });
});

describe('SlackNotifier.postToThreads', () => {
  it('replies in the thread of each approval message, not in the requester DM', async () => {
    const refs: MessageRef[] = [
      { requestId: 42, kind: 'approval', channel: 'C0APPROVAL', ts: '1700000000.000100' },
      { requestId: 42, kind: 'approval', channel: 'D000000001', ts: '1700000000.000200' },
      { requestId: 42, kind: 'requester', channel: 'D000000002', ts: '1700000000.000300' },
    ];
    await notifier.postToThreads(approved, refs, ':warning: The rule for #42 is overdue for removal.');
    expect(fake.callsTo('chat.postMessage').map((c) => [c.body.channel, c.body.thread_ts, c.body.text])).toEqual([
      ['C0APPROVAL', '1700000000.000100', ':warning: The rule for #42 is overdue for removal.'],
      ['D000000001', '1700000000.000200', ':warning: The rule for #42 is overdue for removal.'],
    ]);
  });
});

describe('SlackPeopleDirectory', () => {
  it('passes user ids through and expands user groups, first mention first, without repeats', async () => {
    fake.setUsergroup('S0ONCALL01', ['U2', 'U1', 'U3']);
    const people = new SlackPeopleDirectory({ client });
    expect(await people.expandApprovers(['U1', 'S0ONCALL01', 'U3', 'W4'])).toEqual(['U1', 'U2', 'U3', 'W4']);
    expect(fake.callsTo('usergroups.users.list').map((c) => c.body.usergroup)).toEqual(['S0ONCALL01']);
  });

  it('says which user group does not exist', async () => {
    const people = new SlackPeopleDirectory({ client });
    const failure = people.expandApprovers(['U1', 'S0GONE0001']);
    await expect(failure).rejects.toBeInstanceOf(NotFoundError);
    await expect(failure).rejects.toThrow(/S0GONE0001/);
  });

  it('surfaces other Slack failures as UpstreamError', async () => {
    fake.setUsergroup('S0ONCALL01', ['U1']);
    fake.failNext('usergroups.users.list', 'ratelimited', { status: 429, retryAfter: 1 });
    const failure = new SlackPeopleDirectory({ client }).expandApprovers(['S0ONCALL01']);
    await expect(failure).rejects.toMatchObject({ service: 'slack', upstreamCode: 'ratelimited', retryable: true });
  });
});
