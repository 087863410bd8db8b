import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approvalMessage, requesterMessage, slackDate, ticketMrkdwn, type Block } from '../../src/adapters/slack/blocks.js';
import { breakGlassMessage, reviewItem } from '../../src/adapters/slack/break-glass-blocks.js';
import { ticketUrl } from '../../src/domain/ticket.js';
import { transition, type LifecycleEvent } from '../../src/domain/lifecycle.js';
import { STATUSES, type AccessRequest, type Status } from '../../src/domain/request.js';
import { validateBlocks } from '../fakes/fake-slack-server.js';

const T0 = new Date('2026-01-01T10:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

const pending: AccessRequest = {
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
  source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' },
  durationSeconds: 2 * 3600,
  reason: 'investigating checkout latency',
  policyMatch: 'orders-*',
  approvalsRequired: 1,
  approvals: [],
  createdAt: T0,
  version: 1,
};

const FACTS = {
  accountId: '123456789012',
  region: 'eu-west-1',
  exposure: { otherClusters: [], otherInterfaces: [] },
  connection: { tls: true, auth: 'none' as const, clusterMode: false },
};

const apply = (request: AccessRequest, ...steps: Array<[LifecycleEvent, Date]>) =>
  steps.reduce((r, [event, now]) => transition(r, event, now).next, request);

const approved = apply(pending, [{ type: 'approve', by: 'U0APPROVE1', selfApproval: false }, at(5)]);
const active = apply(approved, [{ type: 'activate', ruleRecordId: 7 }, at(6)]);

/** One request in each status, reached through the real lifecycle. */
const inStatus: Record<Status, AccessRequest> = {
  pending,
  approved,
  active,
  expired: apply(active, [{ type: 'expire' }, at(126)]),
  revoked: apply(active, [{ type: 'revoke', by: 'U0REVOKER1' }, at(30)]),
  denied: apply(pending, [{ type: 'deny', by: 'U0DENIER01' }, at(3)]),
  cancelled: apply(pending, [{ type: 'cancel', by: 'U0REQUEST1' }, at(2)]),
  failed: apply(approved, [
    { type: 'fail', code: 'InvalidGroup.NotFound', message: "The security group 'sg-0aaaaaaaaaaaaaaaa' does not exist" },
    at(6),
  ]),
};

const allText = (blocks: Block[]) => JSON.stringify(blocks);
const actionsOf = (blocks: Block[]) => blocks.filter((b) => b.type === 'actions');
const contextText = (blocks: Block[]) =>
  blocks
    .filter((b) => b.type === 'context')
    .map((b) => JSON.stringify(b))
    .join('\n');

describe('approvalMessage', () => {
  it('shows what is asked: requester, cluster, the exact rule, duration, reason and id', () => {
    const { text, blocks } = approvalMessage(pending);
    expect(blocks[0]).toEqual({ type: 'header', text: expect.objectContaining({ type: 'plain_text', text: 'Access request #42' }) });
    const fields = (blocks[1] as { fields: Array<{ text: string }> }).fields.map((f) => f.text);
    expect(fields).toEqual([
      '*Requester*\n<@U0REQUEST1>',
      '*Cluster*\n`orders-redis` (redis)\n`orders-redis.abc123.ng.0001.use1.cache.amazonaws.com:6379`',
      '*Rule to add*\ninbound TCP 6379 on `sg-0aaaaaaaaaaaaaaaa` from `sg-0bbbbbbbbbbbbbbbb`',
      '*Duration*\n2h',
      '*Request*\n#42',
    ]);
    expect(allText(blocks)).toContain('*Reason*\\ninvestigating checkout latency');
    expect(text).toContain('#42');
    expect(text).toContain('<@U0REQUEST1>');
  });

  it('offers Approve (with a confirm dialog naming the rule) and Deny while pending', () => {
    const [actions, ...more] = actionsOf(approvalMessage(pending).blocks);
    expect(more).toEqual([]);
    expect(actions).toMatchObject({
      elements: [
        {
          type: 'button',
          action_id: 'approve',
          style: 'primary',
          value: '42',
          confirm: {
            title: { text: 'Approve #42?' },
            text: { text: 'This opens TCP 6379 on sg-0aaaaaaaaaaaaaaaa from sg-0bbbbbbbbbbbbbbbb for 2h.' },
          },
        },
        { type: 'button', action_id: 'deny', style: 'danger', value: '42' },
      ],
    });
  });

  it('shows progress when more than one approval is required, and keeps the buttons until there are enough', () => {
    const needsTwo = { ...pending, approvalsRequired: 2 };
    expect(contextText(approvalMessage(needsTwo).blocks)).toContain('0 of 2 approvals');
    const halfway = apply(needsTwo, [{ type: 'approve', by: 'U0APPROVE1', selfApproval: false }, at(1)]);
    expect(halfway.status).toBe('pending');
    const { blocks } = approvalMessage(halfway);
    expect(contextText(blocks)).toContain('1 of 2 approvals (<@U0APPROVE1>)');
    expect(actionsOf(blocks)).toHaveLength(1);
    expect(contextText(approvalMessage(pending).blocks)).not.toContain('approvals');
  });

  it.each(STATUSES.filter((s) => s !== 'pending'))('has no buttons once %s', (status) => {
    expect(actionsOf(approvalMessage(inStatus[status]).blocks)).toEqual([]);
  });

  it.each([
    ['approved', ['Approved by <@U0APPROVE1> at ' + slackDate(at(5)), 'being added']],
    ['active', ['Approved by <@U0APPROVE1> at ' + slackDate(at(5)), 'active until ' + slackDate(at(126))]],
    ['expired', ['expired at ' + slackDate(at(126))]],
    ['revoked', ['revoked by <@U0REVOKER1> at ' + slackDate(at(30))]],
    ['denied', ['Denied by <@U0DENIER01> at ' + slackDate(at(3))]],
    ['cancelled', ['Cancelled by <@U0REQUEST1> at ' + slackDate(at(2))]],
    ['failed', ['Failed at ' + slackDate(at(6)), '`InvalidGroup.NotFound`', 'AWS does not know the security group']],
  ] as Array<[Status, string[]]>)('states the outcome once %s', (status, expected) => {
    const line = contextText(approvalMessage(inStatus[status]).blocks);
    for (const part of expected) expect(line).toContain(JSON.stringify(part).slice(1, -1));
  });

  it('shows a failure by its code and meaning, not by the AWS message', () => {
    expect(contextText(approvalMessage(inStatus.failed).blocks)).not.toContain('sg-0aaaaaaaaaaaaaaaa');
  });

  it('says a cancellation without a person was a timeout', () => {
    const timedOut = apply(pending, [{ type: 'cancel', by: 'system' }, at(60)]);
    expect(contextText(approvalMessage(timedOut).blocks)).toContain('no decision in time');
  });

  it('formats times with Slack date tokens and an ISO fallback', () => {
    expect(slackDate(at(5))).toBe(`<!date^${at(5).getTime() / 1000}^{date_short_pretty} {time}|2026-01-01T10:05:00.000Z>`);
  });

  it('says so when no reason was given', () => {
    expect(allText(approvalMessage({ ...pending, reason: '' }).blocks)).toContain('*Reason*\\n_none given_');
  });

  it('escapes the reason so it cannot mention, link or break the markup', () => {
    const blocks = approvalMessage({ ...pending, reason: '<!channel> look at <https://evil.example|this> & that' }).blocks;
    const reason = allText(blocks);
    expect(reason).toContain('&lt;!channel&gt; look at &lt;https://evil.example|this&gt; &amp; that');
    expect(reason).not.toContain('<!channel>');
  });

  it('cuts a 3000-character reason to fit the section, with an ellipsis', () => {
    const { blocks } = approvalMessage({ ...pending, reason: 'r'.repeat(3000) });
    const reasonText = (blocks[2] as { text: { text: string } }).text.text;
    expect(reasonText.length).toBe(3000);
    expect(reasonText.endsWith('r…')).toBe(true);
    expect(validateBlocks(blocks)).toEqual([]);
  });

  it.each(STATUSES)('passes Slack validation when %s', (status) => {
    expect(validateBlocks(approvalMessage(inStatus[status]).blocks)).toEqual([]);
  });
});

describe('requesterMessage', () => {
  it.each([
    ['pending', ['#42', '`orders-redis`', 'waiting for approval']],
    ['approved', ['#42 was approved by <@U0APPROVE1>', 'inbound TCP 6379 on `sg-0aaaaaaaaaaaaaaaa` from `sg-0bbbbbbbbbbbbbbbb`']],
    ['active', ['Access is open', '`orders-redis.abc123.ng.0001.use1.cache.amazonaws.com:6379`', 'until ' + slackDate(at(126))]],
    ['expired', ['#42 expired at ' + slackDate(at(126)), 'rule was removed']],
    ['revoked', ['revoked by <@U0REVOKER1>', 'rule was removed']],
    ['denied', ['#42 was denied by <@U0DENIER01>']],
    ['cancelled', ['#42 was cancelled']],
    ['failed', ['#42 failed', '`InvalidGroup.NotFound`', 'No access was opened']],
  ] as Array<[Status, string[]]>)('tells the requester what happened when %s, within Slack limits', (status, expected) => {
    const { text, blocks } = requesterMessage(inStatus[status]);
    for (const part of expected) expect(text).toContain(part);
    expect(validateBlocks(blocks)).toEqual([]);
  });

  it('shows approval progress while pending', () => {
    const halfway = apply({ ...pending, approvalsRequired: 2 }, [{ type: 'approve', by: 'U0APPROVE1', selfApproval: false }, at(1)]);
    expect(requesterMessage(halfway).text).toContain('1 of 2 approvals so far');
  });

  it('adds the note as a line of its own', () => {
    const { text, blocks } = requesterMessage(inStatus.revoked, 'The rule was removed outside cache-access.');
    expect(text.split('\n')).toEqual([expect.stringContaining('revoked'), 'The rule was removed outside cache-access.']);
    expect(allText(blocks)).toContain('removed outside cache-access');
  });
});

describe('Block Kit limits hold for any input', () => {
  // size 'max': fast-check otherwise keeps strings short, far from the limits that matter here.
  const awkward = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 4000, size: 'max' }),
    fc
      .array(fc.constantFrom('<', '>', '&', '<!here>', '<@U1>', '😀', 'é', '`', '*', '\n', 'x'), { maxLength: 3500, size: 'max' })
      .map((a) => a.join('')),
  );

  it('every status renders valid messages whatever the reason, failure message and note', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATUSES), awkward, awkward, awkward, (status, reason, failureMessage, note) => {
        const request: AccessRequest = {
          ...inStatus[status],
          reason,
          ...(status === 'failed' ? { failure: { code: 'SomeAwsError', message: failureMessage } } : {}),
        };
        const approval = approvalMessage(request);
        expect(validateBlocks(approval.blocks)).toEqual([]);
        expect(validateBlocks(requesterMessage(request, note).blocks)).toEqual([]);
        // Nothing a person typed survives as markup: the reason section holds no raw angle brackets.
        const reasonText = (approval.blocks[2] as { text: { text: string } }).text.text;
        expect(reasonText).not.toMatch(/[<>]/);
      }),
      // Shrinking kilobyte strings takes minutes; the unshrunk counterexample is readable enough.
      { numRuns: 200, endOnFailure: true },
    );
  });

  it('every state of a break-glass grant, reviewed or not, renders a valid alert and list item whatever the reason', () => {
    const opened = apply(pending, [{ type: 'break-glass', by: 'U0REQUEST1' }, at(1)]);
    const grants = [opened, apply(opened, [{ type: 'activate', ruleRecordId: 7 }, at(2)]), apply(opened, [{ type: 'fail', code: 'SomeAwsError', message: 'no' }, at(2)])];
    const states = grants.flatMap((grant) => [grant, apply(grant, [{ type: 'review', by: 'U0APPROVE1' }, at(3)])]);
    fc.assert(
      fc.property(fc.constantFrom(...states), awkward, (state, reason) => {
        const alert = breakGlassMessage({ ...state, reason });
        expect(validateBlocks(alert.blocks)).toEqual([]);
        const reasonText = (alert.blocks[3] as { text: { text: string } }).text.text;
        expect(reasonText).not.toMatch(/[<>]/);
        // Reviewed only while nobody has; Revoke now only while the access is (being) opened.
        expect(allText(alert.blocks).includes('break-glass-reviewed')).toBe(state.breakGlass?.reviewedBy === undefined);
        expect(allText(alert.blocks).includes('end-access')).toBe(state.status !== 'failed');
        // The same grant in a list for its reviewers (the Home tab, /cache-access list).
        const item = reviewItem({ ...state, reason });
        expect(validateBlocks(item)).toEqual([]);
        expect((item[0] as { text: { text: string } }).text.text.split('*Why:* ')[1]).not.toMatch(/[<>]/);
      }),
      { numRuns: 100, endOnFailure: true },
    );
  });

  it('a ticket of any text, with a link of any length, keeps every message valid and cannot add markup', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATUSES), awkward, fc.integer({ min: 0, max: 3000 }), (status, id, pathLength) => {
        const url = ticketUrl(`https://t.example.com/${'p'.repeat(pathLength)}/{0}`, id);
        const request = { ...inStatus[status], facts: { ...FACTS, ticket: { id, url } } };
        expect(validateBlocks(approvalMessage(request).blocks)).toEqual([]);
        expect(validateBlocks(requesterMessage(request).blocks)).toEqual([]);
        const shown = ticketMrkdwn(request);
        // A link's only markup is its own brackets and first bar; anything else is the ticket's text, escaped.
        const inner = shown.startsWith('<') ? shown.slice(shown.indexOf('|') + 1, -1) : shown;
        expect(inner).not.toMatch(/[<>]/);
      }),
      { numRuns: 100, endOnFailure: true },
    );
  });
});

describe('what happens to open sessions when access ends', () => {
  const facts = {
    accountId: '123456789012',
    region: 'us-east-1',
    exposure: { otherClusters: [], otherInterfaces: [] },
    connection: { tls: true, auth: 'none' as const, clusterMode: false },
  };
  const text = (message: { blocks: Block[] }) => JSON.stringify(message.blocks);

  it('the approval message says whether they will be closed', () => {
    expect(text(approvalMessage({ ...pending, facts: { ...facts, endsSessions: true } }, T0))).toContain(
      'When access ends, cache-access also closes the connections still open from this source.',
    );
    expect(text(approvalMessage({ ...pending, facts }, T0))).toContain('connections still open from this source are not closed');
    expect(text(approvalMessage({ ...pending, engine: 'memcached', facts }, T0))).toContain('Memcached cannot close a client connection');
  });

  it('once it has ended, the requester is told they are being closed, or that they stay open (always for Memcached)', () => {
    const expired = inStatus.expired;
    expect(text(requesterMessage({ ...expired, facts: { ...facts, endsSessions: true } }, undefined, at(127)))).toContain(
      'Open connections it let in are being closed too',
    );
    expect(text(requesterMessage({ ...expired, facts }, undefined, at(127)))).toContain('may stay open after its removal');
    expect(text(requesterMessage({ ...expired, engine: 'memcached', facts }, undefined, at(127)))).toContain(
      'stay open until the client closes them',
    );
  });
});

describe('ticketMrkdwn', () => {
  it('links the ticket, escaping & in the URL as Slack expects; without a link it is shown as code', () => {
    const url = 'https://t.example.com/browse/OPS-1?a=1&b=2';
    expect(ticketMrkdwn({ ...pending, facts: { ...FACTS, ticket: { id: 'OPS-1', url } } })).toBe('<https://t.example.com/browse/OPS-1?a=1&amp;b=2|OPS-1>');
    expect(ticketMrkdwn({ ...pending, facts: { ...FACTS, ticket: { id: 'OPS-1' } } })).toBe('`OPS-1`');
    expect(ticketMrkdwn(pending)).toBe('');
  });
});
