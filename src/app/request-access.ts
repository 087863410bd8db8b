import { formatDuration } from '../domain/durations.js';
import { CacheAccessError, InvalidInputError, NotAllowedError, NotFoundError } from '../domain/errors.js';
import { transition } from '../domain/lifecycle.js';
import type { AccessRequest, GrantLocation, NewAccessRequest, Source } from '../domain/request.js';
import { cidrPrefix, cidrWithin, isWholeInternet } from '../domain/source.js';
import { findTicket, type Ticket } from '../domain/ticket.js';
import { RULE_QUOTA_MARGIN, type ClusterPolicy } from '../policy.js';
import { applyEffects } from './apply-effects.js';
import { approversFor, qualifiesForAutoApproval } from './approvers.js';
import { DELAYED_NOTE } from './decide.js';
import type { UseCaseDeps } from './deps.js';
import type { AwsLocation, ClusterInfo, GrantFacts, GroupExposure, NewHistoryEvent, PeeredSource } from './ports.js';

/** The tag that marks, among a cluster's security groups, the one cache-access adds rules to. */
const MANAGED_TAG = 'cache-access:managed';
/** Headroom at or below this many rules is shown to approvers. */
const LOW_HEADROOM = 10;

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
  /** Approved by the policy's autoApprove: the approvers only got an FYI. */
  autoApproved: boolean;
}

/** The part of a request a check refused, so a form can show the error beside that field. */
export type RequestField = 'cluster' | 'source' | 'duration' | 'reason';
const refusedFields = new WeakMap<object, RequestField>();

/** Which input field `error` (thrown by requestAccess) is about; undefined when it is about none. */
export function refusedField(error: unknown): RequestField | undefined {
  return typeof error === 'object' && error !== null ? refusedFields.get(error) : undefined;
}

/** Runs a check, marking any refusal it throws as being about `field`. */
async function about<T>(field: RequestField, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof CacheAccessError && !refusedFields.has(error)) refusedFields.set(error, field);
    throw error;
  }
}

/**
 * Validates a request against the policy and AWS, stores it, and asks the approvers.
 * Every check runs before anything is stored, so bad input leaves no trace.
 */
export async function requestAccess(deps: UseCaseDeps, input: AccessRequestInput): Promise<AccessRequestOutcome> {
  const { rule, draft, approverIds } = await prepareRequest(deps, input, async (rule, clusterId) => {
    const durationSeconds = await about('duration', () => checkDuration(rule, input.durationSeconds));
    if (rule.requireReason && input.reason.trim() === '') {
      await about('reason', () => {
        throw new InvalidInputError(`Requests for ${clusterId} need a reason: add it after the duration.`);
      });
    }
    return durationSeconds;
  });
  const autoApproved = await qualifiesForAutoApproval(deps, rule, input.requesterId, draft.durationSeconds);
  // cache-access's own approval is the only one an auto-approved request needs.
  const approvalsRequired = autoApproved ? 1 : rule.approvals;
  const { request, created } = await deps.store.create({ ...draft, approvalsRequired }, requestedEvent(draft), input.dedupeKey);
  const outcome = { request, channel: rule.channel, approverIds, created, autoApproved };
  if (!created) return { ...outcome, autoApproved: request.approvals.some((a) => a.userId === SYSTEM) };
  if (autoApproved) return { ...outcome, request: await approveAutomatically(deps, request, rule.channel, approverIds) };

  const refs = await deps.notifier.requestApproval(request, { channel: rule.channel, approverIds });
  await deps.store.addMessageRefs(refs);
  return outcome;
}

/** A request that passed every check, ready to be stored, and who approves it. */
export interface PreparedRequest {
  rule: ClusterPolicy;
  draft: NewAccessRequest & { source: PeeredSource; facts: GrantFacts };
  approverIds: string[];
}

/**
 * The checks every kind of request shares, against the policy and AWS. `admit` runs first, once the rule
 * is known and before AWS is asked: it applies the rules of the request's kind and returns its duration.
 */
export async function prepareRequest(
  deps: UseCaseDeps,
  input: AccessRequestInput,
  admit: (rule: ClusterPolicy, clusterId: string) => Promise<number>,
): Promise<PreparedRequest> {
  // ElastiCache keeps ids lower-case and finds them in any case: the policy sees the id AWS will return.
  const clusterId = input.clusterId.toLowerCase();
  const rule = await about('cluster', () => {
    const found = deps.policy().ruleFor(clusterId);
    if (found) return found;
    throw new NotAllowedError(
      `No policy rule covers cluster ${clusterId}, so it cannot be requested. Ask your platform team to add it to the cache-access policy.`,
    );
  });
  const durationSeconds = await admit(rule, clusterId);
  const ticket = await about('reason', () => ticketIn(rule, clusterId, input.reason.trim()));
  const { source: inputSource } = input;
  if (inputSource.kind === 'cidr') await about('source', () => checkCidr(rule, inputSource.cidr, clusterId));

  const location: AwsLocation = { region: rule.region, roleArn: rule.roleArn };
  const cluster = await about('cluster', async () => {
    const found = await deps.directory.findCluster(clusterId, location);
    if (!found) {
      const where = rule.region ? ` in ${rule.region}` : '';
      throw new NotFoundError(`There is no ElastiCache replication group or cache cluster named ${clusterId}${where}. Check the id and the region.`);
    }
    // The rule was matched on the id asked for; only the id AWS returns may be decided by it. They
    // differ for a node of a replication group, which is refused rather than swapped for its group
    // so that approvers see exactly what was asked for, under the group's own rule.
    if (found.id !== clusterId) {
      throw new NotAllowedError(`${clusterId} is a node of replication group ${found.id}: ask for ${found.id} instead.`);
    }
    return found;
  });
  const targetGroupId = await about('cluster', () => chooseTargetGroup(deps, cluster, rule, location));
  const source =
    inputSource.kind === 'security-group'
      ? await about('source', () => checkSourceGroup(deps, inputSource.groupId, cluster, rule, location))
      : inputSource;
  const facts = await about('cluster', () => checkExposure(deps, rule, cluster, targetGroupId, location));

  const approverIds = await approversFor(deps, cluster.id, rule);
  const draft = {
    requesterId: input.requesterId,
    requesterName: input.requesterName,
    clusterId: cluster.id,
    engine: cluster.engine,
    endpoint: cluster.endpoint,
    port: cluster.port,
    vpcId: cluster.vpcId,
    targetGroupId,
    source,
    // Recorded now: revocation goes where the rule was made, whatever the policy says by then.
    location: grantLocationOf(cluster, rule),
    durationSeconds,
    reason: input.reason.trim(),
    policyMatch: rule.match,
    approvalsRequired: rule.approvals,
    createdAt: deps.clock.now(),
    facts: ticket ? { ...facts, ticket } : facts,
  };
  return { rule, draft, approverIds };
}

/** The first event of every request. */
export function requestedEvent(draft: PreparedRequest['draft']): NewHistoryEvent {
  const { durationSeconds, reason, createdAt, facts } = draft;
  const detail = { durationSeconds, reason, ...(facts.ticket ? { ticket: facts.ticket } : {}) };
  return { at: createdAt, actor: draft.requesterId, type: 'requested', detail };
}

const SYSTEM = 'system';

/**
 * Approves as cache-access itself and starts the grant. The approvers always hear of it: the same
 * message they would have been asked with, rendered without buttons since nothing waits for them.
 */
async function approveAutomatically(
  deps: UseCaseDeps,
  request: AccessRequest,
  channel: string | undefined,
  approverIds: string[],
): Promise<AccessRequest> {
  const now = deps.clock.now();
  const { next } = transition(request, { type: 'approve', by: SYSTEM, selfApproval: false }, now);
  await deps.store.save(next, [{ at: now, actor: SYSTEM, type: 'auto-approved', detail: { policyMatch: request.policyMatch } }]);
  const delayed = (await applyEffects(deps, next, ['schedule-grant'])).length > 0;
  try {
    await deps.store.addMessageRefs(await deps.notifier.requestApproval(next, { channel, approverIds }));
  } catch (error) {
    deps.logger.error({ err: error, requestId: next.id }, 'could not post the auto-approval FYI to the approvers');
  }
  await applyEffects(deps, next, ['notify-requester'], delayed ? DELAYED_NOTE : undefined);
  return next;
}

function grantLocationOf(cluster: ClusterInfo, rule: ClusterPolicy): GrantLocation {
  return {
    ...(cluster.accountId ? { accountId: cluster.accountId } : {}),
    ...(cluster.region ? { region: cluster.region } : {}),
    ...(rule.roleArn ? { roleArn: rule.roleArn } : {}),
    known: true,
  };
}

/** The ticket the rule's reasonPattern finds in the reason; a reason without one is refused. Undefined when no pattern is set. */
function ticketIn(rule: ClusterPolicy, clusterId: string, reason: string): Ticket | undefined {
  if (rule.reasonPattern === undefined) return undefined;
  const ticket = findTicket(reason, rule.reasonPattern, rule.reasonLink);
  if (ticket) return ticket;
  throw new InvalidInputError(
    `Requests for ${clusterId} need a ticket reference in the reason, matching the pattern \`${rule.reasonPattern}\`; for example: "${rule.reasonExample}".`,
  );
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
  const { family, prefix } = cidrPrefix(cidr);
  const widest = rule.maxCidrPrefix[family];
  if (prefix < widest) {
    const name = family === 'ipv4' ? 'IPv4' : 'IPv6';
    throw new NotAllowedError(
      `${cidr} is wider than the policy allows for ${clusterId}: use a /${widest} or narrower ${name} range, or a security group.`,
    );
  }
}

/**
 * The one security group that gets the rule: the cluster's only group, the policy's `targetGroup`,
 * or the one tagged cache-access:managed=true. Anything ambiguous is refused rather than guessed.
 */
async function chooseTargetGroup(deps: UseCaseDeps, cluster: ClusterInfo, rule: ClusterPolicy, location: AwsLocation): Promise<string> {
  const groups = cluster.securityGroupIds;
  const listed = groups.join(', ');
  if (groups.length === 0) {
    throw new InvalidInputError(
      `Cluster ${cluster.id} has no VPC security group, so there is no rule cache-access can add. Attach a security group to it first.`,
    );
  }
  if (rule.targetGroup !== undefined) {
    if (groups.includes(rule.targetGroup)) return rule.targetGroup;
    throw new NotAllowedError(
      `The policy names ${rule.targetGroup} as the target group for ${cluster.id}, but the cluster uses ${listed}. Ask your platform team to correct targetGroup in the policy.`,
    );
  }
  if (groups.length === 1) return groups[0]!;
  const tagged: string[] = [];
  for (const id of groups) {
    const group = await deps.directory.findSecurityGroup(id, location);
    if (group?.tags[MANAGED_TAG] === 'true') tagged.push(id);
  }
  if (tagged.length === 1) return tagged[0]!;
  const problem =
    tagged.length === 0
      ? `${cluster.id} has ${groups.length} security groups (${listed}) and none is tagged ${MANAGED_TAG}=true`
      : `${tagged.join(' and ')} are all tagged ${MANAGED_TAG}=true on ${cluster.id}`;
  throw new InvalidInputError(
    `${problem}, so cache-access cannot tell which one should get the rule. Tag exactly one of them ${MANAGED_TAG}=true, or set targetGroup in the cluster's policy rule.`,
  );
}

/** A source group in the cluster's VPC, or in a peered VPC the policy lists; the peering goes in the rule. */
async function checkSourceGroup(
  deps: UseCaseDeps,
  groupId: string,
  cluster: ClusterInfo,
  rule: ClusterPolicy,
  location: AwsLocation,
): Promise<PeeredSource> {
  const group = await deps.directory.findSecurityGroup(groupId, location);
  if (!group) {
    throw new NotFoundError(`Security group ${groupId} does not exist in this account and region.`);
  }
  const source = { kind: 'security-group' as const, groupId };
  if (group.vpcId === cluster.vpcId) return source;
  if (!rule.peeredVpcs.includes(group.vpcId)) {
    throw new InvalidInputError(
      `Security group ${groupId} is in ${group.vpcId}, but ${cluster.id} is in ${cluster.vpcId}: use a security group from the cluster's VPC${rule.peeredVpcs.length > 0 ? ` or from a peered VPC the policy lists (${rule.peeredVpcs.join(', ')})` : ''}.`,
    );
  }
  const peering = await deps.directory.findPeering(cluster.vpcId, group.vpcId, location);
  if (!peering) {
    throw new InvalidInputError(
      `${group.vpcId} is listed as a peered VPC for ${cluster.id}, but no active peering connection joins it to ${cluster.vpcId}, so ${groupId} cannot be referenced.`,
    );
  }
  return { ...source, peering: { accountId: peering.peerAccountId, vpcId: group.vpcId, peeringConnectionId: peering.id } };
}

/**
 * What the rule would open besides the cluster, and how full the target group is: refused when the
 * policy wants a dedicated group or the rule would not fit; otherwise recorded for the approvers.
 */
async function checkExposure(
  deps: UseCaseDeps,
  rule: ClusterPolicy,
  cluster: ClusterInfo,
  targetGroupId: string,
  location: AwsLocation,
): Promise<GrantFacts> {
  const exposure = await deps.directory.exposureOf(targetGroupId, cluster, location);
  if (rule.requireDedicatedGroup && (exposure.otherClusters.length > 0 || exposure.otherInterfaces.length > 0)) {
    throw new NotAllowedError(
      `${describeExposure(targetGroupId, exposure)}, and the policy requires a security group of its own for ${cluster.id}: a rule there would open them too. Give ${cluster.id} a dedicated security group (tagged ${MANAGED_TAG}=true).`,
    );
  }
  const headroom = checkQuota(rule, targetGroupId, exposure.inboundRuleCount);
  return {
    accountId: cluster.accountId,
    region: cluster.region,
    exposure: { otherClusters: exposure.otherClusters, otherInterfaces: exposure.otherInterfaces },
    ...(headroom <= LOW_HEADROOM ? { headroom } : {}),
    connection: cluster.connection,
    ...(rule.endSessions !== undefined && cluster.engine !== 'memcached' ? { endsSessions: true } : {}),
  };
}

/** Rules the target group can still take after this one; refuses when this one would not fit. */
function checkQuota(rule: ClusterPolicy, groupId: string, inboundRuleCount: number): number {
  const limit = rule.ruleQuota - RULE_QUOTA_MARGIN;
  const headroom = limit - inboundRuleCount - 1;
  if (headroom < 0) {
    throw new NotAllowedError(
      `${groupId} already has ${inboundRuleCount} inbound rules, and cache-access fills it only up to ${limit} (ruleQuota ${rule.ruleQuota} minus ${RULE_QUOTA_MARGIN} kept free), so no new rule fits. Ask your platform team to remove unused rules from ${groupId}.`,
    );
  }
  return headroom;
}

/** E.g. "sg-0abc also protects sessions-redis and 3 other network interfaces (…)". */
function describeExposure(groupId: string, exposure: Pick<GroupExposure, 'otherClusters' | 'otherInterfaces'>): string {
  const parts: string[] = [];
  if (exposure.otherClusters.length > 0) parts.push(exposure.otherClusters.join(', '));
  const interfaces = exposure.otherInterfaces.length;
  if (interfaces > 0) {
    const noun = interfaces === 1 ? 'network interface' : 'network interfaces';
    const other = exposure.otherClusters.length > 0 ? ' other' : '';
    parts.push(`${interfaces}${other} ${noun} (${exposure.otherInterfaces.join('; ')})`);
  }
  return parts.length === 0 ? `${groupId} protects nothing else` : `${groupId} also protects ${parts.join(' and ')}`;
}
