import { actorMrkdwn } from './actor.js';
import { formatDuration } from './durations.js';
import { ConflictError, InvalidInputError, NotAllowedError } from './errors.js';
import type { AccessRequest, Status } from './request.js';

/** Everything that can happen to a request. `by` is always the Slack user (or 'system') responsible. */
export type LifecycleEvent =
  | { type: 'approve'; by: string; selfApproval: boolean }
  | { type: 'deny'; by: string }
  | { type: 'cancel'; by: string }
  | { type: 'activate'; ruleRecordId: number }
  | { type: 'fail'; code: string; message: string }
  | { type: 'expire' }
  | { type: 'revoke'; by: string }
  /** An approved extension: the grant now ends at `until`. */
  | { type: 'extend'; by: string; until: Date }
  /** The requester opens access at once, without approval (the policy's breakGlass allows them). */
  | { type: 'break-glass'; by: string }
  /** An approver looked at a break-glass grant after the fact. */
  | { type: 'review'; by: string };

export type EventType = LifecycleEvent['type'];

/** Work the caller must do after saving the new state. */
export type Effect =
  | 'schedule-grant'
  | 'schedule-revoke'
  | 'schedule-reminder'
  | 'update-approval-messages'
  | 'notify-requester';

export interface Transition {
  next: AccessRequest;
  effects: Effect[];
}

/** Which events each status accepts; everything else is a ConflictError. */
export const LEGAL_EVENTS: Readonly<Record<Status, readonly EventType[]>> = {
  pending: ['approve', 'deny', 'cancel', 'break-glass'],
  // A break-glass grant is reviewed whatever became of it since; only a grant that was opened can be.
  approved: ['activate', 'fail', 'cancel', 'review'],
  active: ['expire', 'revoke', 'extend', 'review'],
  expired: ['review'],
  revoked: ['review'],
  denied: [],
  cancelled: [],
  failed: ['review'],
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
        effects: ['schedule-revoke', 'schedule-reminder', 'update-approval-messages', 'notify-requester'],
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
    case 'extend':
      if (request.expiresAt! <= now) {
        throw new ConflictError(`#${request.id} has reached its end and is being revoked: it can no longer be extended.`);
      }
      if (event.until <= request.expiresAt!) {
        throw new ConflictError(`#${request.id} already runs until ${request.expiresAt!.toISOString()}; an extension must end later.`);
      }
      return {
        next: { ...base, expiresAt: event.until },
        effects: ['schedule-revoke', 'schedule-reminder', 'update-approval-messages', 'notify-requester'],
      };
    case 'break-glass':
      if (event.by !== request.requesterId) {
        throw new NotAllowedError(`Only the requester of #${request.id} can break glass for it.`);
      }
      // No approvals: the grant is marked unreviewed instead, and the approvers are told at once.
      return {
        next: { ...base, status: 'approved', approvedAt: now, breakGlass: {} },
        effects: ['schedule-grant', 'notify-requester'],
      };
    case 'review': {
      if (!request.breakGlass) throw new ConflictError(`#${request.id} was approved in the usual way: there is nothing to review.`);
      if (event.by === request.requesterId) {
        throw new NotAllowedError(`You cannot review your own break-glass grant #${request.id}: another approver must.`);
      }
      const reviewedBy = request.breakGlass.reviewedBy;
      if (reviewedBy) {
        throw new ConflictError(`#${request.id} was already reviewed by ${actorMrkdwn(reviewedBy.userId)} at ${reviewedBy.at.toISOString()}.`);
      }
      return { next: { ...base, breakGlass: { reviewedBy: { userId: event.by, at: now } } }, effects: ['update-approval-messages'] };
    }
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
    extend: 'extended',
    'break-glass': 'opened by break-glass',
    review: 'reviewed',
  };
  return words[type];
}

/** Seconds an active grant may still be extended by, when its total from activation may reach `maxTotalSeconds`. */
export function extensionAllowance(request: AccessRequest, maxTotalSeconds: number): number {
  if (!request.activatedAt || !request.expiresAt) return 0;
  const totalSeconds = (request.expiresAt.getTime() - request.activatedAt.getTime()) / 1000;
  return Math.max(0, Math.floor(maxTotalSeconds - totalSeconds));
}

/** The expiry an extension by `seconds` moves `request` to; refused when it would outgrow `maxTotalSeconds`. */
export function extendedExpiry(request: AccessRequest, seconds: number, maxTotalSeconds: number): Date {
  if (request.status !== 'active' || !request.expiresAt) {
    throw new ConflictError(`#${request.id} is ${request.status}, not active: there is nothing to extend.`);
  }
  const allowance = extensionAllowance(request, maxTotalSeconds);
  if (seconds > allowance) {
    throw new InvalidInputError(
      allowance === 0
        ? `#${request.id} already runs for the longest the policy allows (${formatDuration(maxTotalSeconds)} in total); request access again instead.`
        : `#${request.id} can be extended by at most ${formatDuration(allowance)}: the policy allows ${formatDuration(maxTotalSeconds)} in total.`,
    );
  }
  return new Date(request.expiresAt.getTime() + seconds * 1000);
}

/**
 * When to remind the requester that access ends soon: `remindBeforeSeconds` before expiry, and never
 * for grants (in total) shorter than twice that, where the reminder would come almost at once.
 */
export function reminderTime(request: AccessRequest, remindBeforeSeconds: number): Date | undefined {
  if (request.status !== 'active' || !request.activatedAt || !request.expiresAt) return undefined;
  const totalMs = request.expiresAt.getTime() - request.activatedAt.getTime();
  if (totalMs < 2 * remindBeforeSeconds * 1000) return undefined;
  return new Date(request.expiresAt.getTime() - remindBeforeSeconds * 1000);
}
