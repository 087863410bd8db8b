/**
 * Records as a team's SQLite file holds them after a while, written through the store's own API: requests in
 * every kind of state (pending, denied, expired, revoked, failed, active, break-glass
 * reviewed and not), approvals, Slack message references, events with JSON details and with none, some delivered
 * to the audit webhook and some not, JSON facts and a peered source, null columns.
 */
import type { AuditOutbox, GrantFacts, GrantStore, NewHistoryEvent } from '../../src/app/ports.js';
import { transition, type LifecycleEvent } from '../../src/domain/lifecycle.js';
import type { AccessRequest, NewAccessRequest } from '../../src/domain/request.js';
import { requestDraft } from './request-fixtures.js';

const T0 = new Date('2026-11-02T09:15:30.123Z');
/** T0 plus some seconds, with milliseconds that a lossy copy would lose. */
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000 + 7);

const FACTS: GrantFacts = {
  accountId: '123456789012',
  region: 'eu-west-1',
  exposure: { otherClusters: ['orders-valkey'], otherInterfaces: [] },
  headroom: 3,
  connection: { tls: true, auth: 'rbac', clusterMode: false },
  endsSessions: true,
  ticket: { id: 'OPS-1234', url: 'https://tickets.example.com/OPS-1234' },
};

export interface PopulatedRecords {
  requestIds: number[];
  ruleIds: number[];
}

export async function populateRecords(store: GrantStore, outbox: AuditOutbox): Promise<PopulatedRecords> {
  const ids: number[] = [];
  const rules: number[] = [];

  async function requested(seconds: number, overrides: Partial<NewAccessRequest> & { facts?: GrantFacts } = {}, dedupeKey?: string): Promise<AccessRequest> {
    const draft = requestDraft({ createdAt: at(seconds), ...overrides });
    const event: NewHistoryEvent = { at: at(seconds), actor: draft.requesterId, type: 'requested', detail: { durationSeconds: draft.durationSeconds, reason: draft.reason } };
    const { request } = await store.create(draft, event, dedupeKey);
    ids.push(request.id);
    return request;
  }

  async function step(request: AccessRequest, event: LifecycleEvent, seconds: number, recorded: NewHistoryEvent[]): Promise<AccessRequest> {
    const { next } = transition(request, event, at(seconds));
    await store.save(next, recorded);
    return next;
  }

  async function activated(request: AccessRequest, seconds: number): Promise<AccessRequest> {
    const spec = { securityGroupId: request.targetGroupId, protocol: 'tcp' as const, port: request.port, source: request.source };
    const rule = await store.recordRuleIntent({ ...request, version: request.version + 1 }, spec, [{ at: at(seconds), actor: 'system', type: 'rule-requested', detail: spec }]);
    rules.push(rule.id);
    await store.markRuleInPlace(rule.id, `sgr-0${String(rule.id).padStart(16, '0')}`, 'cache-access');
    return step((await store.get(request.id))!, { type: 'activate', ruleRecordId: rule.id }, seconds, [
      { at: at(seconds), actor: 'system', type: 'activated', detail: { origin: 'cache-access', sharedWith: [] } },
    ]);
  }

  // Pending, with facts, a peered source, a dedupe key and messages.
  const pending = await requested(0, {
    facts: FACTS,
    source: { kind: 'security-group', groupId: 'sg-0peer000000000001', peering: { accountId: '210987654321', vpcId: 'vpc-0peer', peeringConnectionId: 'pcx-0abc' } } as NewAccessRequest['source'],
  }, 'trigger-1');
  await store.addMessageRefs([
    { requestId: pending.id, kind: 'approval', channel: 'C0APPROVERS', ts: '1764000000.000100' },
    { requestId: pending.id, kind: 'requester', channel: 'D0REQUESTER', ts: '1764000000.000200' },
  ]);

  // Two approvals, active, then revoked by an operator; its rule removed.
  let revoked = await requested(10, { approvalsRequired: 2, reason: 'checkout, "slow" again\nsecond line', clusterId: 'orders-valkey', engine: 'valkey' });
  revoked = await step(revoked, { type: 'approve', by: 'U0APPROVER1', selfApproval: false }, 11, [{ at: at(11), actor: 'U0APPROVER1', type: 'approved' }]);
  revoked = await step(revoked, { type: 'approve', by: 'U0APPROVER2', selfApproval: false }, 12, [{ at: at(12), actor: 'U0APPROVER2', type: 'approved' }]);
  revoked = await activated(revoked, 13);
  const revokedRule = revoked.ruleRecordId!;
  revoked = await step(revoked, { type: 'revoke', by: 'operator:olga' }, 20, [{ at: at(20), actor: 'operator:olga', type: 'revoked', detail: { outcome: 'removed', reason: 'incident' } }]);
  await store.releaseRule(revokedRule, revoked.id);
  await store.markRuleRemoved(revokedRule, at(21));

  // Denied.
  const denied = await requested(30, { source: { kind: 'cidr', cidr: '10.1.2.0/24' } });
  await step(denied, { type: 'deny', by: 'U0APPROVER1' }, 31, [{ at: at(31), actor: 'U0APPROVER1', type: 'denied' }]);

  // Approved, then failed.
  let failed = await requested(40, { location: undefined });
  failed = await step(failed, { type: 'approve', by: 'U0APPROVER1', selfApproval: false }, 41, [{ at: at(41), actor: 'U0APPROVER1', type: 'approved' }]);
  await step(failed, { type: 'fail', code: 'RULE_LIMIT', message: 'The security group holds 60 rules.' }, 42, [
    { at: at(42), actor: 'system', type: 'failed', detail: { code: 'RULE_LIMIT', message: 'The security group holds 60 rules.' } },
  ]);

  // Break-glass, active, not reviewed; and break-glass, reviewed, expired.
  let open = await requested(50, { facts: FACTS });
  open = await step(open, { type: 'break-glass', by: open.requesterId }, 50, [{ at: at(50), actor: open.requesterId, type: 'break-glass', detail: { policyMatch: 'orders-*' } }]);
  await activated(open, 51);
  let reviewed = await requested(60, { requesterId: 'U0OTHER', clusterId: 'orders-other', targetGroupId: 'sg-0ccccccccccccccccc' });
  reviewed = await step(reviewed, { type: 'break-glass', by: reviewed.requesterId }, 60, [{ at: at(60), actor: reviewed.requesterId, type: 'break-glass', detail: { policyMatch: 'orders-*' } }]);
  reviewed = await activated(reviewed, 61);
  reviewed = await step(reviewed, { type: 'review', by: 'U0APPROVER2' }, 62, [{ at: at(62), actor: 'U0APPROVER2', type: 'break-glass-reviewed' }]);
  reviewed = await step(reviewed, { type: 'expire' }, 70, [{ at: at(70), actor: 'system', type: 'expired', detail: { outcome: 'removed' } }]);
  await store.releaseRule(reviewed.ruleRecordId!, reviewed.id);
  await store.markRuleRemoved(reviewed.ruleRecordId!, at(70));

  // Some events delivered to the audit webhook, the rest still in the outbox.
  for (const event of await outbox.undelivered(revoked.id, 3)) await outbox.markDelivered(event.id, at(80));
  for (const event of await outbox.undelivered(denied.id, 100)) await outbox.markDelivered(event.id, at(81));

  return { requestIds: ids, ruleIds: rules };
}
