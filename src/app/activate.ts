import { transition } from '../domain/lifecycle.js';
import { ConflictError, UpstreamError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import { ruleDescription } from './rule-description.js';
import { applyEffects } from './apply-effects.js';
import { sessionEnding } from './end-sessions.js';
import type { UseCaseDeps } from './deps.js';
import { recordedLocation } from './location.js';
import type { JobAttempt, RuleRecord, RuleSpec } from './ports.js';

export const COVERED_NOTE =
  'An identical rule was already in place, made outside cache-access: you had this access already, and it is not time-limited. cache-access will not remove it.';

/**
 * The grant job: puts the ingress rule in place for an approved request and starts its clock.
 * Idempotent: it re-reads the request and does nothing unless it is still `approved`; a second
 * delivery running at the same time loses the version race and stops.
 *
 * AWS treats identical rules as one, so a grant may end up holding a rule it shares with other
 * grants (removed when the last one ends) or one that someone made by hand ("covered": never removed).
 */
export async function activate(deps: UseCaseDeps, requestId: number, attempt: JobAttempt): Promise<void> {
  const request = await deps.store.get(requestId);
  if (!request || request.status !== 'approved') return;
  const spec = ruleSpecOf(request);

  if (request.ruleRecordId === undefined) {
    const live = await deps.store.findLiveRule(spec);
    if (live) return finish(deps, request, live);
    try {
      await recordIntent(deps, request, spec);
    } catch (error) {
      if (error instanceof ConflictError) return; // another delivery of this job got there first
      throw error;
    }
  }
  const intended = (await deps.store.get(requestId))!;
  const rule = (await deps.store.getRule(intended.ruleRecordId!))!;
  if (rule.state === 'in-place') return finish(deps, intended, rule);

  let held: RuleRecord;
  try {
    held = await putRuleInPlace(deps, intended, rule);
  } catch (error) {
    // Only AWS's own refusal means no access was opened. Anything else (throttling, a timeout, a database
    // error after AWS added the rule) retries; after the last try the reconciler enqueues the job again.
    if (isAwsRefusal(error)) return fail(deps, intended, rule.id, error);
    if (attempt.finalAttempt) deps.logger.warn({ err: error, requestId }, 'grant job out of tries; the reconciler enqueues it again');
    throw error;
  }
  return finish(deps, intended, held);
}

function isAwsRefusal(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError && error.service === 'aws' && !error.retryable;
}

/** Adds the rule in AWS, or works out whose identical rule is already there. Returns the rule held. */
async function putRuleInPlace(deps: UseCaseDeps, request: AccessRequest, intent: RuleRecord): Promise<RuleRecord> {
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + request.durationSeconds * 1000);
  const result = await deps.firewall.authorize(
    intent,
    ruleDescription({ requestId: request.id, requester: request.requesterName, expiresAt }),
    { grantId: request.id, expiresAt },
    recordedLocation(deps, intent.location, request.clusterId).location,
  );
  if (result.outcome === 'created') {
    await deps.store.markRuleInPlace(intent.id, result.awsRuleId, 'cache-access');
    return (await deps.store.getRule(intent.id))!;
  }
  const known = await deps.store.findRuleByAwsId(result.awsRuleId);
  if (known && known.id !== intent.id) {
    if (known.state !== 'in-place') {
      throw new UpstreamError('aws', 'RuleInTransition', `The identical rule ${result.awsRuleId} is being removed; retrying.`, true);
    }
    await deps.store.markRuleRemoved(intent.id, now); // our intent never became a rule of its own
    return known;
  }
  const creator = result.grantId === undefined ? undefined : await deps.store.get(result.grantId);
  if (creator && creator.id !== request.id && creator.status === 'approved') {
    // Another grant is adding this very rule right now; it will record it in a moment.
    throw new UpstreamError('aws', 'RuleInTransition', `Grant #${creator.id} is adding the identical rule; retrying.`, true);
  }
  // Tagged for this grant (a crash hit between AWS and the database), or an orphan of another grant:
  // adopt it. Untagged: someone made it by hand, so it is only recorded, never removed.
  await deps.store.markRuleInPlace(intent.id, result.awsRuleId, result.grantId === undefined ? 'pre-existing' : 'cache-access');
  return (await deps.store.getRule(intent.id))!;
}

/**
 * Stores the pending rule and links it to the request before AWS is called, so a crash leaves a trace.
 * The rule is made at the request's recorded location; a request recorded before locations were kept
 * takes the policy's now, and from then on it and its rule are known to live there.
 */
async function recordIntent(deps: UseCaseDeps, request: AccessRequest, spec: RuleSpec): Promise<void> {
  const now = deps.clock.now();
  const { location, verified } = recordedLocation(deps, request.location, request.clusterId);
  const settled = verified ? request.location : { ...request.location, ...location, known: true };
  await deps.store.recordRuleIntent({ ...request, location: settled, version: request.version + 1 }, spec, [
    { at: now, actor: 'system', type: 'rule-requested', detail: { ...spec } },
  ]);
}

async function finish(deps: UseCaseDeps, request: AccessRequest, rule: RuleRecord): Promise<void> {
  const sourceAddresses = await sourceAddressesNow(deps, request);
  const now = deps.clock.now();
  const { next, effects } = transition(request, { type: 'activate', ruleRecordId: rule.id }, now);
  const sharedWith = (await deps.store.holdersOf(rule.id)).filter((holder) => holder.id !== request.id).map((h) => h.id);
  try {
    await deps.store.save(next, [
      {
        at: now,
        actor: 'system',
        type: 'activated',
        detail: {
          awsRuleId: rule.awsRuleId,
          origin: rule.origin,
          sharedWith,
          expiresAt: next.expiresAt?.toISOString(),
          ...(sourceAddresses ? { sourceAddresses } : {}),
        },
      },
    ]);
  } catch (error) {
    if (error instanceof ConflictError) return; // a concurrent delivery activated it
    throw error;
  }
  await applyEffects(deps, next, effects, rule.origin === 'pre-existing' ? COVERED_NOTE : undefined);
}

/**
 * A security-group source's interface addresses as the grant starts, kept so its sessions can be closed
 * even from interfaces gone by the end. Only when the policy ends sessions; a failed look-up never stops access.
 */
async function sourceAddressesNow(deps: UseCaseDeps, request: AccessRequest): Promise<string[] | undefined> {
  const { source } = request;
  if (source.kind !== 'security-group' || !sessionEnding(deps, request)) return undefined;
  const { location } = recordedLocation(deps, request.location, request.clusterId);
  return deps.network.groupAddresses(source.groupId, location).catch((error: unknown) => {
    deps.logger.warn({ err: error, requestId: request.id }, 'could not read the source group addresses; sessions are judged by the addresses at the end');
    return undefined;
  });
}

async function fail(deps: UseCaseDeps, request: AccessRequest, ruleRecordId: number, error: unknown): Promise<void> {
  const now = deps.clock.now();
  const code = error instanceof UpstreamError ? error.upstreamCode : 'InternalError';
  const message = error instanceof Error ? error.message : String(error);
  const rule = await deps.store.getRule(ruleRecordId);
  if (rule?.state === 'pending') await deps.store.markRuleRemoved(ruleRecordId, now);
  const { next, effects } = transition(request, { type: 'fail', code, message }, now);
  await deps.store.save(next, [{ at: now, actor: 'system', type: 'failed', detail: { code, message } }]);
  // AWS's message is for the log and the record; Slack shows only the code.
  deps.logger.warn({ requestId: request.id, code, err: error }, 'grant failed');
  await applyEffects(deps, next, effects);
}

export function ruleSpecOf(request: AccessRequest): RuleSpec {
  return { securityGroupId: request.targetGroupId, protocol: 'tcp', port: request.port, source: request.source };
}
