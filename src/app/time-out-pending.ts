import { ConflictError } from '../domain/errors.js';
import { transition } from '../domain/lifecycle.js';
import { BUILT_IN_DEFAULTS } from '../policy.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';
import type { EventKind } from './ports.js';

export const TIMED_OUT = 'timed-out' satisfies EventKind;

/**
 * Cancels pending requests nobody decided on within the policy's pendingTimeout (counted from the
 * request), as 'system'. Run by the reconciler, so a timeout survives restarts and is at most one
 * reconcile interval late. Returns the ids it cancelled.
 */
export async function timeOutPendingRequests(deps: UseCaseDeps): Promise<number[]> {
  const timedOut: number[] = [];
  const policy = deps.policy();
  for (const request of await deps.store.findByStatus('pending')) {
    const timeout = policy.ruleFor(request.clusterId)?.pendingTimeout ?? BUILT_IN_DEFAULTS.pendingTimeout;
    const now = deps.clock.now();
    if (now.getTime() - request.createdAt.getTime() < timeout * 1000) continue;
    const { next, effects } = transition(request, { type: 'cancel', by: 'system' }, now);
    try {
      await deps.store.save(next, [{ at: now, actor: 'system', type: TIMED_OUT, detail: { pendingTimeout: timeout } }]);
    } catch (error) {
      if (error instanceof ConflictError) continue; // decided at the last moment: that decision stands
      throw error;
    }
    timedOut.push(request.id);
    await applyEffects(deps, next, effects);
  }
  return timedOut;
}
