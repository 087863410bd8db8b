/** The review after a break-glass grant: an approver's Reviewed click, and the daily reminder until one comes. */
import { actorMrkdwn } from '../domain/actor.js';
import { formatDuration } from '../domain/durations.js';
import { ConflictError, NotAllowedError, NotFoundError } from '../domain/errors.js';
import { transition } from '../domain/lifecycle.js';
import { formatId, type AccessRequest } from '../domain/request.js';
import { applyEffects } from './apply-effects.js';
import { approversFor } from './approvers.js';
import { BREAK_GLASS } from './break-glass.js';
import type { UseCaseDeps } from './deps.js';
import type { EventKind } from './ports.js';

export const REVIEWED = 'break-glass-reviewed' satisfies EventKind;
export const REVIEW_REMINDED = 'break-glass-review-reminded' satisfies EventKind;
/** Approvers are reminded of an unreviewed grant this long after it was opened, and again as long after each reminder. */
export const REVIEW_REMINDER_INTERVAL_MS = 24 * 3_600_000;
// Another writer (the grant job activating it, say) may save between our read and write: read again and retry.
const SAVE_ATTEMPTS = 3;

/**
 * An approver of the cluster (decided from the signed `userId` and the policy), not the requester,
 * reviews a break-glass grant. A second click is a ConflictError naming the first reviewer.
 */
export async function reviewBreakGlass(deps: UseCaseDeps, input: { requestId: number; userId: string }): Promise<AccessRequest> {
  const request = await deps.store.get(input.requestId);
  if (!request) throw new NotFoundError(`There is no request #${input.requestId}.`);
  const rule = deps.policy().ruleFor(request.clusterId);
  const approvers = rule ? await approversFor(deps, request.clusterId, rule) : [];
  if (!approvers.includes(input.userId)) {
    throw new NotAllowedError(`You are not an approver for ${request.clusterId}, so you cannot review #${request.id}.`);
  }
  for (let attempt = 1; ; attempt++) {
    const current = (await deps.store.get(input.requestId))!;
    const now = deps.clock.now();
    const { next, effects } = transition(current, { type: 'review', by: input.userId }, now);
    try {
      await deps.store.save(next, [{ at: now, actor: input.userId, type: REVIEWED }]);
    } catch (error) {
      if (error instanceof ConflictError && attempt < SAVE_ATTEMPTS) continue;
      throw error;
    }
    await applyEffects(deps, next, effects);
    return next;
  }
}

/** Unreviewed break-glass grants visible to `userId` as an approver (never their own), oldest first. */
export async function unreviewedFor(deps: UseCaseDeps, userId: string): Promise<AccessRequest[]> {
  const policy = deps.policy();
  const waiting: AccessRequest[] = [];
  for (const request of await deps.store.unreviewedBreakGlass()) {
    const rule = policy.ruleFor(request.clusterId);
    if (!rule || request.requesterId === userId) continue;
    if ((await approversFor(deps, request.clusterId, rule)).includes(userId)) waiting.push(request);
  }
  return waiting;
}

/**
 * The reconciler's step: reminds the approvers, in the thread of each break-glass message, of every grant
 * still unreviewed a day after it was opened or last reminded of. Decided from the event log, so a restart
 * or a second pass does not remind twice. Returns the grants reminded of.
 */
export async function remindUnreviewed(deps: UseCaseDeps): Promise<number[]> {
  const now = deps.clock.now();
  const reminded: number[] = [];
  for (const request of await deps.store.unreviewedBreakGlass()) {
    const history = await deps.store.history(request.id);
    const last = history.filter((e) => e.type === REVIEW_REMINDED || e.type === BREAK_GLASS).at(-1)?.at ?? request.createdAt;
    if (now.getTime() - last.getTime() < REVIEW_REMINDER_INTERVAL_MS) continue;
    try {
      await remindOf(deps, request, now);
      reminded.push(request.id);
    } catch (error) {
      // Slack down or not configured (the CLI): not recorded as reminded, so the next pass tries again.
      deps.logger.warn({ err: error, requestId: request.id }, 'could not remind the approvers of an unreviewed break-glass grant');
    }
  }
  return reminded;
}

async function remindOf(deps: UseCaseDeps, request: AccessRequest, now: Date): Promise<void> {
  const rule = deps.policy().ruleFor(request.clusterId);
  // Those who may review it: the requester never may.
  const approverIds = (rule ? await approversFor(deps, request.clusterId, rule) : []).filter((id) => id !== request.requesterId);
  const opened = request.approvedAt ?? request.createdAt;
  const ago = formatDuration(Math.floor((now.getTime() - opened.getTime()) / 1000));
  const who = approverIds.length > 0 ? `${approverIds.map(actorMrkdwn).join(' ')}: ` : '';
  await deps.notifier.postToThreads(
    request,
    await deps.store.messageRefs(request.id),
    `:rotating_light: ${who}break-glass grant ${formatId(request.id)} by ${actorMrkdwn(request.requesterId)} (${request.clusterId}) was opened ${ago} ago and nobody has reviewed it yet. Click *Reviewed* above once you have looked at it.`,
  );
  await deps.store.recordEvent(request.id, { at: now, actor: 'system', type: REVIEW_REMINDED, detail: { approverIds } });
}
