import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { isEvent } from './history-events.js';
import type { EventKind } from './ports.js';

export const REVOKE_REQUESTED = 'revoke-requested' satisfies EventKind;

export interface RevocationInput {
  requestId: number;
  /** A Slack user id, or `operator:<name>` from the admin CLI. Who may do this is the caller's check. */
  by: string;
  reason?: string;
}

/**
 * Ends an active grant now. Records who asked and why, then hands the work to the revoke job (the
 * one path that removes rules, with its retries and overdue handling), due immediately.
 */
export async function requestRevocation(deps: UseCaseDeps, input: RevocationInput): Promise<AccessRequest> {
  const request = await deps.store.get(input.requestId);
  if (!request) throw new NotFoundError(`There is no request #${input.requestId}.`);
  if (request.status !== 'active') {
    throw new ConflictError(`#${request.id} is ${request.status}, not active: there is no access to revoke.`);
  }
  if (!(await revocationRequest(deps, request.id))) {
    await deps.store.recordEvent(request.id, {
      at: deps.clock.now(),
      actor: input.by,
      type: REVOKE_REQUESTED,
      detail: input.reason ? { reason: input.reason } : undefined,
    });
  }
  await deps.scheduler.scheduleRevoke(request.id, deps.clock.now());
  return request;
}

/** Who asked for an early end of `requestId`, if anyone did. */
export async function revocationRequest(deps: UseCaseDeps, requestId: number): Promise<{ by: string; reason?: string } | undefined> {
  const event = (await deps.store.history(requestId)).find((e) => isEvent(e, REVOKE_REQUESTED));
  return event && { by: event.actor, reason: event.detail?.reason };
}
