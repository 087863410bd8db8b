/**
 * Actors that are not Slack users (cache-access itself, AWS, CLI operators) are worded, never turned
 * into `<@…>` mentions Slack cannot resolve, in every message that names who did something.
 */
import { describe, expect, it } from 'vitest';
import { approvalMessage, requesterMessage } from '../../src/adapters/slack/blocks.js';
import { extensionMessage, statusMessage } from '../../src/adapters/slack/lifecycle-blocks.js';
import { staleDecisionMessage } from '../../src/app/decide.js';
import { endedMessage } from '../../src/app/end-access.js';
import { actorMrkdwn, parseActor } from '../../src/domain/actor.js';
import { transition, type LifecycleEvent } from '../../src/domain/lifecycle.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { requestDraft } from '../support/request-fixtures.js';

const T0 = new Date('2030-01-01T10:00:00Z');
const pending: AccessRequest = { ...requestDraft({ createdAt: T0 }), id: 7, status: 'pending', approvals: [], version: 1 };
const apply = (request: AccessRequest, ...events: LifecycleEvent[]) => events.reduce((r, event) => transition(r, event, T0).next, request);
const active = apply(pending, { type: 'approve', by: 'U0APPROVER', selfApproval: false }, { type: 'activate', ruleRecordId: 1 });

describe('actorMrkdwn', () => {
  it.each([
    ['U0ALICE', '<@U0ALICE>'],
    ['W0ENTERPRISE', '<@W0ENTERPRISE>'],
    ['system', 'cache-access'],
    ['aws', 'AWS (removed outside cache-access)'],
    ['operator:olga', 'operator olga'],
    [undefined, 'cache-access'],
  ])('words %s as %s', (stored, words) => {
    expect(actorMrkdwn(stored)).toBe(words);
  });

  it('reads the stored strings as typed actors', () => {
    expect(parseActor('operator:sec-oncall')).toEqual({ kind: 'operator', name: 'sec-oncall' });
    expect(parseActor('aws')).toEqual({ kind: 'aws' });
    expect(parseActor('U0BOB')).toEqual({ kind: 'slack-user', userId: 'U0BOB' });
  });

  it("escapes an operator's name, which comes from the command line, so it cannot mention anyone", () => {
    expect(actorMrkdwn('operator:<!channel>')).toBe('operator &lt;!channel&gt;');
  });
});

describe('messages name actors that are not Slack users in words', () => {
  const byOperator = apply(active, { type: 'revoke', by: 'operator:olga' });
  const byAws = apply(active, { type: 'revoke', by: 'aws' });
  const autoApproved = apply(pending, { type: 'approve', by: 'system', selfApproval: false });

  it.each([
    ['the requester DM', () => requesterMessage(byOperator).text, 'revoked by operator olga'],
    ['the approval message', () => JSON.stringify(approvalMessage(byAws).blocks), 'revoked by AWS (removed outside cache-access)'],
    ['the reply to a late revoke', () => endedMessage(byOperator, T0), 'already revoked by operator olga'],
    ['the reply to a late Approve click', () => staleDecisionMessage(autoApproved), 'already approved by cache-access'],
    ['the status of a request', () => JSON.stringify(statusMessage({ request: byAws, history: [] }).blocks), 'by AWS (removed outside cache-access)'],
    [
      'the events of a request',
      () => JSON.stringify(statusMessage({ request: byOperator, history: [{ requestId: 7, at: T0, actor: 'operator:olga', type: 'revoke-requested' }] }).blocks),
      'revoke-requested · operator olga',
    ],
    [
      'an extension message',
      () =>
        JSON.stringify(
          extensionMessage(byAws, {
            requestId: 7,
            by: 'U0REQUESTER',
            at: T0,
            seconds: 3600,
            until: T0,
            approvalsRequired: 1,
            approvals: [{ userId: 'U0APPROVER', at: T0 }],
            outcome: { kind: 'denied', by: 'operator:olga', at: T0 },
          }).blocks,
        ),
      'denied by operator olga',
    ],
  ])('%s', (_where, render, words) => {
    const text = render();
    expect(text).toContain(words);
    expect(text).not.toMatch(/<@(aws|system|operator)/);
  });
});
