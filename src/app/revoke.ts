import { transition } from '../domain/lifecycle.js';
import { UpstreamError } from '../domain/errors.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';

const EARLY_TOLERANCE_MS = 1_000;

/**
 * The revoke job: removes the grant's rule at expiry (by rule id) and records the end.
 * Idempotent: it does nothing unless the request is still active. It never gives up: every failure
 * is rethrown as retryable, because an access that outlives its approval is the one thing this bot
 * must not allow.
 */
export async function revokeExpired(deps: UseCaseDeps, requestId: number): Promise<void> {
  const request = deps.store.get(requestId);
  if (!request || request.status !== 'active' || !request.expiresAt) return;
  const now = deps.clock.now();
  if (request.expiresAt.getTime() - now.getTime() > EARLY_TOLERANCE_MS) {
    // A job that fires early (clock skew between hosts) is retried, never dropped: a dropped revoke
    // would leave access open.
    throw new Error(`revoke of #${requestId} is not due until ${request.expiresAt.toISOString()}`);
  }
  const rule = request.ruleRecordId === undefined ? undefined : deps.store.getRule(request.ruleRecordId);
  let outcome: 'removed' | 'already-gone' = 'already-gone';
  if (rule?.awsRuleId && rule.state === 'in-place' && rule.origin === 'cache-access') {
    try {
      outcome = await deps.firewall.revoke(rule.securityGroupId, rule.awsRuleId);
    } catch (error) {
      if (error instanceof UpstreamError && !error.retryable) {
        throw new UpstreamError(error.service, error.upstreamCode, error.message, true);
      }
      throw error;
    }
    deps.store.markRuleRemoved(rule.id, deps.clock.now());
  }
  const endedAt = deps.clock.now();
  const { next, effects } = transition(request, { type: 'expire' }, endedAt);
  deps.store.save(next, [
    { at: endedAt, actor: 'system', type: 'expired', detail: { awsRuleId: rule?.awsRuleId, outcome } },
  ]);
  await applyEffects(deps, next, effects);
  await deps.notifier
    .postToThreads(next, deps.store.messageRefs(requestId), `Access #${requestId} has ended: the rule was removed.`)
    .catch((error: unknown) => deps.logger.error({ err: error, requestId }, 'could not post to the approval thread'));
}
