import { NotFoundError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import { assertRequesterOrApprover } from './access-rights.js';
import type { UseCaseDeps } from './deps.js';
import type { HistoryEvent } from './ports.js';

export interface RequestStory {
  request: AccessRequest;
  history: HistoryEvent[];
}

/**
 * One request's full record for `/cache-access status`. Shown to its requester and to the cluster's
 * current approvers, the people who could act on it; to others a request's existence is not secret
 * (ids are sequential) but its reason and history are.
 */
export async function requestStory(deps: UseCaseDeps, requestId: number, userId: string): Promise<RequestStory> {
  const request = await deps.store.get(requestId);
  if (!request) throw new NotFoundError(`There is no request #${requestId}.`);
  await assertRequesterOrApprover(deps, request, userId, 'see it');
  return { request, history: await deps.store.history(requestId) };
}
