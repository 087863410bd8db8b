import { transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import { applyEffects } from './apply-effects.js';
import type { UseCaseDeps } from './deps.js';
import { locationKey, locationOf } from './location.js';
import type { AwsLocation, RuleRecord, TaggedRule } from './ports.js';
import { remindedOfCurrentExpiry, reminderDue } from './remind.js';
import { timeOutPendingRequests } from './time-out-pending.js';

export interface ReconcileReport {
  /** Approved grants whose grant job was enqueued (again). */
  grantsRequeued: number[];
  /** Active grants past expiry, revoked now. */
  overdueRevokes: number[];
  /** Active grants whose revoke job was checked (and re-created if missing). */
  revokesEnsured: number[];
  /** Active grants with a reminder still to come whose remind job was checked (and re-created if missing). */
  remindersEnsured: number[];
  /** Tagged rules in AWS that no live grant holds: removed. */
  orphansRevoked: string[];
  /** Grants whose rule someone removed outside cache-access. */
  revokedExternally: number[];
  /** Pending requests nobody decided on within pendingTimeout: cancelled. */
  timedOut: number[];
  /** Steps that could not run (e.g. Redis or AWS down); the next pass tries again. */
  errors: string[];
}

export const EXTERNAL_REMOVAL_NOTE =
  'The ingress rule was removed outside cache-access (in the console or by another tool), so this access has already ended.';

/**
 * One pass that makes Redis and AWS agree with the database, the source of truth. Safe to run at any
 * time, concurrently with jobs and with other passes: every repair it makes is idempotent.
 */
export async function reconcile(deps: UseCaseDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    grantsRequeued: [],
    overdueRevokes: [],
    revokesEnsured: [],
    remindersEnsured: [],
    orphansRevoked: [],
    revokedExternally: [],
    timedOut: [],
    errors: [],
  };
  const attempt = async (what: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (error) {
      report.errors.push(`${what}: ${(error as Error).message}`);
      deps.logger.warn({ err: error, step: what }, 'reconcile step failed');
    }
  };

  await attempt('time out pending requests', async () => {
    report.timedOut.push(...(await timeOutPendingRequests(deps)));
  });
  await attempt('requeue approved grants', async () => {
    for (const request of deps.store.findByStatus('approved')) {
      await deps.scheduler.scheduleGrant(request.id);
      report.grantsRequeued.push(request.id);
    }
  });
  // Read once: both steps below go over the same active grants.
  let active: AccessRequest[] = [];
  await attempt('schedule revocations', async () => {
    const now = deps.clock.now();
    active = deps.store.findByStatus('active');
    for (const request of active) {
      if (request.expiresAt! <= now) {
        await deps.scheduler.scheduleRevoke(request.id, request.expiresAt!);
        report.overdueRevokes.push(request.id);
      } else {
        await deps.scheduler.ensureRevoke(request.id, request.expiresAt!);
        report.revokesEnsured.push(request.id);
      }
    }
  });
  await attempt('schedule reminders', async () => {
    const now = deps.clock.now();
    for (const request of active) {
      // A reminder is due before expiry, so one still to come also means the grant has not expired.
      const at = reminderDue(deps, request);
      if (!at || at <= now || remindedOfCurrentExpiry(deps, request)) continue;
      await deps.scheduler.ensureReminder(request.id, at);
      report.remindersEnsured.push(request.id);
    }
  });
  await attempt('compare rules with AWS', async () => {
    const places = groupsByLocation(deps);
    const tagged: LocatedRule[] = [];
    for (const { location, groups } of places.values()) {
      const rules = await deps.firewall.listTaggedRules([...groups], location);
      tagged.push(...rules.map((rule) => ({ ...rule, location })));
    }
    // Read after the AWS listing, so a rule added meanwhile is already recorded (or its grant still approved).
    const live = deps.store.liveRules();
    await revokeOrphans(deps, tagged, live, report);
    await recordExternalRemovals(deps, tagged, live, locationsOfGroups(places), report);
  });
  const repairs =
    report.overdueRevokes.length + report.orphansRevoked.length + report.revokedExternally.length + report.timedOut.length;
  deps.logger[repairs + report.errors.length > 0 ? 'info' : 'debug'](
    { ...report, revokesEnsured: report.revokesEnsured.length, remindersEnsured: report.remindersEnsured.length },
    'reconcile pass',
  );
  return report;
}

type LocatedRule = TaggedRule & { location: AwsLocation };
type Places = Map<string, { location: AwsLocation; groups: Set<string> }>;

/** The scan's scope: every group cache-access has targeted, by the account and region it lives in. */
function groupsByLocation(deps: UseCaseDeps): Places {
  const places: Places = new Map();
  for (const { securityGroupId, clusterId } of deps.store.targetGroups()) {
    const location = locationOf(deps, clusterId);
    const key = locationKey(location);
    if (!places.has(key)) places.set(key, { location, groups: new Set() });
    places.get(key)!.groups.add(securityGroupId);
  }
  return places;
}

function locationsOfGroups(places: Places): Map<string, AwsLocation> {
  const byGroup = new Map<string, AwsLocation>();
  for (const { location, groups } of places.values()) for (const group of groups) byGroup.set(group, location);
  return byGroup;
}

/** Rules that carry cache-access tags but that no live record accounts for: left over from a crash. */
async function revokeOrphans(deps: UseCaseDeps, tagged: LocatedRule[], live: RuleRecord[], report: ReconcileReport) {
  const known = new Set(live.map((rule) => rule.awsRuleId));
  for (const rule of tagged) {
    if (known.has(rule.awsRuleId)) continue;
    const grant = rule.grantId === undefined ? undefined : deps.store.get(rule.grantId);
    // Its grant job is still running, or will run again: it adopts the rule it made.
    if (grant?.status === 'approved') continue;
    await deps.firewall.revoke(rule.securityGroupId, rule.awsRuleId, rule.location);
    report.orphansRevoked.push(rule.awsRuleId);
    deps.logger.warn({ awsRuleId: rule.awsRuleId, securityGroupId: rule.securityGroupId, grantId: rule.grantId }, 'orphan rule revoked');
    if (grant) {
      deps.store.recordEvent(grant.id, {
        at: deps.clock.now(),
        actor: 'system',
        type: 'orphan-rule-revoked',
        detail: { awsRuleId: rule.awsRuleId, securityGroupId: rule.securityGroupId },
      });
    }
  }
}

/** Rules the database holds as in place that AWS no longer has: someone removed them by hand. */
async function recordExternalRemovals(
  deps: UseCaseDeps,
  tagged: LocatedRule[],
  live: RuleRecord[],
  locations: Map<string, AwsLocation>,
  report: ReconcileReport,
) {
  const present = new Set(tagged.map((rule) => rule.awsRuleId));
  for (const rule of live) {
    if (rule.state !== 'in-place' || rule.origin !== 'cache-access' || !rule.awsRuleId || present.has(rule.awsRuleId)) continue;
    // Not listed by tag: confirm by id, since someone may have removed only the tags.
    if (await deps.firewall.ruleExists(rule.securityGroupId, rule.awsRuleId, locations.get(rule.securityGroupId))) continue;
    const now = deps.clock.now();
    deps.store.markRuleRemoved(rule.id, now);
    for (const holder of deps.store.holdersOf(rule.id)) {
      if (holder.status !== 'active') continue;
      const { next, effects } = transition(holder, { type: 'revoke', by: 'aws' }, now);
      deps.store.save(next, [{ at: now, actor: 'system', type: 'revoked-externally', detail: { awsRuleId: rule.awsRuleId } }]);
      report.revokedExternally.push(holder.id);
      await applyEffects(deps, next, effects, EXTERNAL_REMOVAL_NOTE);
    }
  }
}
