import { actorMrkdwn } from '../domain/actor.js';
import { formatDuration } from '../domain/durations.js';
import { ConflictError, NotAllowedError, NotFoundError } from '../domain/errors.js';
import { extendedExpiry, extensionAllowance, transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import type { ClusterPolicy } from '../policy.js';
import { approversOf } from './access-rights.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';
import { EXTENSION_EVENTS, lastExtension, pendingExtension, type LoggedExtension } from './extension-log.js';

export interface ExtensionInput {
  requestId: number;
  /** The signed Slack user id of the requester asking. */
  userId: string;
  /** How much longer; the grant's original duration when absent (the reminder's Extend button). */
  seconds?: number;
}

/**
 * The requester asks the cluster's approvers to extend an active grant. The extension is recorded in
 * the request's event log with where it was posted; one may wait for a decision at a time.
 */
export async function requestExtension(deps: UseCaseDeps, input: ExtensionInput): Promise<LoggedExtension> {
  const request = deps.store.get(input.requestId);
  if (!request) throw new NotFoundError(`There is no request #${input.requestId}.`);
  if (request.requesterId !== input.userId) {
    throw new NotAllowedError(`Only the requester of #${request.id} can ask to extend it.`);
  }
  const rule = ruleFor(deps, request);
  if (request.status !== 'active') {
    throw new ConflictError(`#${request.id} is ${request.status}, not active: there is nothing to extend.`);
  }
  const waiting = pendingExtension(deps, request.id);
  if (waiting) {
    throw new ConflictError(`An extension of #${request.id} by ${formatDuration(waiting.seconds)} is already waiting for approval.`);
  }
  // The default shrinks to what the policy still allows; when nothing is left, extendedExpiry says so.
  const seconds = Math.max(1, input.seconds ?? Math.min(request.durationSeconds, extensionAllowance(request, rule.maxTotal)));
  const until = extendedExpiry(request, seconds, rule.maxTotal);
  const at = deps.clock.now();
  const extension = { requestId: request.id, by: input.userId, at, seconds, until };
  const approverIds = await approversOf(deps, request.clusterId);
  const messages = await deps.notifier.requestExtension(request, extension, { channel: rule.channel, approverIds });
  deps.store.recordEvent(request.id, {
    at,
    actor: input.userId,
    type: EXTENSION_EVENTS.requested,
    detail: { seconds: extension.seconds, until: until.toISOString(), messages },
  });
  return { ...extension, messages };
}

export interface ExtensionDecisionInput {
  requestId: number;
  /** The signed user id of the click: the only thing that decides who may approve. */
  userId: string;
  decision: 'approve' | 'deny';
}

/**
 * An approver approves or denies the waiting extension. On approval the expiry moves and the revoke
 * job is replaced (Scheduler.scheduleRevoke), and the reminder with it. Stale clicks are ConflictErrors.
 */
export async function decideExtension(deps: UseCaseDeps, input: ExtensionDecisionInput): Promise<AccessRequest> {
  const request = deps.store.get(input.requestId);
  if (!request) throw new NotFoundError(`There is no request #${input.requestId}.`);
  const rule = ruleFor(deps, request);
  if (!(await approversOf(deps, request.clusterId)).includes(input.userId)) {
    throw new NotAllowedError(`You are not an approver for ${request.clusterId}, so you cannot decide on extending #${request.id}.`);
  }
  // Re-read after the await: another click may have decided meanwhile.
  const current = deps.store.get(input.requestId)!;
  const extension = pendingExtension(deps, current.id);
  if (!extension || current.status !== 'active') throw new ConflictError(staleExtensionMessage(deps, current));
  if (input.decision === 'approve' && input.userId === current.requesterId && !rule.selfApproval) {
    throw new NotAllowedError(`You cannot approve the extension of your own request #${current.id}.`);
  }
  const now = deps.clock.now();
  if (input.decision === 'deny') {
    deps.store.recordEvent(current.id, { at: now, actor: input.userId, type: EXTENSION_EVENTS.denied });
    await deps.notifier.refreshExtension(current, { ...extension, outcome: { kind: 'denied', by: input.userId, at: now } }, extension.messages);
    const ref = await deps.notifier.tellRequester(current, `Your request to extend it by ${formatDuration(extension.seconds)} was denied by ${actorMrkdwn(input.userId)}.`);
    deps.store.addMessageRefs([ref]);
    return current;
  }
  // The policy may have changed since the extension was asked for: check the total again.
  const until = extendedExpiry(current, extension.seconds, rule.maxTotal);
  const { next, effects } = transition(current, { type: 'extend', by: input.userId, until }, now);
  try {
    deps.store.save(next, [
      { at: now, actor: input.userId, type: EXTENSION_EVENTS.approved, detail: { seconds: extension.seconds, until: until.toISOString() } },
    ]);
  } catch (error) {
    if (error instanceof ConflictError) throw new ConflictError(staleExtensionMessage(deps, deps.store.get(current.id)!));
    throw error;
  }
  await applyEffects(deps, next, effects, `Extended by ${formatDuration(extension.seconds)}, approved by ${actorMrkdwn(input.userId)}.`);
  await deps.notifier
    .refreshExtension(next, { ...extension, outcome: { kind: 'approved', by: input.userId, at: now } }, extension.messages)
    .catch((error: unknown) => deps.logger.warn({ err: error, requestId: next.id }, 'could not update the extension messages'));
  return next;
}

/** What someone clicking an outdated extension button is told. */
export function staleExtensionMessage(deps: UseCaseDeps, request: AccessRequest): string {
  if (request.status !== 'active') return `#${request.id} is ${request.status}: there is no access left to extend.`;
  const last = lastExtension(deps, request.id);
  if (!last?.outcome) return `#${request.id} has no extension waiting for a decision.`;
  const verb = last.outcome.kind === 'approved' ? 'approved' : 'denied';
  return `The extension of #${request.id} was already ${verb} by ${actorMrkdwn(last.outcome.by)}.`;
}

function ruleFor(deps: UseCaseDeps, request: AccessRequest): ClusterPolicy {
  const rule = deps.policy().ruleFor(request.clusterId);
  if (!rule) throw new NotAllowedError(`No policy rule covers ${request.clusterId} any more, so #${request.id} cannot be extended.`);
  return rule;
}
