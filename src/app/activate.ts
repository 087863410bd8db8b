import { transition } from '../domain/lifecycle.js';
import { UpstreamError } from '../domain/errors.js';
import { ruleDescription } from '../adapters/aws/rule-description.js';
import type { AccessRequest } from '../domain/request.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';
import type { RuleRecord, RuleSpec } from './ports.js';

export interface JobAttempt {
  attemptsMade: number;
  /** No retry follows this attempt: a retryable failure now ends the grant as failed. */
  finalAttempt: boolean;
}

/**
 * The grant job: puts the ingress rule in place for an approved request and starts its clock.
 * Idempotent: it re-reads the request and does nothing unless it is still `approved`.
 */
export async function activate(deps: UseCaseDeps, requestId: number, attempt: JobAttempt): Promise<void> {
  const request = deps.store.get(requestId);
  if (!request || request.status !== 'approved') return;

  const rule = recordIntent(deps, request);
  const granted = deps.store.get(requestId)!;
  if (rule.state === 'in-place') return finish(deps, granted, rule.id);

  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + granted.durationSeconds * 1000);
  try {
    const result = await deps.firewall.authorize(
      rule,
      ruleDescription({ requestId, requester: granted.requesterName, expiresAt }),
      { grantId: requestId, expiresAt },
    );
    if (result.outcome === 'duplicate' && result.tags['cache-access:grant-id'] !== String(requestId)) {
      // An identical rule exists that this grant did not create: removing it at expiry would cut
      // access someone else relies on, so the grant is not given a rule of its own.
      throw new UpstreamError(
        'aws',
        'InvalidPermission.Duplicate',
        `An identical rule already exists on ${rule.securityGroupId} (${result.awsRuleId ?? 'id unknown'}); cache-access did not create it and will not take it over.`,
        false,
      );
    }
    if (!result.awsRuleId) throw new UpstreamError('aws', 'MissingRuleId', 'AWS did not return the new rule id', true);
    deps.store.markRuleInPlace(rule.id, result.awsRuleId);
  } catch (error) {
    if (error instanceof UpstreamError && error.retryable && !attempt.finalAttempt) throw error;
    return fail(deps, granted, rule.id, error);
  }
  return finish(deps, granted, rule.id);
}

/** Stores the pending rule and links it to the request before AWS is called, so a crash leaves a trace. */
function recordIntent(deps: UseCaseDeps, request: AccessRequest): RuleRecord {
  if (request.ruleRecordId !== undefined) return deps.store.getRule(request.ruleRecordId)!;
  const now = deps.clock.now();
  const spec: RuleSpec = {
    securityGroupId: request.targetGroupId,
    protocol: 'tcp',
    port: request.port,
    source: request.source,
  };
  const rule = deps.store.createRule(spec, 'cache-access', now);
  deps.store.save({ ...request, ruleRecordId: rule.id, version: request.version + 1 }, [
    { at: now, actor: 'system', type: 'rule-requested', detail: { ruleRecordId: rule.id } },
  ]);
  return rule;
}

async function finish(deps: UseCaseDeps, request: AccessRequest, ruleRecordId: number): Promise<void> {
  const now = deps.clock.now();
  const { next, effects } = transition(request, { type: 'activate', ruleRecordId }, now);
  const awsRuleId = deps.store.getRule(ruleRecordId)?.awsRuleId;
  deps.store.save(next, [{ at: now, actor: 'system', type: 'activated', detail: { awsRuleId, expiresAt: next.expiresAt } }]);
  await applyEffects(deps, next, effects);
}

async function fail(deps: UseCaseDeps, request: AccessRequest, ruleRecordId: number, error: unknown): Promise<void> {
  const now = deps.clock.now();
  const code = error instanceof UpstreamError ? error.upstreamCode : 'InternalError';
  const message = error instanceof Error ? error.message : String(error);
  deps.store.markRuleRemoved(ruleRecordId, now);
  const { next, effects } = transition(request, { type: 'fail', code, message }, now);
  deps.store.save(next, [{ at: now, actor: 'system', type: 'failed', detail: { code, message } }]);
  deps.logger.warn({ requestId: request.id, code }, 'grant failed');
  await applyEffects(deps, next, effects);
}
