import { describe, expect, test } from 'vitest';
import { ConflictError, InvalidInputError, NotAllowedError } from '../../src/domain/errors.js';
import { extendedExpiry, extensionAllowance, LEGAL_EVENTS, reminderTime, transition, type Effect, type EventType, type LifecycleEvent } from '../../src/domain/lifecycle.js';
import { STATUSES, type AccessRequest, type Status } from '../../src/domain/request.js';

const CREATED = new Date('2030-01-01T09:00:00Z');
const NOW = new Date('2030-01-01T10:00:00Z');

function request(status: Status, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 42,
    status,
    requesterId: 'UREQUESTER',
    requesterName: 'ada',
    clusterId: 'orders-redis',
    engine: 'redis',
    endpoint: 'orders-redis.abc123.use1.cache.amazonaws.com',
    port: 6379,
    vpcId: 'vpc-0123abcd',
    targetGroupId: 'sg-0123abcd',
    source: { kind: 'cidr', cidr: '10.1.2.0/24' },
    durationSeconds: 7_200,
    reason: 'investigating checkout latency',
    policyMatch: 'orders-*',
    approvalsRequired: 1,
    approvals: [],
    createdAt: CREATED,
    version: 3,
    ...overrides,
  };
}

const EVENTS: Record<EventType, LifecycleEvent> = {
  approve: { type: 'approve', by: 'UAPPROVER', selfApproval: false },
  deny: { type: 'deny', by: 'UAPPROVER' },
  cancel: { type: 'cancel', by: 'UREQUESTER' },
  activate: { type: 'activate', ruleRecordId: 7 },
  fail: { type: 'fail', code: 'InvalidPermission.Malformed', message: 'bad rule' },
  expire: { type: 'expire' },
  revoke: { type: 'revoke', by: 'UREVOKER' },
  extend: { type: 'extend', by: 'UAPPROVER', until: new Date('2030-01-01T13:00:00Z') },
  'break-glass': { type: 'break-glass', by: 'UREQUESTER' },
  review: { type: 'review', by: 'UAPPROVER' },
};

/** A break-glass grant no approver has reviewed yet. */
const UNREVIEWED: Partial<AccessRequest> = { breakGlass: {} };
const REVIEWED: Partial<AccessRequest> = { breakGlass: { reviewedBy: { userId: 'UAPPROVER', at: NOW } } };
const REVIEWABLE: Status[] = ['approved', 'active', 'expired', 'revoked', 'failed'];

const MESSAGES_AND_REQUESTER: Effect[] = ['update-approval-messages', 'notify-requester'];

/**
 * The legal moves, with exactly what each must change on the request (beyond version + 1); `given`: what
 * the request must already be for the move (a review needs a break-glass grant).
 */
const LEGAL: Array<{ from: Status; event: EventType; status: Status; effects: Effect[]; fields: Partial<AccessRequest>; given?: Partial<AccessRequest> }> = [
  {
    from: 'pending',
    event: 'approve',
    status: 'approved',
    effects: ['update-approval-messages', 'notify-requester', 'schedule-grant'],
    fields: { approvals: [{ userId: 'UAPPROVER', at: NOW }], approvedAt: NOW },
  },
  {
    from: 'pending',
    event: 'deny',
    status: 'denied',
    effects: MESSAGES_AND_REQUESTER,
    fields: { deniedBy: { userId: 'UAPPROVER', at: NOW }, endedAt: NOW, endedBy: 'UAPPROVER' },
  },
  { from: 'pending', event: 'cancel', status: 'cancelled', effects: MESSAGES_AND_REQUESTER, fields: { endedAt: NOW, endedBy: 'UREQUESTER' } },
  {
    from: 'approved',
    event: 'activate',
    status: 'active',
    effects: ['schedule-revoke', 'schedule-reminder', 'update-approval-messages', 'notify-requester'],
    // The duration (2h) counts from activation, not from the request.
    fields: { activatedAt: NOW, expiresAt: new Date('2030-01-01T12:00:00Z'), ruleRecordId: 7 },
  },
  {
    from: 'approved',
    event: 'fail',
    status: 'failed',
    effects: MESSAGES_AND_REQUESTER,
    fields: { endedAt: NOW, failure: { code: 'InvalidPermission.Malformed', message: 'bad rule' } },
  },
  { from: 'approved', event: 'cancel', status: 'cancelled', effects: MESSAGES_AND_REQUESTER, fields: { endedAt: NOW, endedBy: 'UREQUESTER' } },
  { from: 'active', event: 'expire', status: 'expired', effects: MESSAGES_AND_REQUESTER, fields: { endedAt: NOW, endedBy: 'system' } },
  { from: 'active', event: 'revoke', status: 'revoked', effects: MESSAGES_AND_REQUESTER, fields: { endedAt: NOW, endedBy: 'UREVOKER' } },
  {
    from: 'active',
    event: 'extend',
    status: 'active',
    effects: ['schedule-revoke', 'schedule-reminder', 'update-approval-messages', 'notify-requester'],
    // Only the expiry moves: the activation time and the original duration stay as recorded.
    fields: { expiresAt: new Date('2030-01-01T13:00:00Z') },
  },
  {
    from: 'pending',
    event: 'break-glass',
    status: 'approved',
    effects: ['schedule-grant', 'notify-requester'],
    // Approved without any approval, and marked unreviewed.
    fields: { approvedAt: NOW, ...UNREVIEWED },
  },
  ...REVIEWABLE.map((from) => ({
    from,
    event: 'review' as const,
    status: from,
    effects: ['update-approval-messages'] satisfies Effect[],
    fields: REVIEWED,
    given: UNREVIEWED,
  })),
];

const ALL_PAIRS = STATUSES.flatMap((status) => (Object.keys(EVENTS) as EventType[]).map((event) => ({ status, event })));
const isLegal = (status: Status, event: EventType) => LEGAL.some((l) => l.from === status && l.event === event);

test('the table covers all 8 statuses × 10 events, and the legal moves agree with LEGAL_EVENTS', () => {
  expect(ALL_PAIRS).toHaveLength(80);
  for (const { status, event } of ALL_PAIRS) {
    expect(LEGAL_EVENTS[status].includes(event), `${status} + ${event}`).toBe(isLegal(status, event));
  }
});

describe.each(LEGAL)('$from + $event → $status', ({ from, event, status, effects, fields, given }) => {
  test('sets the next status, the fields and the effects, and bumps the version', () => {
    const before = request(from, given);
    const snapshot = structuredClone(before);

    const { next, effects: actual } = transition(before, EVENTS[event], NOW);

    expect(next).toEqual({ ...snapshot, ...fields, status, version: snapshot.version + 1 });
    expect(actual).toEqual(effects);
    expect(before).toEqual(snapshot);
  });
});

describe.each(ALL_PAIRS.filter(({ status, event }) => !isLegal(status, event)))('$status + $event', ({ status, event }) => {
  test('is refused with ConflictError and leaves the request as it was', () => {
    const before = request(status, { approvals: status === 'pending' ? [] : [{ userId: 'UAPPROVER', at: CREATED }] });
    const snapshot = structuredClone(before);

    expect(() => transition(before, EVENTS[event], NOW)).toThrow(ConflictError);
    expect(before).toEqual(snapshot);
  });
});

describe('approvals', () => {
  test('the requester cannot approve their own request unless the policy allows self-approval', () => {
    const pending = request('pending');
    const snapshot = structuredClone(pending);
    const own = { type: 'approve', by: 'UREQUESTER', selfApproval: false } as const;

    expect(() => transition(pending, own, NOW)).toThrow(NotAllowedError);
    expect(pending).toEqual(snapshot);

    const { next } = transition(pending, { ...own, selfApproval: true }, NOW);
    expect(next.status).toBe('approved');
    expect(next.approvals).toEqual([{ userId: 'UREQUESTER', at: NOW }]);
  });

  test('the same approver approving twice is a ConflictError', () => {
    const pending = request('pending', { approvalsRequired: 2, approvals: [{ userId: 'UAPPROVER', at: CREATED }] });
    const snapshot = structuredClone(pending);

    expect(() => transition(pending, EVENTS.approve, NOW)).toThrow(ConflictError);
    expect(pending).toEqual(snapshot);
  });

  test('with 2 approvals required, the first keeps it pending and the second approves it', () => {
    const pending = request('pending', { approvalsRequired: 2 });
    const later = new Date(NOW.getTime() + 60_000);

    const first = transition(pending, { type: 'approve', by: 'UFIRST', selfApproval: false }, NOW);
    expect(first.effects).toEqual(['update-approval-messages']);
    expect(first.next).toEqual({ ...pending, approvals: [{ userId: 'UFIRST', at: NOW }], version: pending.version + 1 });
    expect(first.next.approvedAt).toBeUndefined();

    const second = transition(first.next, { type: 'approve', by: 'USECOND', selfApproval: false }, later);
    expect(second.effects).toEqual(['update-approval-messages', 'notify-requester', 'schedule-grant']);
    expect(second.next).toEqual({
      ...first.next,
      status: 'approved',
      approvals: [
        { userId: 'UFIRST', at: NOW },
        { userId: 'USECOND', at: later },
      ],
      approvedAt: later,
      version: pending.version + 2,
    });
    expect(first.next.approvals).toHaveLength(1);
  });
});

describe('break-glass', () => {
  test('only the requester can break glass for their request', () => {
    const pending = request('pending');
    const snapshot = structuredClone(pending);
    expect(() => transition(pending, { type: 'break-glass', by: 'USOMEONE' }, NOW)).toThrow(NotAllowedError);
    expect(pending).toEqual(snapshot);
  });

  test('the requester cannot review their own break-glass grant', () => {
    const active = request('active', UNREVIEWED);
    expect(() => transition(active, { type: 'review', by: 'UREQUESTER' }, NOW)).toThrow(/your own break-glass grant/);
    expect(active.breakGlass).toEqual({});
  });

  test('a second review is a ConflictError naming the first reviewer, and keeps the first', () => {
    const reviewed = request('active', REVIEWED);
    const snapshot = structuredClone(reviewed);
    expect(() => transition(reviewed, { type: 'review', by: 'USECOND' }, NOW)).toThrow(/already reviewed by <@UAPPROVER>/);
    expect(reviewed).toEqual(snapshot);
  });

  test('a grant approved in the usual way has nothing to review', () => {
    expect(() => transition(request('active'), EVENTS.review, NOW)).toThrow(ConflictError);
  });

  test('a break-glass grant stays unreviewed through activation and its end', () => {
    const opened = transition(request('pending'), EVENTS['break-glass'], NOW).next;
    const active = transition(opened, EVENTS.activate, NOW).next;
    const expired = transition(active, EVENTS.expire, NOW).next;
    expect(expired.breakGlass).toEqual({});
    expect(transition(expired, EVENTS.review, NOW).next.breakGlass).toEqual(REVIEWED.breakGlass);
  });
});

describe('extension', () => {
  const ACTIVATED = new Date('2030-01-01T10:00:00Z');
  const active = request('active', { activatedAt: ACTIVATED, expiresAt: new Date('2030-01-01T12:00:00Z') });

  test('an extension must end later than the current expiry', () => {
    const snapshot = structuredClone(active);
    expect(() => transition(active, { type: 'extend', by: 'UAPPROVER', until: new Date('2030-01-01T11:00:00Z') }, NOW)).toThrow(ConflictError);
    expect(active).toEqual(snapshot);
  });

  test('an extension is refused once the end has come, and one ending exactly at the current expiry is no extension', () => {
    const end = active.expiresAt!;
    const later = new Date('2030-01-01T13:00:00Z');
    const extend = (until: Date, at: Date) => transition(active, { type: 'extend', by: 'UAPPROVER', until }, at);
    expect(() => extend(later, end)).toThrow(/can no longer be extended/);
    expect(() => extend(later, new Date(end.getTime() + 1))).toThrow(/can no longer be extended/);
    expect(extend(later, new Date(end.getTime() - 1)).next.expiresAt).toEqual(later);
    expect(() => extend(end, NOW)).toThrow(/must end later/);
  });

  test('extendedExpiry adds to the current expiry, up to the total the policy allows from activation', () => {
    expect(extendedExpiry(active, 3_600, 4 * 3_600)).toEqual(new Date('2030-01-01T13:00:00Z'));
    expect(extendedExpiry(active, 2 * 3_600, 4 * 3_600)).toEqual(new Date('2030-01-01T14:00:00Z'));
    expect(() => extendedExpiry(active, 2 * 3_600 + 1, 4 * 3_600)).toThrow(/at most 2h/);
    expect(() => extendedExpiry(active, 60, 2 * 3_600)).toThrow(InvalidInputError);
    expect(extensionAllowance(active, 3 * 3_600)).toBe(3_600);
    expect(() => extendedExpiry(request('pending'), 60, 4 * 3_600)).toThrow(ConflictError);
  });
});

describe('reminderTime', () => {
  const ACTIVATED = new Date('2030-01-01T10:00:00Z');
  test.each([
    ['a 2h grant, 10m before', 7_200, 600, new Date('2030-01-01T11:50:00Z')],
    ['exactly twice the lead time', 1_200, 600, new Date('2030-01-01T10:10:00Z')],
    ['shorter than twice the lead time', 1_199, 600, undefined],
  ])('%s', (_, seconds, before, expected) => {
    const active = request('active', { activatedAt: ACTIVATED, expiresAt: new Date(ACTIVATED.getTime() + seconds * 1000) });
    expect(reminderTime(active, before)).toEqual(expected);
  });

  test('no reminder for a request that is not active', () => {
    expect(reminderTime(request('expired', { activatedAt: ACTIVATED, expiresAt: NOW }), 600)).toBeUndefined();
  });
});
