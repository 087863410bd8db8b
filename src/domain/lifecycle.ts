import { ConflictError, NotAllowedError } from './errors.js';
import type { AccessRequest, Status } from './request.js';

/** Everything that can happen to a request. `by` is always the Slack user (or 'system') responsible. */
export type LifecycleEvent =
  | { type: 'approve'; by: string; selfApproval: boolean }
  | { type: 'deny'; by: string }
  | { type: 'cancel'; by: string }
  | { type: 'activate'; ruleRecordId: number }
  | { type: 'fail'; code: string; message: string }
  | { type: 'expire' }
  | { type: 'revoke'; by: string };

export type EventType = LifecycleEvent['type'];

/** Work the caller must do after saving the new state. */
export type Effect = 'schedule-grant' | 'schedule-revoke' | 'update-approval-messages' | 'notify-requester';

export interface Transition {
  next: AccessRequest;
  effects: Effect[];
}

/** Which events each status accepts; everything else is a ConflictError. */
export const LEGAL_EVENTS: Readonly<Record<Status, readonly EventType[]>> = {
  pending: ['approve', 'deny', 'cancel'],
  approved: ['activate', 'fail', 'cancel'],
  active: ['expire', 'revoke'],
  expired: [],
  revoked: [],
  denied: [],
  cancelled: [],
  failed: [],
};

/** Pure: computes the next state of `request` under `event` at `now`; never performs I/O. */
export function transition(request: AccessRequest, event: LifecycleEvent, now: Date): Transition {
  if (!LEGAL_EVENTS[request.status].includes(event.type)) {
    throw new ConflictError(`#${request.id} is ${request.status}; it cannot be ${pastTense(event.type)} now.`);
  }
  const base = { ...request, version: request.version + 1 };
  switch (event.type) {
    case 'approve': {
      if (event.by === request.requesterId && !event.selfApproval) {
        throw new NotAllowedError(`You cannot approve your own request #${request.id}.`);
      }
      if (request.approvals.some((a) => a.userId === event.by)) {
        throw new ConflictError(`You have already approved #${request.id}.`);
      }
      const approvals = [...request.approvals, { userId: event.by, at: now }];
      if (approvals.length < request.approvalsRequired) {
        return { next: { ...base, approvals }, effects: ['update-approval-messages'] };
      }
      return {
        next: { ...base, approvals, status: 'approved', approvedAt: now },
        effects: ['update-approval-messages', 'notify-requester', 'schedule-grant'],
      };
    }
    case 'deny':
      return {
        next: { ...base, status: 'denied', deniedBy: { userId: event.by, at: now }, endedAt: now, endedBy: event.by },
        effects: ['update-approval-messages', 'notify-requester'],
      };
    case 'cancel':
      return {
        next: { ...base, status: 'cancelled', endedAt: now, endedBy: event.by },
        effects: ['update-approval-messages', 'notify-requester'],
      };
    case 'activate':
      return {
        next: {
          ...base,
          status: 'active',
          activatedAt: now,
          // The duration counts from the moment the rule is in place, not from the request.
          expiresAt: new Date(now.getTime() + request.durationSeconds * 1000),
          ruleRecordId: event.ruleRecordId,
        },
        effects: ['schedule-revoke', 'update-approval-messages', 'notify-requester'],
      };
    case 'fail':
      return {
        next: { ...base, status: 'failed', endedAt: now, failure: { code: event.code, message: event.message } },
        effects: ['update-approval-messages', 'notify-requester'],
      };
    case 'expire':
      return {
        next: { ...base, status: 'expired', endedAt: now, endedBy: 'system' },
        effects: ['update-approval-messages', 'notify-requester'],
      };
    case 'revoke':
      return {
        next: { ...base, status: 'revoked', endedAt: now, endedBy: event.by },
        effects: ['update-approval-messages', 'notify-requester'],
      };
  }
}

function pastTense(type: EventType): string {
  const words: Record<EventType, string> = {
    approve: 'approved',
    deny: 'denied',
    cancel: 'cancelled',
    activate: 'activated',
    fail: 'failed',
    expire: 'expired',
    revoke: 'revoked',
  };
  return words[type];
}
