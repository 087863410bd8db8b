/**
 * What the policy in force says about one cluster, for `cache-access policy explain`: the globs tried,
 * the rule that decides, who approves (with the cluster's tag approvers and user group members when AWS
 * and Slack answer; what could not be looked up is said, not guessed), and what a given requester may do.
 */
import { UpstreamError } from '../domain/errors.js';
import type { ClusterPolicy } from '../policy.js';
import { APPROVERS_TAG, readApproversTag } from './approvers.js';
import type { UseCaseDeps } from './deps.js';

/** A Slack id as the policy or tag names it; a user group's members when Slack could list them. */
export interface NamedPrincipal {
  id: string;
  members?: string[];
  /** Why a user group's members are unknown, e.g. "Slack not_configured". */
  membersUnknown?: string;
}

export type TagApprovers = { principals: NamedPrincipal[]; ignored: string[] } | { unavailable: string };

/** yes / no, or unknown when it hangs on a user group Slack could not list. */
export type Answer = 'yes' | 'no' | 'unknown';

export interface RuleExplanation {
  clusterId: string;
  tried: Array<{ index: number; match: string; matched: boolean }>;
  decided?: {
    index: number;
    rule: ClusterPolicy;
    approvers: NamedPrincipal[];
    /** Present with approversFromTags. */
    tagApprovers?: TagApprovers;
    autoApproveRequesters: NamedPrincipal[];
    /** Present when the rule allows break-glass. */
    breakGlassRequesters?: NamedPrincipal[];
    requester?: { id: string; isApprover: Answer; maySelfApprove: Answer; autoApproved: Answer; mayBreakGlass: Answer };
  };
}

export async function explainRule(deps: UseCaseDeps, input: { clusterId: string; requesterId?: string }): Promise<RuleExplanation> {
  const clusterId = input.clusterId.toLowerCase();
  const tried = deps.policy().triedFor(clusterId);
  const summary = tried.map(({ index, rule, matched }) => ({ index, match: rule.match, matched }));
  const matched = tried.find((entry) => entry.matched);
  if (!matched) return { clusterId, tried: summary };
  const { rule, index } = matched;
  const approvers = await Promise.all(rule.approvers.map((id) => named(deps, id)));
  const tagApprovers = rule.approversFromTags ? await readTagApprovers(deps, clusterId, rule) : undefined;
  const autoApproveRequesters = await Promise.all((rule.autoApprove?.requesters ?? []).map((id) => named(deps, id)));
  const breakGlassRequesters = rule.breakGlass && (await Promise.all(rule.breakGlass.requesters.map((id) => named(deps, id))));
  const everyApprover = [...approvers, ...(tagApprovers && 'principals' in tagApprovers ? tagApprovers.principals : [])];
  const requester = input.requesterId && {
    id: input.requesterId,
    ...requesterAnswers(rule, input.requesterId, everyApprover, autoApproveRequesters, tagApprovers),
    mayBreakGlass: breakGlassRequesters ? memberOf(input.requesterId, breakGlassRequesters) : ('no' as const),
  };
  return {
    clusterId,
    tried: summary,
    decided: { index, rule, approvers, tagApprovers, autoApproveRequesters, ...(breakGlassRequesters ? { breakGlassRequesters } : {}), ...(requester ? { requester } : {}) },
  };
}

function requesterAnswers(
  rule: ClusterPolicy,
  requesterId: string,
  approvers: NamedPrincipal[],
  autoApproveRequesters: NamedPrincipal[],
  tagApprovers: TagApprovers | undefined,
): { isApprover: Answer; maySelfApprove: Answer; autoApproved: Answer } {
  const approverAnswer = memberOf(requesterId, approvers);
  // Unread tags may name the requester too.
  const isApprover = approverAnswer === 'no' && tagApprovers && 'unavailable' in tagApprovers ? 'unknown' : approverAnswer;
  const maySelfApprove = rule.selfApproval ? isApprover : 'no';
  return { isApprover, maySelfApprove, autoApproved: rule.autoApprove ? memberOf(requesterId, autoApproveRequesters) : 'no' };
}

function memberOf(userId: string, principals: NamedPrincipal[]): Answer {
  if (principals.some((p) => p.id === userId || p.members?.includes(userId))) return 'yes';
  return principals.some((p) => p.membersUnknown !== undefined) ? 'unknown' : 'no';
}

/** A user id as it is; a user group (S…) with its members, or why they are unknown. */
async function named(deps: UseCaseDeps, id: string): Promise<NamedPrincipal> {
  if (!id.startsWith('S')) return { id };
  try {
    return { id, members: await deps.people.expandApprovers([id]) };
  } catch (error) {
    return { id, membersUnknown: unavailable('Slack', error) };
  }
}

async function readTagApprovers(deps: UseCaseDeps, clusterId: string, rule: ClusterPolicy): Promise<TagApprovers> {
  let tags: Record<string, string>;
  try {
    tags = await deps.directory.clusterTags(clusterId, { region: rule.region, roleArn: rule.roleArn });
  } catch (error) {
    return { unavailable: unavailable('AWS', error) };
  }
  const { valid, invalid } = readApproversTag(tags[APPROVERS_TAG]);
  return { principals: await Promise.all(valid.map((id) => named(deps, id))), ignored: invalid };
}

/** "AWS AccessDenied", "Slack not_configured": the service and its code, never its message (ARNs, hosts). */
function unavailable(service: string, error: unknown): string {
  return error instanceof UpstreamError ? `${service} ${error.upstreamCode}` : `${service} ${(error as Error).name ?? 'error'}`;
}
