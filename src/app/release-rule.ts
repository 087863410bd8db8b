import { UpstreamError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { recordedLocation } from './location.js';
import type { AwsLocation, RuleRecord } from './ports.js';

export type ReleaseOutcome = 'removed' | 'already-gone' | 'shared' | 'pre-existing' | 'no-rule';

/**
 * Ends `request`'s hold on its rule. The rule is removed from AWS (by its id, then confirmed gone)
 * only when this was the last grant holding it and cache-access created it. Every failure is
 * rethrown as retryable: a revocation never gives up.
 */
export async function releaseRule(deps: UseCaseDeps, request: AccessRequest): Promise<ReleaseOutcome> {
  if (request.ruleRecordId === undefined) return 'no-rule';
  const decision = await deps.store.releaseRule(request.ruleRecordId, request.id);
  if (decision === 'shared') return 'shared';
  if (decision === 'keep') return 'pre-existing';
  if (decision === 'gone') return 'already-gone';
  return removeRule(deps, (await deps.store.getRule(request.ruleRecordId))!, request.clusterId);
}

/**
 * Removes a rule cache-access made (already marked 'removing') where it was made, confirms it is gone,
 * and records that. "Not found" counts as gone only at the rule's recorded location: anywhere else it
 * says nothing about the rule, which would then stay open while the records said it was removed.
 */
export async function removeRule(deps: UseCaseDeps, rule: RuleRecord, clusterId: string): Promise<'removed' | 'already-gone' | 'no-rule'> {
  if (!rule.awsRuleId) {
    await deps.store.markRuleRemoved(rule.id, deps.clock.now());
    return 'no-rule';
  }
  const { location, verified } = recordedLocation(deps, rule.location, clusterId);
  try {
    const outcome = await deps.firewall.revoke(rule.securityGroupId, rule.awsRuleId, location);
    if (outcome === 'already-gone' && !verified && !(await groupIsWhereRecorded(deps, rule, location))) {
      throw new UpstreamError(
        'aws',
        'LocationUnverified',
        `Rule ${rule.awsRuleId} was not found, and neither was its group ${rule.securityGroupId} in the account it was recorded in: cache-access keeps trying. Check where the rule is and remove it by hand if it is still there.`,
        true,
      );
    }
    if (await deps.firewall.ruleExists(rule.securityGroupId, rule.awsRuleId, location)) {
      throw new UpstreamError('aws', 'RuleStillPresent', `Rule ${rule.awsRuleId} is still in ${rule.securityGroupId} after revoking it.`, true);
    }
    await deps.store.markRuleRemoved(rule.id, deps.clock.now());
    return outcome;
  } catch (error) {
    if (error instanceof UpstreamError && !error.retryable) {
      // Even "permanent" refusals (say, a missing IAM permission) get fixed by people: keep trying.
      throw new UpstreamError(error.service, error.upstreamCode, error.message, true);
    }
    throw error;
  }
}

/**
 * For a rule recorded before locations were kept: whether the guessed place holds its group, owned by
 * the account recorded with it. Group ids are per region, so finding it there settles the region too.
 */
export async function groupIsWhereRecorded(deps: UseCaseDeps, rule: RuleRecord, location: AwsLocation): Promise<boolean> {
  const group = await deps.directory.findSecurityGroup(rule.securityGroupId, location);
  return group !== undefined && (rule.location?.accountId === undefined || group.ownerId === rule.location.accountId);
}
