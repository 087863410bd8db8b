import { transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../domain/request.js';
import { applyEffects } from './apply-effects.js';
import { remindUnreviewed } from './break-glass-review.js';
import type { UseCaseDeps } from './deps.js';
import { locationKey, recordedLocation } from './location.js';
import type { AwsLocation, RuleRecord, TaggedRule } from './ports.js';
import { groupIsWhereRecorded, removeRule } from './release-rule.js';
import { remindedOfCurrentExpiry, reminderDue } from './remind.js';
import { revocationRequest } from './request-revocation.js';
import { timeOutPendingRequests } from './time-out-pending.js';

/** A step, or one item of a step (an account and region, a rule), that could not run. */
export interface ReconcileError {
  step: string;
  /** The account and region, or the rule, the failure concerns, when the step goes over several. */
  item?: string;
  message: string;
}

export interface ReconcileReport {
  /** Approved grants whose grant job was enqueued (again). */
  grantsRequeued: number[];
  /** Active grants past expiry, or whose early end was asked for: revoke job due now. */
  overdueRevokes: number[];
  /** Active grants past expiry whose revoke job was running: left to finish (the next pass looks again). */
  revokesRunning: number[];
  /** Active grants whose revoke job was checked (and re-created if missing). */
  revokesEnsured: number[];
  /** Active grants with a reminder still to come whose remind job was checked (and re-created if missing). */
  remindersEnsured: number[];
  /** Tagged rules in AWS that no record accounts for: removed. */
  orphansRevoked: string[];
  /** Rules recorded in place that no approved or active grant holds any more: removed. */
  unheldRulesRevoked: string[];
  /** Grants whose rule someone removed outside cache-access. */
  revokedExternally: number[];
  /** Pending requests nobody decided on within pendingTimeout: cancelled. */
  timedOut: number[];
  /** Break-glass grants still unreviewed a day on, whose approvers were reminded. */
  reviewReminders: number[];
  /** What could not run (Redis or an account unreachable, one rule's revoke refused); the next pass tries again. */
  errors: ReconcileError[];
}

export const EXTERNAL_REMOVAL_NOTE =
  'The ingress rule was removed outside cache-access (in the console or by another tool), so this access has already ended.';

type Attempt = (step: string, work: () => Promise<void> | void, item?: string) => Promise<void>;

/**
 * One pass that makes Redis and AWS agree with the database, the source of truth. Safe to run at any
 * time, concurrently with jobs and with other passes: every repair it makes is idempotent. A failure is
 * kept to its step, or to the one account, region or rule it concerns: the rest of the pass goes on.
 */
export async function reconcile(deps: UseCaseDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    grantsRequeued: [],
    overdueRevokes: [],
    revokesRunning: [],
    revokesEnsured: [],
    remindersEnsured: [],
    orphansRevoked: [],
    unheldRulesRevoked: [],
    revokedExternally: [],
    timedOut: [],
    reviewReminders: [],
    errors: [],
  };
  const attempt: Attempt = async (step, work, item) => {
    try {
      await work();
    } catch (error) {
      report.errors.push({ step, ...(item === undefined ? {} : { item }), message: (error as Error).message });
      deps.logger.warn({ err: error, step, item }, 'reconcile step failed');
    }
  };

  await attempt('time out pending requests', async () => {
    report.timedOut.push(...(await timeOutPendingRequests(deps)));
  });
  // Here, not in a job of its own: the pass runs once per interval across processes and after restarts.
  await attempt('remind of unreviewed break-glass grants', async () => {
    report.reviewReminders.push(...(await remindUnreviewed(deps)));
  });
  // Read before the rules below: a grant approved or activated after this read holds its rule, which
  // the store's own check confirms before any rule is removed.
  let approved: AccessRequest[] = [];
  let active: AccessRequest[] = [];
  let grantsRead = false;
  await attempt('read approved and active grants', async () => {
    approved = await deps.store.findByStatus('approved');
    active = await deps.store.findByStatus('active');
    grantsRead = true;
  });
  await attempt('requeue approved grants', async () => {
    for (const request of approved) {
      await deps.scheduler.scheduleGrant(request.id);
      report.grantsRequeued.push(request.id);
    }
  });
  await attempt('schedule revocations', async () => {
    for (const request of active) await scheduleRevocation(deps, request, report);
  });
  await attempt('schedule reminders', async () => {
    const now = deps.clock.now();
    for (const request of active) {
      // A reminder is due before expiry, so one still to come also means the grant has not expired.
      const at = reminderDue(deps, request);
      if (!at || at <= now || await remindedOfCurrentExpiry(deps, request)) continue;
      await deps.scheduler.ensureReminder(request.id, at);
      report.remindersEnsured.push(request.id);
    }
  });
  // Without the grants, every rule would look unheld: that step waits for a pass that can read them.
  const heldRuleIds = grantsRead ? new Set([...approved, ...active].map((r) => r.ruleRecordId)) : undefined;
  await compareRulesWithAws(deps, heldRuleIds, attempt, report);
  const repairs =
    report.overdueRevokes.length +
    report.orphansRevoked.length +
    report.unheldRulesRevoked.length +
    report.revokedExternally.length +
    report.timedOut.length;
  deps.logger[repairs + report.errors.length > 0 ? 'info' : 'debug'](
    { ...report, revokesEnsured: report.revokesEnsured.length, remindersEnsured: report.remindersEnsured.length },
    'reconcile pass',
  );
  return report;
}

/**
 * Makes sure the grant's revoke job exists. One past expiry, or whose early end someone asked for, is due
 * now: its job is moved up, never left at a later time.
 */
async function scheduleRevocation(deps: UseCaseDeps, request: AccessRequest, report: ReconcileReport): Promise<void> {
  const now = deps.clock.now();
  if (request.expiresAt! <= now || await revocationRequest(deps, request.id)) {
    // Not waited for when running: a job held by a worker that died stays locked until BullMQ hands it back.
    const outcome = await deps.scheduler.expediteRevoke(request.id, request.expiresAt! < now ? request.expiresAt! : now);
    (outcome === 'running' ? report.revokesRunning : report.overdueRevokes).push(request.id);
  } else {
    await deps.scheduler.ensureRevoke(request.id, request.expiresAt!);
    report.revokesEnsured.push(request.id);
  }
}

type LocatedRule = TaggedRule & { location: AwsLocation };

/** Every group cache-access has targeted, by the place (account and region) recorded for it. */
interface Place {
  location: AwsLocation;
  verified: boolean;
  groups: Map<string, string>;
}

async function compareRulesWithAws(
  deps: UseCaseDeps,
  heldRuleIds: Set<number | undefined> | undefined,
  attempt: Attempt,
  report: ReconcileReport,
) {
  let places = new Map<string, Place>();
  await attempt('read target groups', async () => {
    places = await placesOfTargetGroups(deps);
  });
  const tagged: LocatedRule[] = [];
  const scanned = new Set<string>();
  for (const [key, place] of places) {
    await attempt('list tagged rules', async () => {
      const rules = await deps.firewall.listTaggedRules([...place.groups.keys()], place.location);
      tagged.push(...rules.map((rule) => ({ ...rule, location: place.location })));
      scanned.add(key);
    }, describePlace(place.location));
  }
  // Read after the AWS listing, so a rule added meanwhile is already recorded (or its grant still approved).
  let live: RuleRecord[] = [];
  await attempt('read live rules', async () => {
    live = await deps.store.liveRules();
  });
  const clusterOf = new Map<string, string>();
  for (const place of places.values()) for (const [group, cluster] of place.groups) clusterOf.set(group, cluster);

  await revokeOrphans(deps, tagged, live, attempt, report);
  const listed = new Set(tagged.map((rule) => rule.awsRuleId));
  for (const rule of live) {
    const clusterId = clusterOf.get(rule.securityGroupId) ?? '';
    const key = locationKey(recordedLocation(deps, rule.location, clusterId).location);
    if (rule.origin === 'cache-access' && heldRuleIds && !heldRuleIds.has(rule.id)) {
      await attempt('revoke unheld rule', () => revokeUnheld(deps, rule, clusterId, report), rule.awsRuleId ?? `record ${rule.id}`);
    } else if (scanned.has(key) && !listed.has(rule.awsRuleId!)) {
      await attempt('check rule', () => recordExternalRemoval(deps, rule, clusterId, report), rule.awsRuleId);
    }
  }
}

async function placesOfTargetGroups(deps: UseCaseDeps): Promise<Map<string, Place>> {
  const places = new Map<string, Place>();
  for (const { securityGroupId, clusterId, location: recorded } of await deps.store.targetGroups()) {
    const { location, verified } = recordedLocation(deps, recorded, clusterId);
    const key = locationKey(location);
    if (!places.has(key)) places.set(key, { location, verified, groups: new Map() });
    places.get(key)!.groups.set(securityGroupId, clusterId);
  }
  return places;
}

function describePlace(location: AwsLocation): string {
  return [location.region ?? 'the default region', location.roleArn ? `as ${location.roleArn}` : 'with the bot’s own credentials'].join(' ');
}

/** Rules that carry cache-access tags but that no live record accounts for: left over from a crash. */
async function revokeOrphans(deps: UseCaseDeps, tagged: LocatedRule[], live: RuleRecord[], attempt: Attempt, report: ReconcileReport) {
  const known = new Set(live.map((rule) => rule.awsRuleId));
  for (const rule of tagged) {
    if (known.has(rule.awsRuleId)) continue;
    const grant = rule.grantId === undefined ? undefined : await deps.store.get(rule.grantId);
    // Its grant job is still running, or will run again: it adopts the rule it made.
    if (grant?.status === 'approved') continue;
    await attempt('revoke orphan rule', async () => {
      await deps.firewall.revoke(rule.securityGroupId, rule.awsRuleId, rule.location);
      report.orphansRevoked.push(rule.awsRuleId);
      deps.logger.warn({ awsRuleId: rule.awsRuleId, securityGroupId: rule.securityGroupId, grantId: rule.grantId }, 'orphan rule revoked');
      if (grant) {
        await deps.store.recordEvent(grant.id, {
          at: deps.clock.now(),
          actor: 'system',
          type: 'orphan-rule-revoked',
          detail: { awsRuleId: rule.awsRuleId, securityGroupId: rule.securityGroupId },
        });
      }
    }, rule.awsRuleId);
  }
}

/**
 * A rule cache-access made that no approved or active grant holds (its grant failed or ended while the
 * records said otherwise, say after a database error): removed, unless the store finds a holder after all.
 */
async function revokeUnheld(deps: UseCaseDeps, rule: RuleRecord, clusterId: string, report: ReconcileReport) {
  if (await deps.store.releaseRule(rule.id) !== 'remove') return;
  await removeRule(deps, rule, clusterId);
  report.unheldRulesRevoked.push(rule.awsRuleId ?? `record ${rule.id}`);
  deps.logger.warn({ awsRuleId: rule.awsRuleId, securityGroupId: rule.securityGroupId }, 'rule no grant holds revoked');
}

/** A rule the database holds as in place that AWS no longer has where it was made: someone removed it by hand. */
async function recordExternalRemoval(deps: UseCaseDeps, rule: RuleRecord, clusterId: string, report: ReconcileReport) {
  if (rule.state !== 'in-place' || rule.origin !== 'cache-access' || !rule.awsRuleId) return;
  const { location, verified } = recordedLocation(deps, rule.location, clusterId);
  // Not listed by tag: confirm by id, since someone may have removed only the tags.
  if (await deps.firewall.ruleExists(rule.securityGroupId, rule.awsRuleId, location)) return;
  if (!verified && !(await groupIsWhereRecorded(deps, rule, location))) {
    throw new Error(`rule ${rule.awsRuleId} is not in ${rule.securityGroupId} where its location was guessed; it is not taken as removed`);
  }
  const now = deps.clock.now();
  await deps.store.markRuleRemoved(rule.id, now);
  for (const holder of await deps.store.holdersOf(rule.id)) {
    if (holder.status !== 'active') continue;
    const { next, effects } = transition(holder, { type: 'revoke', by: 'aws' }, now);
    await deps.store.save(next, [{ at: now, actor: 'system', type: 'revoked-externally', detail: { awsRuleId: rule.awsRuleId } }]);
    report.revokedExternally.push(holder.id);
    await applyEffects(deps, next, effects, EXTERNAL_REMOVAL_NOTE);
  }
}
