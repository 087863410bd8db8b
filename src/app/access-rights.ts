import { NotAllowedError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import { approversFor } from './approvers.js';
import type { UseCaseDeps } from './deps.js';

/**
 * The Slack user ids that approve requests for `clusterId` under the policy in force now (not the one
 * the request was made under: a removed approver loses the right at once), tag approvers included.
 */
export async function approversOf(deps: UseCaseDeps, clusterId: string): Promise<string[]> {
  const rule = deps.policy().ruleFor(clusterId);
  return rule ? approversFor(deps, clusterId, rule) : [];
}

/** The requester and the cluster's approvers may see a request and end its access; nobody else. */
export async function isRequesterOrApprover(deps: UseCaseDeps, request: AccessRequest, userId: string): Promise<boolean> {
  return request.requesterId === userId || (await approversOf(deps, request.clusterId)).includes(userId);
}

export async function assertRequesterOrApprover(deps: UseCaseDeps, request: AccessRequest, userId: string, what: string): Promise<void> {
  if (await isRequesterOrApprover(deps, request, userId)) return;
  throw new NotAllowedError(`Only the requester of #${request.id} or an approver for ${request.clusterId} can ${what}.`);
}
