import { formatDuration } from '../domain/durations.js';
import { InvalidInputError, NotAllowedError, NotFoundError } from '../domain/errors.js';
import type { AccessRequest, Source } from '../domain/request.js';
import { cidrWithin, isWholeInternet } from '../domain/source.js';
import type { ClusterPolicy } from '../policy.js';
import type { UseCaseDeps } from './deps.js';
import type { ClusterInfo } from './ports.js';

export interface AccessRequestInput {
  requesterId: string;
  requesterName: string;
  clusterId: string;
  source: Source;
  durationSeconds?: number;
  reason: string;
  /** Identifies one delivery of the command (Slack trigger id) so a redelivery stores nothing twice. */
  dedupeKey?: string;
}

export interface AccessRequestOutcome {
  request: AccessRequest;
  /** Where the approval request went: a channel, or the approvers' DMs. */
  channel?: string;
  approverIds: string[];
  /** False when this was a redelivery of a request already made. */
  created: boolean;
}

/**
 * Validates a request against the policy and AWS, stores it, and asks the approvers.
 * Every check runs before anything is stored, so bad input leaves no trace.
 */
export async function requestAccess(deps: UseCaseDeps, input: AccessRequestInput): Promise<AccessRequestOutcome> {
  const rule = deps.policy().ruleFor(input.clusterId);
  if (!rule) {
    throw new NotAllowedError(
      `No policy rule covers cluster ${input.clusterId}, so it cannot be requested. Ask your platform team to add it to the cache-access policy.`,
    );
  }
  const durationSeconds = checkDuration(rule, input.durationSeconds);
  const reason = input.reason.trim();
  if (rule.requireReason && reason === '') {
    throw new InvalidInputError(`Requests for ${input.clusterId} need a reason: add it after the duration.`);
  }
  if (input.source.kind === 'cidr') checkCidr(rule, input.source.cidr, input.clusterId);

  const cluster = await deps.directory.findCluster(input.clusterId);
  if (!cluster) {
    throw new NotFoundError(
      `There is no ElastiCache replication group or cache cluster named ${input.clusterId}. Check the id (it is case-sensitive) and the region.`,
    );
  }
  const targetGroupId = cluster.securityGroupIds[0];
  if (targetGroupId === undefined) {
    throw new InvalidInputError(
      `Cluster ${cluster.id} has no VPC security group, so there is no rule cache-access can add. Attach a security group to it first.`,
    );
  }
  if (input.source.kind === 'security-group') await checkSourceGroup(deps, input.source.groupId, cluster);

  const approverIds = await deps.people.expandApprovers(rule.approvers);
  const now = deps.clock.now();
  const { request, created } = deps.store.create(
    {
      requesterId: input.requesterId,
      requesterName: input.requesterName,
      clusterId: cluster.id,
      engine: cluster.engine,
      endpoint: cluster.endpoint,
      port: cluster.port,
      vpcId: cluster.vpcId,
      targetGroupId,
      source: input.source,
      durationSeconds,
      reason,
      policyMatch: rule.match,
      approvalsRequired: rule.approvals,
      createdAt: now,
    },
    { at: now, actor: input.requesterId, type: 'requested', detail: { durationSeconds, reason } },
    input.dedupeKey,
  );
  if (!created) return { request, channel: rule.channel, approverIds, created };

  const refs = await deps.notifier.requestApproval(request, { channel: rule.channel, approverIds });
  deps.store.addMessageRefs(refs);
  return { request, channel: rule.channel, approverIds, created };
}

function checkDuration(rule: ClusterPolicy, requested: number | undefined): number {
  const seconds = requested ?? rule.duration;
  if (seconds < rule.minDuration || seconds > rule.maxDuration) {
    throw new InvalidInputError(
      `${formatDuration(seconds)} is outside what the policy allows for this cluster: choose between ${formatDuration(rule.minDuration)} and ${formatDuration(rule.maxDuration)}.`,
    );
  }
  return seconds;
}

function checkCidr(rule: ClusterPolicy, cidr: string, clusterId: string): void {
  if (isWholeInternet(cidr)) {
    throw new NotAllowedError(`${cidr} would open ${clusterId} to the whole internet; this is never granted.`);
  }
  if (!rule.allowedCidrs.some((allowed) => cidrWithin(cidr, allowed))) {
    const allowed = rule.allowedCidrs.length > 0 ? `ranges inside ${rule.allowedCidrs.join(', ')}` : 'no CIDR sources (use a security group)';
    throw new NotAllowedError(`${cidr} is not allowed for ${clusterId}: the policy accepts ${allowed}.`);
  }
}

async function checkSourceGroup(deps: UseCaseDeps, groupId: string, cluster: ClusterInfo): Promise<void> {
  const group = await deps.directory.findSecurityGroup(groupId);
  if (!group) {
    throw new NotFoundError(`Security group ${groupId} does not exist in this account and region.`);
  }
  if (group.vpcId !== cluster.vpcId) {
    throw new InvalidInputError(
      `Security group ${groupId} is in ${group.vpcId}, but ${cluster.id} is in ${cluster.vpcId}: use a security group from the cluster's VPC.`,
    );
  }
}
