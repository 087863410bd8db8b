/**
 * The GrantStore contract: every engine (SQLite, PostgreSQL) passes the same tests, each on a fresh database.
 * Races between processes are in grant-store-races.test.ts (PostgreSQL) and break-glass-sqlite-processes.test.ts.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { GrantStore, RuleRecord, RuleSpec } from '../../src/app/ports.js';
import { ConflictError, NotFoundError } from '../../src/domain/errors.js';
import { transition, type LifecycleEvent } from '../../src/domain/lifecycle.js';
import type { AccessRequest, NewAccessRequest } from '../../src/domain/request.js';
import { requestDraft } from '../support/request-fixtures.js';
import { openStoreUnderTest, type StoreEngine, type StoreUnderTest } from '../support/store-engines.js';

const T0 = new Date('2026-03-01T10:00:00.123Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** Two approvals, so that the approval tests have a partly approved state to store. */
const draft = (overrides: Partial<NewAccessRequest> = {}): NewAccessRequest =>
  requestDraft({ approvalsRequired: 2, createdAt: T0, ...overrides });

const created = { at: T0, actor: 'U0REQUESTER', type: 'requested', detail: { durationSeconds: 3600, reason: 'slash-command' } } as const;

const ruleSpec: RuleSpec = {
  securityGroupId: 'sg-0aaaaaaaaaaaaaaaa',
  protocol: 'tcp',
  port: 6379,
  source: { kind: 'cidr', cidr: '10.1.2.0/24' },
};

const ruleRequested = { at: at(5), actor: 'system', type: 'rule-requested', detail: ruleSpec } as const;

describe.each<StoreEngine>(['sqlite', 'postgres'])('GrantStore on %s', (engine) => {
  let opened: StoreUnderTest;
  let store: GrantStore;

  beforeEach(async () => {
    opened = await openStoreUnderTest(engine, inject('postgresUrl'));
    store = opened.store;
  });
  afterEach(() => opened.close());

  const count = (table: string) => opened.count(table);

  /** A stored request that has been approved (what the grant job picks up). */
  async function approvedRequest(overrides: Partial<NewAccessRequest> = {}): Promise<AccessRequest> {
    const { request } = await store.create(draft(overrides), created);
    const approved = { ...request, status: 'approved' as const, approvedAt: at(1), version: request.version + 1 };
    await store.save(approved, []);
    return approved;
  }

  /** The grant job's first step for `request`: a pending rule record linked to it. */
  async function intend(request: AccessRequest, spec: RuleSpec = ruleSpec): Promise<{ rule: RuleRecord; request: AccessRequest }> {
    const rule = await store.recordRuleIntent({ ...request, version: request.version + 1 }, spec, [ruleRequested]);
    return { rule, request: (await store.get(request.id))! };
  }

  /** A new approved request that puts `spec` in place under its own (cache-access) rule record. */
  async function ruleInPlace(awsRuleId: string, spec: RuleSpec = ruleSpec): Promise<{ rule: RuleRecord; holder: AccessRequest }> {
    const { rule, request } = await intend(await approvedRequest(), spec);
    await store.markRuleInPlace(rule.id, awsRuleId, 'cache-access');
    return { rule: (await store.getRule(rule.id))!, holder: request };
  }

  /** Activates an approved request on `ruleId` (its own rule, or one it shares). */
  async function activate(request: AccessRequest, ruleId: number): Promise<AccessRequest> {
    const active = transition(request, { type: 'activate', ruleRecordId: ruleId }, at(10)).next;
    await store.save(active, []);
    return active;
  }

  /** A new grant that shares the in-place rule `ruleId` and is active on it. */
  const sharer = async (ruleId: number) => await activate(await approvedRequest(), ruleId);

  async function end(request: AccessRequest, event: LifecycleEvent = { type: 'expire' }): Promise<AccessRequest> {
    const { next } = transition(request, event, at(100));
    await store.save(next, []);
    return next;
  }

  describe('create and get', () => {
    it('round-trips a security-group request with no optional fields as a new pending request', async () => {
      const { request, created: isNew } = await store.create(draft(), created);

      expect(isNew).toBe(true);
      expect(request).toEqual({ ...draft(), id: request.id, status: 'pending', approvals: [], version: 1 });
      expect(await store.get(request.id)).toEqual(request);
    });

    it('round-trips a CIDR request with every optional field set', async () => {
      const { rule } = await intend(await approvedRequest());
      const full = draft({
        engine: 'valkey',
        source: { kind: 'cidr', cidr: '10.1.2.0/24' },
        deniedBy: { userId: 'U0DENIER', at: at(1) },
        approvedAt: at(2),
        activatedAt: at(3),
        expiresAt: at(7203),
        endedAt: at(4),
        endedBy: 'U0ENDER',
        failure: { code: 'InvalidPermission.Malformed', message: 'bad rule' },
        ruleRecordId: rule.id,
      });

      const { request } = await store.create(full, created);

      expect(await store.get(request.id)).toEqual({ ...full, id: request.id, status: 'pending', approvals: [], version: 1 });
      expect((await store.get(request.id))?.expiresAt?.getTime()).toBe(at(7203).getTime());
    });

    it('returns undefined for an unknown id', async () => {
      expect(await store.get(12345)).toBeUndefined();
    });

    it('records the first event', async () => {
      const { request } = await store.create(draft(), created);
      expect(await store.history(request.id)).toEqual([{ ...created, requestId: request.id }]);
    });

    it('stores a redelivered command once and returns the stored request', async () => {
      const first = await store.create(draft(), created, 'trigger-1');
      const again = await store.create(draft({ reason: 'redelivery' }), created, 'trigger-1');
      const other = await store.create(draft(), created, 'trigger-2');

      expect(again).toEqual({ request: first.request, created: false });
      expect(other.created).toBe(true);
      expect(other.request.id).not.toBe(first.request.id);
      expect(await count('requests')).toBe(2);
      expect(await store.history(first.request.id)).toHaveLength(1);
    });

    it('returns the current state of a deduplicated request, not the draft', async () => {
      const first = await store.create(draft(), created, 'trigger-1');
      const { next } = transition(first.request, { type: 'cancel', by: 'U0REQUESTER' }, at(5));
      await store.save(next, []);

      expect((await store.create(draft(), created, 'trigger-1')).request).toEqual(next);
    });
  });

  describe('save', () => {
    it('persists the new state, new approvals and the events, in order', async () => {
      const { request } = await store.create(draft(), created);
      const first = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
      await store.save(first, [{ at: at(10), actor: 'U0ALICE', type: 'extension-approval-added' }]);
      const second = transition(first, { type: 'approve', by: 'U0BOB', selfApproval: false }, at(20)).next;
      await store.save(second, [
        { at: at(20), actor: 'U0BOB', type: 'revoke-requested', detail: { reason: 'lgtm' } },
        { at: at(20), actor: 'system', type: 'approved' },
      ]);

      expect(await store.get(request.id)).toEqual(second);
      expect(await store.get(request.id)).toMatchObject({
        status: 'approved',
        approvedAt: at(20),
        version: 3,
        approvals: [
          { userId: 'U0ALICE', at: at(10) },
          { userId: 'U0BOB', at: at(20) },
        ],
      });
      expect(await count('approvals')).toBe(2);
      expect((await store.history(request.id)).map((e) => [e.type, e.actor, e.detail])).toEqual([
        ['requested', 'U0REQUESTER', { durationSeconds: 3600, reason: 'slash-command' }],
        ['extension-approval-added', 'U0ALICE', undefined],
        ['revoke-requested', 'U0BOB', { reason: 'lgtm' }],
        ['approved', 'system', undefined],
      ]);
    });

    it('clears fields the new state no longer has', async () => {
      const { rule } = await intend(await approvedRequest());
      const { request } = await store.create(draft({ endedBy: 'U0X', ruleRecordId: rule.id }), created);
      await store.save({ ...request, endedBy: undefined, ruleRecordId: undefined, version: 2 }, []);

      const stored = (await store.get(request.id))!;
      expect(stored.endedBy).toBeUndefined();
      expect(stored.ruleRecordId).toBeUndefined();
    });

    it('rejects a save from a stale version and changes nothing', async () => {
      const { request } = await store.create(draft(), created);
      const winner = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
      const loser = transition(request, { type: 'deny', by: 'U0BOB' }, at(11)).next;
      await store.save(winner, [{ at: at(10), actor: 'U0ALICE', type: 'approved' }]);

      await expect(store.save(loser, [{ at: at(11), actor: 'U0BOB', type: 'denied' }])).rejects.toThrow(ConflictError);
      expect(await store.get(request.id)).toEqual(winner);
      expect((await store.history(request.id)).map((e) => e.type)).toEqual(['requested', 'approved']);
    });

    it('rolls back the approvals of a rejected save', async () => {
      const { request } = await store.create(draft(), created);
      await store.save({ ...request, version: 2 }, []);
      const stale = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;

      await expect(store.save(stale, [])).rejects.toThrow(ConflictError);
      expect(await count('approvals')).toBe(0);
    });

    it('throws NotFoundError for a request that was never stored', async () => {
      const { request } = await store.create(draft(), created);
      await expect(store.save({ ...request, id: request.id + 100, version: 2 }, [])).rejects.toThrow(NotFoundError);
    });
  });

  describe('findByStatus', () => {
    it('returns the requests in that status, oldest first, with their approvals', async () => {
      const a = (await store.create(draft(), created)).request;
      const b = (await store.create(draft({ clusterId: 'carts-valkey' }), created)).request;
      const c = (await store.create(draft({ clusterId: 'sessions' }), created)).request;
      const approvedOnce = transition(c, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
      await store.save(approvedOnce, []);
      await store.save(transition(b, { type: 'deny', by: 'U0BOB' }, at(10)).next, []);

      expect(await store.findByStatus('pending')).toEqual([a, approvedOnce]);
      expect((await store.findByStatus('denied')).map((r) => r.id)).toEqual([b.id]);
      expect(await store.findByStatus('active')).toEqual([]);
    });
  });

  describe('message refs', () => {
    it('stores refs per request in order and ignores a ref recorded twice', async () => {
      const one = (await store.create(draft(), created)).request;
      const two = (await store.create(draft(), created)).request;
      const approval = { requestId: one.id, kind: 'approval' as const, channel: 'C0APPROVERS', ts: '1700000000.000100' };
      const dm = { requestId: one.id, kind: 'requester' as const, channel: 'D0ANA', ts: '1700000000.000200' };

      await store.addMessageRefs([approval, dm]);
      await store.addMessageRefs([approval]);
      await store.addMessageRefs([{ requestId: two.id, kind: 'approval', channel: 'C0APPROVERS', ts: '1700000001.000100' }]);
      await store.addMessageRefs([]);

      expect(await store.messageRefs(one.id)).toEqual([approval, dm]);
      expect(await store.messageRefs(two.id)).toHaveLength(1);
      expect(await store.messageRefs(9999)).toEqual([]);
    });
  });

  describe('recordEvent', () => {
    it('appends to the history without changing the request or its version', async () => {
      const request = await approvedRequest();
      const warning = { at: at(30), actor: 'system', type: 'revocation-overdue', detail: { code: 'RequestLimitExceeded' } } as const;

      await store.recordEvent(request.id, warning);

      expect(await store.get(request.id)).toEqual(request);
      expect((await store.history(request.id)).at(-1)).toEqual({ ...warning, requestId: request.id });
      // The version did not move: a writer holding the request can still save it.
      await expect(store.save({ ...request, version: request.version + 1 }, [])).resolves.toBeUndefined();
    });
  });

  describe('recordRuleIntent', () => {
    it('stores a pending cache-access rule and links it to the saved request, with the events', async () => {
      const request = await approvedRequest();

      const rule = await store.recordRuleIntent({ ...request, version: request.version + 1 }, ruleSpec, [ruleRequested]);

      // The rule is recorded where its request says the cluster lives.
      expect(rule).toEqual({ ...ruleSpec, id: rule.id, location: request.location, origin: 'cache-access', state: 'pending', createdAt: at(5) });
      expect(await store.getRule(rule.id)).toEqual(rule);
      expect(await store.get(request.id)).toEqual({ ...request, ruleRecordId: rule.id, version: request.version + 1 });
      expect((await store.history(request.id)).at(-1)).toEqual({ ...ruleRequested, requestId: request.id });
    });

    it('stores nothing when another writer saved the request first', async () => {
      const request = await approvedRequest();
      const winner = transition(request, { type: 'cancel', by: 'U0REQUESTER' }, at(4)).next;
      await store.save(winner, []);
      const historyBefore = await store.history(request.id);

      await expect(store.recordRuleIntent({ ...request, version: request.version + 1 }, ruleSpec, [ruleRequested])).rejects.toThrow(ConflictError);
      expect(await count('ingress_rules')).toBe(0);
      expect(await store.get(request.id)).toEqual(winner);
      expect(await store.history(request.id)).toEqual(historyBefore);
    });

    it('stores no rule for a request that was never stored', async () => {
      const request = await approvedRequest();
      await expect(store.recordRuleIntent({ ...request, id: request.id + 100, version: 3 }, ruleSpec, [ruleRequested])).rejects.toThrow(NotFoundError);
      expect(await count('ingress_rules')).toBe(0);
    });
  });

  describe('ingress rules', () => {
    it('goes from pending to in place to removed', async () => {
      const { rule } = await intend(await approvedRequest());

      await store.markRuleInPlace(rule.id, 'sgr-0123456789abcdef0', 'cache-access');
      expect(await store.getRule(rule.id)).toEqual({ ...rule, state: 'in-place', awsRuleId: 'sgr-0123456789abcdef0' });

      await store.markRuleRemoved(rule.id, at(60));
      expect(await store.getRule(rule.id)).toEqual({
        ...rule,
        state: 'removed',
        awsRuleId: 'sgr-0123456789abcdef0',
        removedAt: at(60),
      });
    });

    it('keeps the first removal time when removed again', async () => {
      const { rule } = await intend(await approvedRequest());
      await store.markRuleRemoved(rule.id, at(60));
      await store.markRuleRemoved(rule.id, at(120));
      expect((await store.getRule(rule.id))?.removedAt).toEqual(at(60));
    });

    it('records a rule found already in place as pre-existing, from a security group source', async () => {
      const spec: RuleSpec = { ...ruleSpec, source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' } };
      const { rule } = await intend(await approvedRequest(), spec);

      await store.markRuleInPlace(rule.id, 'sgr-0aaaaaaaaaaaaaaaa', 'pre-existing');

      expect(await store.getRule(rule.id)).toEqual({
        ...rule,
        source: spec.source,
        state: 'in-place',
        awsRuleId: 'sgr-0aaaaaaaaaaaaaaaa',
        origin: 'pre-existing',
      });
    });

    it('lets several grants hold one rule', async () => {
      const { rule } = await ruleInPlace('sgr-0123456789abcdef0');
      const ids = [(await sharer(rule.id)).id, (await sharer(rule.id)).id];

      expect((await Promise.all(ids.map((id) => store.get(id)))).map((r) => r?.ruleRecordId)).toEqual([rule.id, rule.id]);
      expect((await store.get(ids[0]!))?.expiresAt).toEqual(at(10 + 7200));
    });

    it('reports unknown rules', async () => {
      expect(await store.getRule(4242)).toBeUndefined();
      await expect(store.markRuleInPlace(4242, 'sgr-0123456789abcdef0', 'cache-access')).rejects.toThrow(NotFoundError);
      await expect(store.markRuleRemoved(4242, T0)).rejects.toThrow(NotFoundError);
      await expect(store.releaseRule(4242, 1)).rejects.toThrow(NotFoundError);
    });
  });

  describe('findLiveRule', () => {
    it('finds an in-place rule with exactly the spec, and nothing that differs in any field', async () => {
      const { rule } = await ruleInPlace('sgr-0123456789abcdef0');

      expect(await store.findLiveRule({ ...ruleSpec })).toEqual(rule);
      for (const other of [
        { ...ruleSpec, securityGroupId: 'sg-0cccccccccccccccc' },
        { ...ruleSpec, port: 6380 },
        { ...ruleSpec, source: { kind: 'cidr', cidr: '10.1.2.0/25' } },
        { ...ruleSpec, source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' } },
      ] satisfies RuleSpec[]) {
        expect(await store.findLiveRule(other), JSON.stringify(other)).toBeUndefined();
      }
    });

    it('tells the source kinds apart even when their values are equal', async () => {
      const value = 'sg-0bbbbbbbbbbbbbbbb';
      await ruleInPlace('sgr-0123456789abcdef0', { ...ruleSpec, source: { kind: 'security-group', groupId: value } });
      expect(await store.findLiveRule({ ...ruleSpec, source: { kind: 'cidr', cidr: value } })).toBeUndefined();
    });

    it('ignores rules that are pending, being removed or removed', async () => {
      await intend(await approvedRequest());
      expect(await store.findLiveRule(ruleSpec)).toBeUndefined();

      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      expect(await store.releaseRule(rule.id, holder.id)).toBe('remove');
      expect(await store.findLiveRule(ruleSpec)).toBeUndefined();

      await store.markRuleRemoved(rule.id, at(60));
      expect(await store.findLiveRule(ruleSpec)).toBeUndefined();
    });

    it('finds a pre-existing rule too', async () => {
      const { rule } = await intend(await approvedRequest());
      await store.markRuleInPlace(rule.id, 'sgr-0123456789abcdef0', 'pre-existing');
      expect((await store.findLiveRule(ruleSpec))?.id).toBe(rule.id);
    });
  });

  describe('findRuleByAwsId', () => {
    it('finds the record with that AWS id while it is in place or being removed, not once removed', async () => {
      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      expect(await store.findRuleByAwsId('sgr-0123456789abcdef0')).toEqual(rule);
      expect(await store.findRuleByAwsId('sgr-0ffffffffffffffff')).toBeUndefined();

      await store.releaseRule(rule.id, holder.id);
      expect(await store.findRuleByAwsId('sgr-0123456789abcdef0')).toEqual({ ...rule, state: 'removing' });

      await store.markRuleRemoved(rule.id, at(60));
      expect(await store.findRuleByAwsId('sgr-0123456789abcdef0')).toBeUndefined();
    });

    it('skips a removed record in favour of a live one with the same AWS id', async () => {
      const old = (await ruleInPlace('sgr-0123456789abcdef0')).rule;
      await store.markRuleRemoved(old.id, at(60));
      const current = (await ruleInPlace('sgr-0123456789abcdef0')).rule;

      expect((await store.findRuleByAwsId('sgr-0123456789abcdef0'))?.id).toBe(current.id);
    });
  });

  describe('releaseRule', () => {
    it('says shared while another active grant holds the rule, and leaves it in place', async () => {
      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      const first = await activate(holder, rule.id);
      const second = await sharer(rule.id);

      expect(await store.releaseRule(rule.id, first.id)).toBe('shared');
      expect((await store.getRule(rule.id))?.state).toBe('in-place');
      await end(first);

      expect(await store.releaseRule(rule.id, second.id)).toBe('remove');
    });

    it('counts an approved grant that is still putting the rule in place as a holder', async () => {
      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      const active = await sharer(rule.id);

      expect(holder.status).toBe('approved');
      expect(await store.releaseRule(rule.id, active.id)).toBe('shared');
    });

    it('does not count grants that have ended', async () => {
      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      await end(await activate(holder, rule.id));
      await end(await sharer(rule.id), { type: 'revoke', by: 'U0ADMIN' });
      const last = await sharer(rule.id);

      expect(await store.releaseRule(rule.id, last.id)).toBe('remove');
    });

    it('says remove for the last holder, marks the rule removing, and says so again on a retry', async () => {
      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      const active = await activate(holder, rule.id);

      expect(await store.releaseRule(rule.id, active.id)).toBe('remove');
      expect(await store.getRule(rule.id)).toEqual({ ...rule, state: 'removing' });
      // A revoke job retried after a failed AWS call must still remove the rule.
      expect(await store.releaseRule(rule.id, active.id)).toBe('remove');
    });

    it('says keep for a pre-existing rule and never marks it for removal', async () => {
      const { rule, request } = await intend(await approvedRequest());
      await store.markRuleInPlace(rule.id, 'sgr-0123456789abcdef0', 'pre-existing');
      const active = await activate(request, rule.id);

      expect(await store.releaseRule(rule.id, active.id)).toBe('keep');
      expect((await store.getRule(rule.id))?.state).toBe('in-place');
    });

    it('says gone when the rule is already removed', async () => {
      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      const active = await activate(holder, rule.id);
      await store.markRuleRemoved(rule.id, at(60));

      expect(await store.releaseRule(rule.id, active.id)).toBe('gone');
      expect((await store.getRule(rule.id))?.state).toBe('removed');
    });
  });

  describe('holdersOf', () => {
    it('lists the approved and active grants on the rule, oldest first, and no others', async () => {
      const { rule, holder } = await ruleInPlace('sgr-0123456789abcdef0');
      const active = await sharer(rule.id);
      await end(await sharer(rule.id));
      await ruleInPlace('sgr-0ffffffffffffffff', { ...ruleSpec, port: 6380 });
      await approvedRequest();

      expect(await store.holdersOf(rule.id)).toEqual([holder, active]);
      expect(await store.holdersOf(4242)).toEqual([]);
    });
  });

  describe('liveRules', () => {
    it('lists the rules in place or being removed, in creation order', async () => {
      await intend(await approvedRequest());
      const removing = await ruleInPlace('sgr-0000000000000000a', { ...ruleSpec, port: 6380 });
      const removed = (await ruleInPlace('sgr-0000000000000000b', { ...ruleSpec, port: 6381 })).rule;
      const inPlace = (await ruleInPlace('sgr-0000000000000000c')).rule;
      await store.releaseRule(removing.rule.id, removing.holder.id);
      await store.markRuleRemoved(removed.id, at(60));

      expect(await store.liveRules()).toEqual([{ ...removing.rule, state: 'removing' }, inPlace]);
    });

    it('is empty with no rules', async () => {
      expect(await store.liveRules()).toEqual([]);
    });
  });

  describe('targetGroups', () => {
    it('lists each (security group, cluster) pair any request has targeted once, whatever its status', async () => {
      expect(await store.targetGroups()).toEqual([]);
      await store.create(draft({ targetGroupId: 'sg-0cccccccccccccccc' }), created);
      await end(await approvedRequest({ targetGroupId: 'sg-0aaaaaaaaaaaaaaaa' }), { type: 'cancel', by: 'U0REQUESTER' });
      await approvedRequest({ targetGroupId: 'sg-0aaaaaaaaaaaaaaaa' });

      const { clusterId, location } = draft();
      expect(await store.targetGroups()).toEqual([
        { securityGroupId: 'sg-0aaaaaaaaaaaaaaaa', clusterId, location },
        { securityGroupId: 'sg-0cccccccccccccccc', clusterId, location },
      ]);
    });
  });

  describe('break-glass grants', () => {
    const roomy = { perDay: 100, since: at(-1_000_000) };
    const openedEvent = (when: Date) => ({ at: when, actor: 'U0REQUESTER', type: 'break-glass', detail: { policyMatch: 'orders-*' } }) as const;

    /** A request as break-glass opens it: approved at once, unreviewed. */
    const openedDraft = (overrides: Partial<NewAccessRequest> = {}) => {
      const request = draft(overrides);
      return { ...request, status: 'approved' as const, approvedAt: request.createdAt, breakGlass: {} };
    };

    /** A request its requester opened by break-glass at `createdAt`. */
    async function brokenGlass(overrides: Partial<NewAccessRequest> = {}): Promise<AccessRequest> {
      const stored = await store.createBreakGlass(openedDraft(overrides), [created, openedEvent(at(0))], roomy);
      if ('refused' in stored) throw new Error('refused under a roomy limit');
      return stored.request;
    }

    /** The ids `requesterId`'s attempt is refused for, under `perDay` since `since`; undefined when it is stored. */
    async function refusedFor(requesterId: string, perDay: number, since: Date): Promise<number[] | undefined> {
      const stored = await store.createBreakGlass(openedDraft({ requesterId, createdAt: at(400) }), [created], { perDay, since });
      return 'refused' in stored ? stored.refused.map((r) => r.id) : undefined;
    }

    it('stores the grant opened, with its events, in one step', async () => {
      const stored = await store.createBreakGlass(openedDraft(), [created, openedEvent(T0)], roomy, 'trigger-bg');
      expect(stored).toMatchObject({ created: true, request: { status: 'approved', approvedAt: T0, breakGlass: {}, version: 1 } });
      const { request } = stored as { request: AccessRequest };
      expect(await store.get(request.id)).toEqual(request);
      expect((await store.history(request.id)).map((e) => e.type)).toEqual(['requested', 'break-glass']);
      expect((await store.unreviewedBreakGlass()).map((r) => r.id)).toEqual([request.id]);
    });

    it("keeps the review, and counts one person's since a time, whatever became of them, and those still unreviewed", async () => {
      await approvedRequest();
      const old = await brokenGlass({ createdAt: at(-90_000) });
      const recent = await brokenGlass({ createdAt: at(100) });
      const others = await brokenGlass({ requesterId: 'U0OTHER', createdAt: at(200) });
      const { next: reviewed } = transition(recent, { type: 'review', by: 'U0APPROVER' }, at(300));
      await store.save(reviewed, [{ at: at(300), actor: 'U0APPROVER', type: 'break-glass-reviewed' }]);
      await end(reviewed, { type: 'cancel', by: 'U0REQUESTER' });

      expect((await store.get(recent.id))?.breakGlass).toEqual({ reviewedBy: { userId: 'U0APPROVER', at: at(300) } });
      expect((await store.get(old.id))?.breakGlass).toEqual({});
      expect(await refusedFor('U0REQUESTER', 1, at(0))).toEqual([recent.id]);
      expect(await refusedFor('U0REQUESTER', 2, at(-100_000))).toEqual([old.id, recent.id]);
      expect(await store.unreviewedBreakGlass()).toMatchObject([{ id: old.id }, { id: others.id }]);
    });

    it('stores the attempt under the limit, and nothing when refused', async () => {
      await approvedRequest();
      const first = await brokenGlass({ createdAt: at(100) });
      expect(await refusedFor('U0REQUESTER', 2, at(0))).toBeUndefined();
      expect(await refusedFor('U0REQUESTER', 2, at(0))).toEqual([first.id, first.id + 1]);
      expect(await count('requests')).toBe(3);
      expect(await count('events')).toBe(4); // requested, requested and break-glass, requested
    });

    it('answers a redelivery with the stored request, even at the limit', async () => {
      const first = await store.createBreakGlass(openedDraft(), [created], { perDay: 1, since: T0 }, 'trigger-bg');
      const again = await store.createBreakGlass(openedDraft(), [created], { perDay: 1, since: T0 }, 'trigger-bg');
      expect(again).toEqual({ ...first, created: false });
      expect(await count('requests')).toBe(1);
    });

    // On SQLite these calls would run one after another (better-sqlite3 is synchronous): its race is between
    // processes, in break-glass-sqlite-processes.test.ts.
    it.runIf(engine === 'postgres')('lets exactly perDay of many attempts at the same moment through, each from its own connection', async () => {
      const perDay = 2;
      const stores = [store, ...(await Promise.all(Array.from({ length: 7 }, () => opened.another())))];
      for (let round = 0; round < 5; round++) {
        const requesterId = `U0RACER${round}`;
        const attempts = await Promise.all(
          stores.map((each, i) => each.createBreakGlass(openedDraft({ requesterId, createdAt: at(i) }), [created], { perDay, since: at(-60) })),
        );
        expect(attempts.filter((a) => 'created' in a && a.created)).toHaveLength(perDay);
        for (const refused of attempts.filter((a) => 'refused' in a)) expect((refused as { refused: AccessRequest[] }).refused).toHaveLength(perDay);
      }
      expect(await count('requests')).toBe(5 * perDay);
    });
  });

  it('keeps everything across close and reopen', async () => {
    const { request } = await store.create(draft(), created, 'trigger-1');
    const approved = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
    await store.save(approved, [{ at: at(10), actor: 'U0ALICE', type: 'approved' }]);
    const { rule } = await intend(approved);
    const ref = { requestId: request.id, kind: 'approval' as const, channel: 'C0APPROVERS', ts: '1700000000.000100' };
    await store.addMessageRefs([ref]);
    const historyBefore = await store.history(request.id);
    store = await opened.reopen();

    const intended = { ...approved, ruleRecordId: rule.id, version: approved.version + 1 };
    expect(await store.get(request.id)).toEqual(intended);
    expect(await store.history(request.id)).toEqual(historyBefore);
    expect(await store.getRule(rule.id)).toEqual(rule);
    expect(await store.messageRefs(request.id)).toEqual([ref]);
    expect(await store.create(draft(), created, 'trigger-1')).toEqual({ request: intended, created: false });
  });
});
