import type { Effect } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';

/**
 * Performs the lifecycle's effects after the new state is saved. The saved state is the truth, so a
 * failing effect is logged and reported, never undone: the reconciler re-enqueues lost jobs, and a
 * missed message update is cosmetic. Returns the effects that failed.
 */
export async function applyEffects(
  deps: UseCaseDeps,
  request: AccessRequest,
  effects: Effect[],
  requesterNote?: string,
): Promise<Effect[]> {
  const failed: Effect[] = [];
  for (const effect of effects) {
    try {
      await perform(deps, request, effect, requesterNote);
    } catch (error) {
      failed.push(effect);
      deps.logger.error({ err: error, requestId: request.id, effect }, 'effect failed after state change');
    }
  }
  return failed;
}

async function perform(deps: UseCaseDeps, request: AccessRequest, effect: Effect, requesterNote?: string): Promise<void> {
  switch (effect) {
    case 'schedule-grant':
      return deps.scheduler.scheduleGrant(request.id);
    case 'schedule-revoke':
      if (!request.expiresAt) throw new Error(`#${request.id} has no expiry to schedule`);
      return deps.scheduler.scheduleRevoke(request.id, request.expiresAt);
    case 'update-approval-messages':
      return deps.notifier.refreshMessages(request, deps.store.messageRefs(request.id));
    case 'notify-requester':
      return deps.notifier.tellRequester(request, requesterNote);
  }
}
