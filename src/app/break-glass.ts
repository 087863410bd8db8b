/**
 * Break-glass: a listed requester opens access at once, without approval. The approvers and the
 * policy's `notify` channel are told loudly, and the grant stays unreviewed until an approver other
 * than the requester reviews it.
 */
import { formatDuration } from '../domain/durations.js';
import { InvalidInputError, NotAllowedError } from '../domain/errors.js';
import { transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import type { ClusterPolicy } from '../policy.js';
import { applyEffects } from './apply-effects.js';
import { DELAYED_NOTE } from './decide.js';
import type { UseCaseDeps } from './deps.js';
import { prepareRequest, requestedEvent, type AccessRequestInput } from './request-access.js';

export const BREAK_GLASS = 'break-glass' as const;
/** The window the policy's perDay counts in. */
export const BREAK_GLASS_WINDOW_MS = 24 * 3_600_000;

export interface BreakGlassOutcome {
  request: AccessRequest;
  /** False when this was a redelivery of a command already carried out. */
  created: boolean;
  /** Who was told: the approvers (their channel, or their DMs) and the notify channel. */
  approverIds: string[];
  channel?: string;
  notify?: string;
  /** The grant job could not be enqueued now (Redis down): the reconciler enqueues it later. */
  delayed: boolean;
}

/**
 * Opens access for `input.requesterId` at once, when the cluster's rule lets them break glass. Every
 * check (the policy's breakGlass, those of any request, then the daily limit as the request is stored)
 * comes before anything is stored, so a refusal leaves no trace.
 */
export async function breakGlass(deps: UseCaseDeps, input: AccessRequestInput): Promise<BreakGlassOutcome> {
  const { rule, draft, approverIds } = await prepareRequest(deps, input, (rule, clusterId) => admit(deps, rule, clusterId, input));
  const { notify, perDay } = rule.breakGlass!;
  const since = new Date(draft.createdAt.getTime() - BREAK_GLASS_WINDOW_MS);
  // The opening is worked out on the draft as it would stand pending (its id is not known yet, nor needed),
  // and stored in one step with the count, so no grant is ever left stored but not opened.
  const now = draft.createdAt;
  const { next: opened, effects } = transition({ ...draft, id: 0, status: 'pending', approvals: [], version: 0 }, { type: BREAK_GLASS, by: input.requesterId }, now);
  const events = [
    requestedEvent(draft),
    { at: now, actor: input.requesterId, type: BREAK_GLASS, detail: { policyMatch: rule.match, ...(notify ? { notify } : {}) } },
  ];
  const stored = await deps.store.createBreakGlass(opened, events, { perDay, since }, input.dedupeKey);
  if ('refused' in stored) throw overLimit(deps, perDay, stored.refused);
  const { request: next, created } = stored;
  const outcome = { approverIds, channel: rule.channel, notify, created, delayed: false };
  if (!created) return { ...outcome, request: next };

  // Posted before the grant job is enqueued, so activation finds the messages to update.
  await alert(deps, next, rule, approverIds);
  const delayed = (await applyEffects(deps, next, ['schedule-grant'])).length > 0;
  await applyEffects(deps, next, effects.filter((effect) => effect !== 'schedule-grant'), delayed ? DELAYED_NOTE : undefined);
  return { ...outcome, request: next, delayed };
}

/** The break-glass rules of the policy; returns the duration (the requested one, else breakGlass.maxDuration). */
async function admit(deps: UseCaseDeps, rule: ClusterPolicy, clusterId: string, input: AccessRequestInput): Promise<number> {
  const policy = rule.breakGlass;
  if (!policy) {
    throw new NotAllowedError(`Break-glass is not enabled for ${clusterId}: request access the usual way (\`/cache-access ${clusterId} <source> …\`).`);
  }
  if (!(await deps.people.expandApprovers(policy.requesters)).includes(input.requesterId)) {
    throw new NotAllowedError(
      `You are not among the people the policy lets break glass for ${clusterId}: request access the usual way (\`/cache-access ${clusterId} <source> …\`).`,
    );
  }
  const seconds = input.durationSeconds ?? policy.maxDuration;
  if (seconds > policy.maxDuration || seconds < rule.minDuration) {
    throw new InvalidInputError(
      `Break-glass access to ${clusterId} lasts between ${formatDuration(rule.minDuration)} and ${formatDuration(policy.maxDuration)}; ${formatDuration(seconds)} is outside that.`,
    );
  }
  if (input.reason.trim() === '') {
    throw new InvalidInputError('Break-glass needs a reason: say why after the source (and duration), e.g. `… 30m checkout is down, INC-123`.');
  }
  return seconds;
}

/**
 * The refusal when `recent` (oldest first) already reaches the policy's perDay. The store counted them in the
 * same step as it would have stored this one, so every process and a restart agree.
 */
function overLimit(deps: UseCaseDeps, perDay: number, recent: AccessRequest[]): NotAllowedError {
  const now = deps.clock.now();
  // Possible again once enough of them are older than the window: the perDay-th newest leaves it last.
  const next = new Date(recent[recent.length - perDay]!.createdAt.getTime() + BREAK_GLASS_WINDOW_MS);
  const wait = formatDuration(Math.max(1, Math.ceil((next.getTime() - now.getTime()) / 1000)));
  return new NotAllowedError(
    `You have broken glass ${recent.length} time(s) in the last 24 hours, the most the policy allows (perDay: ${perDay}). ` +
      `The next is possible at ${next.toISOString()} (in ${wait}); until then, request access the usual way.`,
  );
}

/** The loud message: to the approvers (their channel, or DMs) and to the notify channel. A failure is logged, never undone. */
async function alert(deps: UseCaseDeps, request: AccessRequest, rule: ClusterPolicy, approverIds: string[]): Promise<void> {
  const targets = [{ channel: rule.channel, approverIds }, ...(rule.breakGlass!.notify ? [{ channel: rule.breakGlass!.notify, approverIds: [] }] : [])];
  for (const target of targets) {
    try {
      await deps.store.addMessageRefs(await deps.notifier.requestApproval(request, target));
    } catch (error) {
      deps.logger.error({ err: error, requestId: request.id, channel: target.channel }, 'could not post the break-glass alert');
    }
  }
}
