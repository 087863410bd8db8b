import { formatDuration } from '../domain/durations.js';
import { reminderTime } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import { BUILT_IN_DEFAULTS } from '../policy.js';
import type { UseCaseDeps } from './deps.js';
import { isEvent } from './history-events.js';
import type { EventKind } from './ports.js';

export const REMINDED = 'reminded' satisfies EventKind;
// A job may fire a little early (clock skew between hosts); earlier than this is a stale schedule.
const EARLY_TOLERANCE_MS = 5_000;

/**
 * The remind job: DMs the requester that access ends soon, with Extend and Done buttons. Re-reads the
 * request, so it does nothing once the grant has ended, and reminds once per expiry (an extension
 * moves the expiry, and earns a new reminder).
 */
export async function remind(deps: UseCaseDeps, requestId: number): Promise<void> {
  const request = await deps.store.get(requestId);
  if (!request || request.status !== 'active' || !request.expiresAt) return;
  const due = reminderDue(deps, request);
  const now = deps.clock.now();
  if (!due || due.getTime() - now.getTime() > EARLY_TOLERANCE_MS) return;
  if (await remindedOfCurrentExpiry(deps, request)) return;
  const expiry = request.expiresAt.toISOString();
  const left = formatDuration(Math.max(1, (request.expiresAt.getTime() - now.getTime()) / 1000));
  const ref = await deps.notifier.tellRequester(
    request,
    `:alarm_clock: *Access #${request.id} ends in about ${left}.* Need longer? Ask for an extension. Done? End it now.`,
  );
  await deps.store.addMessageRefs([ref]);
  await deps.store.recordEvent(requestId, { at: now, actor: 'system', type: REMINDED, detail: { expiresAt: expiry } });
}

/** When `request`'s reminder is due under the policy in force; undefined when it gets none. */
export function reminderDue(deps: Pick<UseCaseDeps, 'policy'>, request: AccessRequest): Date | undefined {
  const remindBefore = deps.policy().ruleFor(request.clusterId)?.remindBefore ?? BUILT_IN_DEFAULTS.remindBefore;
  return reminderTime(request, remindBefore);
}

/** Whether the requester was already reminded of the expiry `request` has now (an extension earns a new reminder). */
export async function remindedOfCurrentExpiry(deps: Pick<UseCaseDeps, 'store'>, request: AccessRequest): Promise<boolean> {
  if (!request.expiresAt) return false;
  const expiry = request.expiresAt.toISOString();
  return (await deps.store.history(request.id)).some((e) => isEvent(e, REMINDED) && e.detail.expiresAt === expiry);
}
