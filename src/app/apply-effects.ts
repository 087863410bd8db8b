import type { Effect } from '../domain/lifecycle.js';
import { TERMINAL_STATUSES, type AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { EXTENSION_EVENTS, pendingExtension } from './extension-log.js';
import { reminderDue } from './remind.js';

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
    case 'schedule-reminder': {
      const at = reminderDue(deps, request);
      return at && deps.scheduler.scheduleReminder(request.id, at);
    }
    case 'update-approval-messages':
      await deps.notifier.refreshMessages(request, await deps.store.messageRefs(request.id));
      if (TERMINAL_STATUSES.has(request.status)) await voidPendingExtension(deps, request);
      return;
    case 'notify-requester':
      // Kept, so the next state change replaces this DM's buttons with what is true then.
      return await deps.store.addMessageRefs([await deps.notifier.tellRequester(request, requesterNote)]);
  }
}

/** A grant that ended leaves its open extension request with nothing to decide: say so on its buttons. */
async function voidPendingExtension(deps: UseCaseDeps, request: AccessRequest): Promise<void> {
  const extension = await pendingExtension(deps, request.id);
  if (!extension) return;
  const at = deps.clock.now();
  await deps.store.recordEvent(request.id, { at, actor: 'system', type: EXTENSION_EVENTS.void });
  await deps.notifier.refreshExtension(request, { ...extension, outcome: { kind: 'void', by: 'system', at } }, extension.messages);
}
