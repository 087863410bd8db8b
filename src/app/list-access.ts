import type { AccessRequest } from '../domain/request.js';
import { approversFor } from './approvers.js';
import { unreviewedFor } from './break-glass-review.js';
import type { UseCaseDeps } from './deps.js';

export interface AccessOverview {
  /** The user's own requests that are waiting, being granted or active, oldest first. */
  mine: AccessRequest[];
  /** Pending requests the user may still approve, oldest first. */
  awaiting: AccessRequest[];
  /** Break-glass grants by others that the user, as an approver, may review, oldest first. */
  unreviewed: AccessRequest[];
}

/** What `/cache-access list` shows `userId`. */
export async function listAccess(deps: UseCaseDeps, userId: string): Promise<AccessOverview> {
  const pending = await deps.store.findByStatus('pending');
  const open = [...pending, ...(await deps.store.findByStatus('approved')), ...(await deps.store.findByStatus('active'))];
  const mine = open.filter((request) => request.requesterId === userId).sort((a, b) => a.id - b.id);
  const policy = deps.policy();
  // One look-up per policy rule (per cluster where approvers come from its tags), however many requests.
  const approversByKey = new Map<string, Promise<string[]>>();
  const awaiting: AccessRequest[] = [];
  for (const request of pending) {
    const rule = policy.ruleFor(request.clusterId);
    if (!rule || request.approvals.some((a) => a.userId === userId)) continue;
    if (request.requesterId === userId && !rule.selfApproval) continue;
    const key = rule.approversFromTags ? `cluster:${request.clusterId}` : `rule:${rule.match}`;
    if (!approversByKey.has(key)) approversByKey.set(key, approversFor(deps, request.clusterId, rule));
    if ((await approversByKey.get(key)!).includes(userId)) awaiting.push(request);
  }
  return { mine, awaiting, unreviewed: await unreviewedFor(deps, userId) };
}
