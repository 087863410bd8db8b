import { ConflictError } from '../domain/errors.js';
import { transition } from '../domain/lifecycle.js';
import { formatDuration } from '../domain/durations.js';
import type { AccessRequest } from '../domain/request.js';
import type { JobAttempt } from './ports.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';
import { releaseRule, type ReleaseOutcome } from './release-rule.js';
import { revocationRequest } from './request-revocation.js';
import { MEMCACHED_SESSIONS_NOTE, sessionEnding } from './end-sessions.js';

const EARLY_TOLERANCE_MS = 1_000;
/** Failed attempts after which a revocation counts as overdue and people are told. */
export const OVERDUE_AFTER_FAILED_ATTEMPTS = 3;

const OUTCOME_NOTES: Partial<Record<ReleaseOutcome, string>> = {
  shared: 'The rule stays in place for another active grant that holds the same access; it is removed when the last one ends.',
  'pre-existing': 'The rule was made outside cache-access and was left in place.',
};

/**
 * The revoke job: at expiry, or at once when someone asked for an early end (requestRevocation), ends the grant's hold on its rule (removing the rule if it was the last
 * holder) and records the end. Idempotent: does nothing unless the request is still active. A
 * revocation that keeps failing is flagged overdue (error log, one post to the approval thread)
 * and cleared when it finally succeeds.
 */
export async function revokeExpired(deps: UseCaseDeps, requestId: number, attempt: JobAttempt): Promise<void> {
  const request = await deps.store.get(requestId);
  if (!request || request.status !== 'active' || !request.expiresAt) return;
  const now = deps.clock.now();
  const early = await revocationRequest(deps, requestId);
  if (!early && request.expiresAt.getTime() - now.getTime() > EARLY_TOLERANCE_MS) {
    // A job that fires early (clock skew between hosts) is retried, never dropped: a dropped revoke
    // would leave access open.
    throw new Error(`revoke of #${requestId} is not due until ${request.expiresAt.toISOString()}`);
  }
  let outcome: ReleaseOutcome;
  try {
    outcome = await releaseRule(deps, request);
  } catch (error) {
    if (attempt.attemptsMade + 1 >= OVERDUE_AFTER_FAILED_ATTEMPTS) await raiseOverdue(deps, request, error);
    throw error;
  }
  const endedAt = deps.clock.now();
  const overdue = await isOverdue(deps, requestId);
  const lateBy = formatDuration((endedAt.getTime() - request.expiresAt.getTime()) / 1000);
  const { next, effects } = transition(request, early ? { type: 'revoke', by: early.by } : { type: 'expire' }, endedAt);
  try {
    await deps.store.save(next, [
      early
        ? { at: endedAt, actor: early.by, type: 'revoked', detail: { outcome, reason: early.reason } }
        : { at: endedAt, actor: 'system', type: 'expired', detail: { outcome } },
      ...(overdue ? [{ at: endedAt, actor: 'system', type: 'revocation-overdue-cleared' as const, detail: { lateBy } }] : []),
    ]);
  } catch (error) {
    if (error instanceof ConflictError) return; // a second delivery of this job recorded the end first
    throw error;
  }
  if (overdue) deps.logger.warn({ requestId, lateBy }, 'overdue revocation cleared');
  await scheduleSessionEnding(deps, next, outcome);
  await applyEffects(deps, next, effects, OUTCOME_NOTES[outcome]);
  await postToThreads(
    deps,
    next,
    overdue
      ? `:white_check_mark: Access #${requestId} has now ended, ${lateBy} late: the overdue revocation succeeded.`
      : `Access #${requestId} has ended.${OUTCOME_NOTES[outcome] ? ` ${OUTCOME_NOTES[outcome]}` : ' The rule was removed.'}${
          next.engine === 'memcached' ? ` ${MEMCACHED_SESSIONS_NOTE}` : ''
        }`,
  );
}

/**
 * Once the grant's own rule is gone (not shared, not someone else's), its open sessions are closed by a
 * job of their own: the rule's removal is recorded first, and never waits on, or fails with, the nodes.
 */
async function scheduleSessionEnding(deps: UseCaseDeps, request: AccessRequest, outcome: ReleaseOutcome): Promise<void> {
  if ((outcome !== 'removed' && outcome !== 'already-gone') || !sessionEnding(deps, request)) return;
  await deps.scheduler
    .scheduleEndSessions(request.id)
    .catch((error: unknown) => deps.logger.error({ err: error, requestId: request.id }, 'could not schedule ending the open sessions'));
}

async function raiseOverdue(deps: UseCaseDeps, request: AccessRequest, error: unknown): Promise<void> {
  const code = (error as { upstreamCode?: string }).upstreamCode ?? (error as Error).message;
  deps.logger.error({ requestId: request.id, expiresAt: request.expiresAt, code }, 'overdue revocation');
  if (await isOverdue(deps, request.id)) return;
  await deps.store.recordEvent(request.id, { at: deps.clock.now(), actor: 'system', type: 'revocation-overdue', detail: { code } });
  await postToThreads(
    deps,
    request,
    `:rotating_light: Access #${request.id} should have ended at ${request.expiresAt?.toISOString()} but the rule could not be removed yet (${code}). cache-access keeps retrying; check AWS if this persists.`,
  );
}

async function isOverdue(deps: UseCaseDeps, requestId: number): Promise<boolean> {
  const history = await deps.store.history(requestId);
  const raised = history.findLastIndex((e) => e.type === 'revocation-overdue');
  return raised >= 0 && !history.slice(raised).some((e) => e.type === 'revocation-overdue-cleared');
}

export async function postToThreads(deps: UseCaseDeps, request: AccessRequest, text: string): Promise<void> {
  await deps.notifier
    .postToThreads(request, await deps.store.messageRefs(request.id), text)
    .catch((error: unknown) => deps.logger.error({ err: error, requestId: request.id }, 'could not post to the approval thread'));
}
