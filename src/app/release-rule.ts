import { UpstreamError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { locationOf } from './location.js';

export type ReleaseOutcome = 'removed' | 'already-gone' | 'shared' | 'pre-existing' | 'no-rule';

/**
 * Ends `request`'s hold on its rule. The rule is removed from AWS (by its id, then confirmed gone)
 * only when this was the last grant holding it and cache-access created it. Every failure is
 * rethrown as retryable: a revocation never gives up.
 */
export async function releaseRule(deps: UseCaseDeps, request: AccessRequest): Promise<ReleaseOutcome> {
  if (request.ruleRecordId === undefined) return 'no-rule';
  const decision = deps.store.releaseRule(request.ruleRecordId, request.id);
  if (decision === 'shared') return 'shared';
  if (decision === 'keep') return 'pre-existing';
  if (decision === 'gone') return 'already-gone';
  const rule = deps.store.getRule(request.ruleRecordId)!;
  if (!rule.awsRuleId) {
    deps.store.markRuleRemoved(rule.id, deps.clock.now());
    return 'no-rule';
  }
  const location = locationOf(deps, request.clusterId);
  try {
    const outcome = await deps.firewall.revoke(rule.securityGroupId, rule.awsRuleId, location);
    if (await deps.firewall.ruleExists(rule.securityGroupId, rule.awsRuleId, location)) {
      throw new UpstreamError('aws', 'RuleStillPresent', `Rule ${rule.awsRuleId} is still in ${rule.securityGroupId} after revoking it.`, true);
    }
    deps.store.markRuleRemoved(rule.id, deps.clock.now());
    return outcome;
  } catch (error) {
    if (error instanceof UpstreamError && !error.retryable) {
      // Even "permanent" refusals (say, a missing IAM permission) get fixed by people: keep trying.
      throw new UpstreamError(error.service, error.upstreamCode, error.message, true);
    }
    throw error;
  }
}
