import type { ClusterPolicy } from '../policy.js';
import type { UseCaseDeps } from './deps.js';

/** The cluster tag that names extra approvers: comma-separated Slack user and user group ids. */
export const APPROVERS_TAG = 'cache-access:approvers';
const PRINCIPAL = /^[UWS][A-Z0-9]{2,}$/;

/**
 * Who may approve a request for `clusterId`, as Slack user ids: the rule's approvers, plus (with
 * `approversFromTags`) those the cluster's tag names. A union, so the policy's approvers stay a
 * backstop when the tag is missing, stale or names people who left. Read afresh each time, so a tag
 * change applies to pending requests too.
 */
export async function approversFor(deps: UseCaseDeps, clusterId: string, rule: ClusterPolicy): Promise<string[]> {
  const principals = [...rule.approvers];
  if (rule.approversFromTags) {
    const tags = await deps.directory.clusterTags(clusterId, { region: rule.region, roleArn: rule.roleArn });
    principals.push(...tagPrincipals(deps, clusterId, tags[APPROVERS_TAG]));
  }
  return deps.people.expandApprovers([...new Set(principals)]);
}

/** The valid ids in a tag value; anything else is logged and skipped, so one typo locks nobody out. */
function tagPrincipals(deps: UseCaseDeps, clusterId: string, value: string | undefined): string[] {
  const { valid, invalid } = readApproversTag(value);
  if (invalid.length > 0) {
    deps.logger.warn({ clusterId, tag: APPROVERS_TAG, invalid }, 'ignoring tag entries that are not Slack user or user group ids');
  }
  return valid;
}

/** The entries of an approvers tag value, split into Slack user or user group ids and anything else. */
export function readApproversTag(value: string | undefined): { valid: string[]; invalid: string[] } {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  return { valid: entries.filter((entry) => PRINCIPAL.test(entry)), invalid: entries.filter((entry) => !PRINCIPAL.test(entry)) };
}

/** True when the rule's autoApprove covers this requester and duration. */
export async function qualifiesForAutoApproval(
  deps: UseCaseDeps,
  rule: ClusterPolicy,
  requesterId: string,
  durationSeconds: number,
): Promise<boolean> {
  const auto = rule.autoApprove;
  if (!auto || durationSeconds > auto.maxDuration) return false;
  return (await deps.people.expandApprovers(auto.requesters)).includes(requesterId);
}
