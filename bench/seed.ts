/**
 * Records grants straight through the GrantStore (no Slack): a history of ended grants and a number of
 * active ones whose rules are in place, as a long-running installation would have. Grants are recorded
 * SEED_LANES at a time: on PostgreSQL each step is a round trip, and one at a time 10,000 grants took minutes.
 */
import type { GrantStore, RuleSpec } from '../src/app/ports.js';
import type { AccessRequest } from '../src/domain/request.js';
import { clusterName, groupOf, type InMemoryAws } from './in-memory-aws.js';
import { APPROVER } from './slack-driver.js';
import { runPool } from './stats.js';

/** Below the PostgreSQL store's pool of 10 connections. */
const SEED_LANES = 8;

export async function seedGrants(store: GrantStore, aws: InMemoryAws, total: number, active: number): Promise<void> {
  const now = Date.now();
  await runPool(total, SEED_LANES, async (i) => {
    const clusterId = clusterName(i);
    const cidr = `10.200.${(i >> 8) & 255}.${i & 255}/32`;
    const createdAt = new Date(now - (total - i) * 60_000);
    const { request } = await store.create(
      {
        requesterId: `U0SEED${i}`,
        requesterName: `seed${i}`,
        clusterId,
        engine: 'redis',
        endpoint: `${clusterId}.abc123.euw1.cache.amazonaws.com`,
        port: 6379,
        vpcId: 'vpc-0bench000',
        targetGroupId: groupOf(clusterId),
        source: { kind: 'cidr', cidr },
        durationSeconds: 3600,
        reason: 'seeded',
        policyMatch: 'bench-*',
        approvalsRequired: 1,
        createdAt,
      },
      { at: createdAt, actor: `U0SEED${i}`, type: 'requested', detail: { durationSeconds: 3600, reason: 'seeded' } },
    );
    const approved: AccessRequest = {
      ...request,
      status: 'approved',
      approvals: [{ userId: APPROVER, at: createdAt }],
      approvedAt: createdAt,
      version: 2,
    };
    await store.save(approved, [{ at: createdAt, actor: APPROVER, type: 'approved' }]);
    const spec: RuleSpec = { securityGroupId: approved.targetGroupId, protocol: 'tcp', port: 6379, source: approved.source };
    const rule = await store.recordRuleIntent({ ...approved, version: 3 }, spec, [{ at: createdAt, actor: 'system', type: 'rule-requested', detail: spec }]);
    const isActive = i >= total - active;
    const activatedAt = isActive ? new Date(now) : createdAt;
    const expiresAt = new Date(activatedAt.getTime() + 3_600_000);
    const awsRuleId = isActive ? aws.seedRule(spec, request.id) : `sgr-seeded${String(i).padStart(8, '0')}`;
    await store.markRuleInPlace(rule.id, awsRuleId, 'cache-access');
    const activeGrant: AccessRequest = { ...approved, status: 'active', ruleRecordId: rule.id, activatedAt, expiresAt, version: 4 };
    await store.save(activeGrant, [
      { at: activatedAt, actor: 'system', type: 'activated', detail: { awsRuleId, origin: 'cache-access', sharedWith: [], expiresAt: expiresAt.toISOString() } },
    ]);
    if (isActive) return;
    await store.releaseRule(rule.id, request.id);
    await store.markRuleRemoved(rule.id, expiresAt);
    await store.save({ ...activeGrant, status: 'expired', endedAt: expiresAt, endedBy: 'system', version: 5 }, [
      { at: expiresAt, actor: 'system', type: 'expired', detail: { outcome: 'removed' } },
    ]);
  });
}
