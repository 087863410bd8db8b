import { actorMrkdwn } from '../domain/actor.js';
import { formatDuration } from '../domain/durations.js';
import { ConflictError, NotAllowedError, NotFoundError } from '../domain/errors.js';
import { transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import { isRequesterOrApprover } from './access-rights.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';
import { requestRevocation } from './request-revocation.js';

export interface EndAccessInput {
  requestId: number;
  /** The signed Slack user id of the person asking: the only thing that decides who may. */
  userId: string;
  /** 'cancel' only withdraws a pending request; 'revoke' also ends active access. */
  mode: 'cancel' | 'revoke';
}

export interface EndAccessOutcome {
  request: AccessRequest;
  /** cancelled: the pending request was withdrawn; revoking: the revoke job removes the rule now. */
  outcome: 'cancelled' | 'revoking';
}

/**
 * Ends a request early: its requester withdraws it while pending; its requester or an approver ends
 * active access through the revoke job (requestRevocation). Anything else says why not, to them only:
 * anyone else is told the request does not exist, exactly as for an id that does not.
 */
export async function endAccess(deps: UseCaseDeps, input: EndAccessInput): Promise<EndAccessOutcome> {
  const request = await deps.store.get(input.requestId);
  if (!request || !(await isRequesterOrApprover(deps, request, input.userId))) {
    throw new NotFoundError(`There is no request #${input.requestId}.`);
  }
  switch (request.status) {
    case 'pending':
      return { request: await cancelPending(deps, request, input.userId), outcome: 'cancelled' };
    case 'active':
      if (input.mode === 'cancel') {
        throw new ConflictError(`#${request.id} is already active: use \`/cache-access revoke ${request.id}\` to end it now.`);
      }
      return { request: await requestRevocation(deps, { requestId: request.id, by: input.userId }), outcome: 'revoking' };
    case 'approved':
      throw new ConflictError(`#${request.id} was just approved and its rule is being added; revoke it once it is active.`);
    default:
      throw new ConflictError(endedMessage(request, deps.clock.now()));
  }
}

async function cancelPending(deps: UseCaseDeps, request: AccessRequest, userId: string): Promise<AccessRequest> {
  if (request.requesterId !== userId) {
    throw new NotAllowedError(`Only the requester can cancel #${request.id}; approvers can deny it instead.`);
  }
  const now = deps.clock.now();
  const { next, effects } = transition(request, { type: 'cancel', by: userId }, now);
  try {
    await deps.store.save(next, [{ at: now, actor: userId, type: 'cancelled' }]);
  } catch (error) {
    // Decided meanwhile: say what happened instead.
    if (error instanceof ConflictError) throw new ConflictError(endedMessage((await deps.store.get(request.id))!, now));
    throw error;
  }
  await applyEffects(deps, next, effects);
  return next;
}

/** What someone is told when they act on a request that has already moved on. */
export function endedMessage(request: AccessRequest, now: Date): string {
  const id = `#${request.id}`;
  const ago = (date: Date | undefined) => (date ? ` ${formatDuration((now.getTime() - date.getTime()) / 1000)} ago` : '');
  switch (request.status) {
    case 'pending':
      return `${id} is still waiting for approval.`;
    case 'approved':
      return `${id} was already approved by ${actorMrkdwn(request.approvals.at(-1)?.userId)}; its rule is being added.`;
    case 'active':
      return `${id} is active until ${request.expiresAt?.toISOString()}.`;
    case 'expired':
      return `${id} already expired${ago(request.endedAt)}.`;
    case 'revoked':
      return `${id} was already revoked by ${actorMrkdwn(request.endedBy)}${ago(request.endedAt)}.`;
    case 'denied':
      return `${id} was already denied by ${actorMrkdwn(request.deniedBy?.userId ?? request.endedBy)}.`;
    case 'cancelled':
      return request.endedBy === 'system'
        ? `${id} was already cancelled: no approver decided in time.`
        : `${id} was already cancelled by ${actorMrkdwn(request.endedBy)}.`;
    case 'failed':
      return `${id} failed (${request.failure?.code}); no access was opened.`;
  }
}
