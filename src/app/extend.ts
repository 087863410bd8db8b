import { actorMrkdwn, SYSTEM_ACTOR } from '../domain/actor.js';
import { formatDuration } from '../domain/durations.js';
import { ConflictError, NotAllowedError, NotFoundError } from '../domain/errors.js';
import { extendedExpiry, extensionAllowance, transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import type { ClusterPolicy } from '../policy.js';
import { approversOf } from './access-rights.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';
import type { NewHistoryEvent } from './ports.js';
import { EXTENSION_EVENTS, lastExtension, pendingExtension, type LoggedExtension } from './extension-log.js';
import { revocationRequest } from './request-revocation.js';

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
  const request = await deps.store.get(input.requestId);
  if (!request) throw new NotFoundError(`There is no request #${input.requestId}.`);
  if (request.requesterId !== input.userId) {
    throw new NotAllowedError(`Only the requester of #${request.id} can ask to extend it.`);
  }
  const rule = ruleFor(deps, request);
  if (request.status !== 'active') {
    throw new ConflictError(`#${request.id} is ${request.status}, not active: there is nothing to extend.`);
  }
  await assertNotEnding(deps, request);
  const waiting = await pendingExtension(deps, request.id);
  if (waiting) {
    throw new ConflictError(`An extension of #${request.id} by ${formatDuration(waiting.seconds)} is already waiting for approval.`);
  }
  // The default shrinks to what the policy still allows; when nothing is left, extendedExpiry says so.
  const seconds = Math.max(1, input.seconds ?? Math.min(request.durationSeconds, extensionAllowance(request, rule.maxTotal)));
  const until = extendedExpiry(request, seconds, rule.maxTotal);
  const at = deps.clock.now();
  const approvalsRequired = extensionApprovalsRequired(request, rule);
  const extension = { requestId: request.id, by: input.userId, at, seconds, until, approvalsRequired, approvals: [] };
  const approverIds = await approversOf(deps, request.clusterId);
  const messages = await deps.notifier.requestExtension(request, extension, { channel: rule.channel, approverIds });
  await deps.store.recordEvent(request.id, {
    at,
    actor: input.userId,
    type: EXTENSION_EVENTS.requested,
    detail: { seconds, until: until.toISOString(), approvalsRequired, messages },
  });
  return { ...extension, messages };
}

export interface ExtensionDecisionInput {
  requestId: number;
  /** The signed user id of the click: the only thing that decides who may approve. */
  userId: string;
  decision: 'approve' | 'deny';
}

export interface ExtensionDecision {
  request: AccessRequest;
  /** The extension after this decision: with its outcome once decided, else with the approvals so far. */
  extension: LoggedExtension;
}

/**
 * An approver approves or denies the waiting extension. It takes as many distinct approvers as the
 * request did, the requester only under `selfApproval`; one denial ends it. On the last approval the
 * expiry moves and the revoke job is replaced (Scheduler.scheduleRevoke), and the reminder with it.
 * Stale and repeated clicks are ConflictErrors.
 */
export async function decideExtension(deps: UseCaseDeps, input: ExtensionDecisionInput): Promise<ExtensionDecision> {
  const request = await deps.store.get(input.requestId);
  if (!request) throw new NotFoundError(`There is no request #${input.requestId}.`);
  const rule = ruleFor(deps, request);
  if (!(await approversOf(deps, request.clusterId)).includes(input.userId)) {
    throw new NotAllowedError(`You are not an approver for ${request.clusterId}, so you cannot decide on extending #${request.id}.`);
  }
  // Re-read after the await: another click may have decided meanwhile. Nothing awaits from here to the
  // save, so clicks in this process cannot interleave; save's version check catches other processes.
  const current = (await deps.store.get(input.requestId))!;
  const extension = await pendingExtension(deps, current.id);
  if (!extension || current.status !== 'active') throw new ConflictError(await staleExtensionMessage(deps, current));
  const now = deps.clock.now();
  if (input.decision === 'deny') return denyExtension(deps, { request: current, extension, userId: input.userId, now });
  if (input.userId === current.requesterId && !rule.selfApproval) {
    throw new NotAllowedError(`You cannot approve the extension of your own request #${current.id}.`);
  }
  await assertNotEnding(deps, current);
  if (extension.approvals.some((approval) => approval.userId === input.userId)) {
    throw new ConflictError(`You have already approved the extension of #${current.id}; it waits for ${approvalsLeft(extension)} more.`);
  }
  const counted = { ...extension, approvals: [...extension.approvals, { userId: input.userId, at: now }] };
  if (counted.approvals.length < counted.approvalsRequired) return addApproval(deps, { request: current, extension: counted, userId: input.userId, now });

  // The policy may have changed since the extension was asked for: check the total again.
  const until = extendedExpiry(current, extension.seconds, rule.maxTotal);
  const { next, effects } = transition(current, { type: 'extend', by: input.userId, until }, now);
  const detail = { seconds: extension.seconds, until: until.toISOString() };
  await saveOrExplain(deps, next, { at: now, actor: input.userId, type: EXTENSION_EVENTS.approved, detail });
  const approvers = counted.approvals.map((approval) => actorMrkdwn(approval.userId)).join(', ');
  await applyEffects(deps, next, effects, `Extended by ${formatDuration(extension.seconds)}, approved by ${approvers}.`);
  const decided: LoggedExtension = { ...counted, outcome: { kind: 'approved', by: input.userId, at: now } };
  await refreshOrWarn(deps, next, decided);
  return { request: next, extension: decided };
}

/** A decision on `extension` of `request` by `userId` at `now`. */
interface PendingDecision {
  request: AccessRequest;
  extension: LoggedExtension;
  userId: string;
  now: Date;
}

/** One more approval, with more still needed: recorded, and shown on the extension messages. */
async function addApproval(deps: UseCaseDeps, { request, extension, userId, now }: PendingDecision): Promise<ExtensionDecision> {
  // A save (with nothing changed but the version) rather than a bare event, so that of two approvals
  // racing in from different processes one is refused instead of both counting as the first.
  const next = { ...request, version: request.version + 1 };
  await saveOrExplain(deps, next, { at: now, actor: userId, type: EXTENSION_EVENTS.approvalAdded });
  await refreshOrWarn(deps, next, extension);
  return { request: next, extension };
}

async function denyExtension(deps: UseCaseDeps, { request, extension, userId, now }: PendingDecision): Promise<ExtensionDecision> {
  await deps.store.recordEvent(request.id, { at: now, actor: userId, type: EXTENSION_EVENTS.denied });
  const decided: LoggedExtension = { ...extension, outcome: { kind: 'denied', by: userId, at: now } };
  await deps.notifier.refreshExtension(request, decided, extension.messages);
  const ref = await deps.notifier.tellRequester(request, `Your request to extend it by ${formatDuration(extension.seconds)} was denied by ${actorMrkdwn(userId)}.`);
  await deps.store.addMessageRefs([ref]);
  return { request, extension: decided };
}

async function saveOrExplain(deps: UseCaseDeps, next: AccessRequest, event: NewHistoryEvent): Promise<void> {
  try {
    await deps.store.save(next, [event]);
  } catch (error) {
    if (error instanceof ConflictError) throw new ConflictError(await staleExtensionMessage(deps, (await deps.store.get(next.id))!));
    throw error;
  }
}

async function refreshOrWarn(deps: UseCaseDeps, request: AccessRequest, extension: LoggedExtension): Promise<void> {
  await deps.notifier
    .refreshExtension(request, extension, extension.messages)
    .catch((error: unknown) => deps.logger.warn({ err: error, requestId: request.id }, 'could not update the extension messages'));
}

function approvalsLeft(extension: LoggedExtension): number {
  return extension.approvalsRequired - extension.approvals.length;
}

/**
 * Approvers an extension needs: as many as the request did. An auto-approved request needed only
 * cache-access, which never extends anything: its extension needs the rule's human approvals.
 */
function extensionApprovalsRequired(request: AccessRequest, rule: ClusterPolicy): number {
  return request.approvals.some((approval) => approval.userId === SYSTEM_ACTOR) ? rule.approvals : request.approvalsRequired;
}

/** What someone clicking an outdated extension button is told. */
export async function staleExtensionMessage(deps: UseCaseDeps, request: AccessRequest): Promise<string> {
  if (request.status !== 'active') return `#${request.id} is ${request.status}: there is no access left to extend.`;
  const last = await lastExtension(deps, request.id);
  if (!last) return `#${request.id} has no extension waiting for a decision.`;
  if (!last.outcome) {
    return `Someone else decided on the extension of #${request.id} at the same moment; it waits for ${approvalsLeft(last)} more approval(s).`;
  }
  const verb = last.outcome.kind === 'approved' ? 'approved' : 'denied';
  return `The extension of #${request.id} was already ${verb} by ${actorMrkdwn(last.outcome.by)}.`;
}

/** Access whose end is due (its expiry passed, or someone asked to end it) is never extended: that would postpone its revocation. */
async function assertNotEnding(deps: UseCaseDeps, request: AccessRequest): Promise<void> {
  if (request.expiresAt && request.expiresAt <= deps.clock.now()) {
    throw new ConflictError(`#${request.id} has reached its end and is being revoked: it can no longer be extended.`);
  }
  if (await revocationRequest(deps, request.id)) {
    throw new ConflictError(`#${request.id} is being revoked, as someone asked: it can no longer be extended.`);
  }
}

function ruleFor(deps: UseCaseDeps, request: AccessRequest): ClusterPolicy {
  const rule = deps.policy().ruleFor(request.clusterId);
  if (!rule) throw new NotAllowedError(`No policy rule covers ${request.clusterId} any more, so #${request.id} cannot be extended.`);
  return rule;
}
