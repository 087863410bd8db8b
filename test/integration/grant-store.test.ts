import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import type { RuleRecord, RuleSpec } from '../../src/app/ports.js';
import { ConflictError, NotFoundError } from '../../src/domain/errors.js';
import { transition, type LifecycleEvent } from '../../src/domain/lifecycle.js';
import type { AccessRequest, NewAccessRequest } from '../../src/domain/request.js';
import { requestDraft } from '../support/request-fixtures.js';

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

describe('SqliteGrantStore', () => {
  let dir: string;
  let path: string;
  let opened: OpenedDatabase;
  let store: SqliteGrantStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-store-'));
    path = join(dir, 'cache-access.db');
    opened = openDatabase(path);
    store = new SqliteGrantStore(opened.db);
  });
  afterEach(() => {
    opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const count = (table: string) => opened.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get();

  /** A stored request that has been approved (what the grant job picks up). */
  function approvedRequest(overrides: Partial<NewAccessRequest> = {}): AccessRequest {
    const { request } = store.create(draft(overrides), created);
    const approved = { ...request, status: 'approved' as const, approvedAt: at(1), version: request.version + 1 };
    store.save(approved, []);
    return approved;
  }

  /** The grant job's first step for `request`: a pending rule record linked to it. */
  function intend(request: AccessRequest, spec: RuleSpec = ruleSpec): { rule: RuleRecord; request: AccessRequest } {
    const rule = store.recordRuleIntent({ ...request, version: request.version + 1 }, spec, [ruleRequested]);
    return { rule, request: store.get(request.id)! };
  }

  /** A new approved request that puts `spec` in place under its own (cache-access) rule record. */
  function ruleInPlace(awsRuleId: string, spec: RuleSpec = ruleSpec): { rule: RuleRecord; holder: AccessRequest } {
    const { rule, request } = intend(approvedRequest(), spec);
    store.markRuleInPlace(rule.id, awsRuleId, 'cache-access');
    return { rule: store.getRule(rule.id)!, holder: request };
  }

  /** Activates an approved request on `ruleId` (its own rule, or one it shares). */
  function activate(request: AccessRequest, ruleId: number): AccessRequest {
    const active = transition(request, { type: 'activate', ruleRecordId: ruleId }, at(10)).next;
    store.save(active, []);
    return active;
  }

  /** A new grant that shares the in-place rule `ruleId` and is active on it. */
  const sharer = (ruleId: number) => activate(approvedRequest(), ruleId);

  function end(request: AccessRequest, event: LifecycleEvent = { type: 'expire' }): AccessRequest {
    const { next } = transition(request, event, at(100));
    store.save(next, []);
    return next;
  }

  describe('create and get', () => {
    it('round-trips a security-group request with no optional fields as a new pending request', () => {
      const { request, created: isNew } = store.create(draft(), created);

      expect(isNew).toBe(true);
      expect(request).toEqual({ ...draft(), id: request.id, status: 'pending', approvals: [], version: 1 });
      expect(store.get(request.id)).toEqual(request);
    });

    it('round-trips a CIDR request with every optional field set', () => {
      const { rule } = intend(approvedRequest());
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

      const { request } = store.create(full, created);

      expect(store.get(request.id)).toEqual({ ...full, id: request.id, status: 'pending', approvals: [], version: 1 });
      expect(store.get(request.id)?.expiresAt?.getTime()).toBe(at(7203).getTime());
    });

    it('returns undefined for an unknown id', () => {
      expect(store.get(12345)).toBeUndefined();
    });

    it('records the first event', () => {
      const { request } = store.create(draft(), created);
      expect(store.history(request.id)).toEqual([{ ...created, requestId: request.id }]);
    });

    it('stores a redelivered command once and returns the stored request', () => {
      const first = store.create(draft(), created, 'trigger-1');
      const again = store.create(draft({ reason: 'redelivery' }), created, 'trigger-1');
      const other = store.create(draft(), created, 'trigger-2');

      expect(again).toEqual({ request: first.request, created: false });
      expect(other.created).toBe(true);
      expect(other.request.id).not.toBe(first.request.id);
      expect(count('requests')).toBe(2);
      expect(store.history(first.request.id)).toHaveLength(1);
    });

    it('returns the current state of a deduplicated request, not the draft', () => {
      const first = store.create(draft(), created, 'trigger-1');
      const { next } = transition(first.request, { type: 'cancel', by: 'U0REQUESTER' }, at(5));
      store.save(next, []);

      expect(store.create(draft(), created, 'trigger-1').request).toEqual(next);
    });
  });

  describe('save', () => {
    it('persists the new state, new approvals and the events, in order', () => {
      const { request } = store.create(draft(), created);
      const first = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
      store.save(first, [{ at: at(10), actor: 'U0ALICE', type: 'extension-approval-added' }]);
      const second = transition(first, { type: 'approve', by: 'U0BOB', selfApproval: false }, at(20)).next;
      store.save(second, [
        { at: at(20), actor: 'U0BOB', type: 'revoke-requested', detail: { reason: 'lgtm' } },
        { at: at(20), actor: 'system', type: 'approved' },
      ]);

      expect(store.get(request.id)).toEqual(second);
      expect(store.get(request.id)).toMatchObject({
        status: 'approved',
        approvedAt: at(20),
        version: 3,
        approvals: [
          { userId: 'U0ALICE', at: at(10) },
          { userId: 'U0BOB', at: at(20) },
        ],
      });
      expect(count('approvals')).toBe(2);
      expect(store.history(request.id).map((e) => [e.type, e.actor, e.detail])).toEqual([
        ['requested', 'U0REQUESTER', { durationSeconds: 3600, reason: 'slash-command' }],
        ['extension-approval-added', 'U0ALICE', undefined],
        ['revoke-requested', 'U0BOB', { reason: 'lgtm' }],
        ['approved', 'system', undefined],
      ]);
    });

    it('clears fields the new state no longer has', () => {
      const { rule } = intend(approvedRequest());
      const { request } = store.create(draft({ endedBy: 'U0X', ruleRecordId: rule.id }), created);
      store.save({ ...request, endedBy: undefined, ruleRecordId: undefined, version: 2 }, []);

      const stored = store.get(request.id)!;
      expect(stored.endedBy).toBeUndefined();
      expect(stored.ruleRecordId).toBeUndefined();
    });

    it('rejects a save from a stale version and changes nothing', () => {
      const { request } = store.create(draft(), created);
      const winner = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
      const loser = transition(request, { type: 'deny', by: 'U0BOB' }, at(11)).next;
      store.save(winner, [{ at: at(10), actor: 'U0ALICE', type: 'approved' }]);

      expect(() => store.save(loser, [{ at: at(11), actor: 'U0BOB', type: 'denied' }])).toThrow(ConflictError);
      expect(store.get(request.id)).toEqual(winner);
      expect(store.history(request.id).map((e) => e.type)).toEqual(['requested', 'approved']);
    });

    it('rolls back the approvals of a rejected save', () => {
      const { request } = store.create(draft(), created);
      store.save({ ...request, version: 2 }, []);
      const stale = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;

      expect(() => store.save(stale, [])).toThrow(ConflictError);
      expect(count('approvals')).toBe(0);
    });

    it('throws NotFoundError for a request that was never stored', () => {
      const { request } = store.create(draft(), created);
      expect(() => store.save({ ...request, id: request.id + 100, version: 2 }, [])).toThrow(NotFoundError);
    });
  });

  describe('findByStatus', () => {
    it('returns the requests in that status, oldest first, with their approvals', () => {
      const a = store.create(draft(), created).request;
      const b = store.create(draft({ clusterId: 'carts-valkey' }), created).request;
      const c = store.create(draft({ clusterId: 'sessions' }), created).request;
      const approvedOnce = transition(c, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
      store.save(approvedOnce, []);
      store.save(transition(b, { type: 'deny', by: 'U0BOB' }, at(10)).next, []);

      expect(store.findByStatus('pending')).toEqual([a, approvedOnce]);
      expect(store.findByStatus('denied').map((r) => r.id)).toEqual([b.id]);
      expect(store.findByStatus('active')).toEqual([]);
    });
  });

  describe('message refs', () => {
    it('stores refs per request in order and ignores a ref recorded twice', () => {
      const one = store.create(draft(), created).request;
      const two = store.create(draft(), created).request;
      const approval = { requestId: one.id, kind: 'approval' as const, channel: 'C0APPROVERS', ts: '1700000000.000100' };
      const dm = { requestId: one.id, kind: 'requester' as const, channel: 'D0ANA', ts: '1700000000.000200' };

      store.addMessageRefs([approval, dm]);
      store.addMessageRefs([approval]);
      store.addMessageRefs([{ requestId: two.id, kind: 'approval', channel: 'C0APPROVERS', ts: '1700000001.000100' }]);
      store.addMessageRefs([]);

      expect(store.messageRefs(one.id)).toEqual([approval, dm]);
      expect(store.messageRefs(two.id)).toHaveLength(1);
      expect(store.messageRefs(9999)).toEqual([]);
    });
  });

  describe('recordEvent', () => {
    it('appends to the history without changing the request or its version', () => {
      const request = approvedRequest();
      const warning = { at: at(30), actor: 'system', type: 'revocation-overdue', detail: { code: 'RequestLimitExceeded' } } as const;

      store.recordEvent(request.id, warning);

      expect(store.get(request.id)).toEqual(request);
      expect(store.history(request.id).at(-1)).toEqual({ ...warning, requestId: request.id });
      // The version did not move: a writer holding the request can still save it.
      expect(() => store.save({ ...request, version: request.version + 1 }, [])).not.toThrow();
    });
  });

  describe('recordRuleIntent', () => {
    it('stores a pending cache-access rule and links it to the saved request, with the events', () => {
      const request = approvedRequest();

      const rule = store.recordRuleIntent({ ...request, version: request.version + 1 }, ruleSpec, [ruleRequested]);

      // The rule is recorded where its request says the cluster lives.
      expect(rule).toEqual({ ...ruleSpec, id: rule.id, location: request.location, origin: 'cache-access', state: 'pending', createdAt: at(5) });
      expect(store.getRule(rule.id)).toEqual(rule);
      expect(store.get(request.id)).toEqual({ ...request, ruleRecordId: rule.id, version: request.version + 1 });
      expect(store.history(request.id).at(-1)).toEqual({ ...ruleRequested, requestId: request.id });
    });

    it('stores nothing when another writer saved the request first', () => {
      const request = approvedRequest();
      const winner = transition(request, { type: 'cancel', by: 'U0REQUESTER' }, at(4)).next;
      store.save(winner, []);
      const historyBefore = store.history(request.id);

      expect(() =>
        store.recordRuleIntent({ ...request, version: request.version + 1 }, ruleSpec, [ruleRequested]),
      ).toThrow(ConflictError);
      expect(count('ingress_rules')).toBe(0);
      expect(store.get(request.id)).toEqual(winner);
      expect(store.history(request.id)).toEqual(historyBefore);
    });

    it('stores no rule for a request that was never stored', () => {
      const request = approvedRequest();
      expect(() =>
        store.recordRuleIntent({ ...request, id: request.id + 100, version: 3 }, ruleSpec, [ruleRequested]),
      ).toThrow(NotFoundError);
      expect(count('ingress_rules')).toBe(0);
    });
  });

  describe('ingress rules', () => {
    it('goes from pending to in place to removed', () => {
      const { rule } = intend(approvedRequest());

      store.markRuleInPlace(rule.id, 'sgr-0123456789abcdef0', 'cache-access');
      expect(store.getRule(rule.id)).toEqual({ ...rule, state: 'in-place', awsRuleId: 'sgr-0123456789abcdef0' });

      store.markRuleRemoved(rule.id, at(60));
      expect(store.getRule(rule.id)).toEqual({
        ...rule,
        state: 'removed',
        awsRuleId: 'sgr-0123456789abcdef0',
        removedAt: at(60),
      });
    });

    it('keeps the first removal time when removed again', () => {
      const { rule } = intend(approvedRequest());
      store.markRuleRemoved(rule.id, at(60));
      store.markRuleRemoved(rule.id, at(120));
      expect(store.getRule(rule.id)?.removedAt).toEqual(at(60));
    });

    it('records a rule found already in place as pre-existing, from a security group source', () => {
      const spec: RuleSpec = { ...ruleSpec, source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' } };
      const { rule } = intend(approvedRequest(), spec);

      store.markRuleInPlace(rule.id, 'sgr-0aaaaaaaaaaaaaaaa', 'pre-existing');

      expect(store.getRule(rule.id)).toEqual({
        ...rule,
        source: spec.source,
        state: 'in-place',
        awsRuleId: 'sgr-0aaaaaaaaaaaaaaaa',
        origin: 'pre-existing',
      });
    });

    it('lets several grants hold one rule', () => {
      const { rule } = ruleInPlace('sgr-0123456789abcdef0');
      const ids = [sharer(rule.id), sharer(rule.id)].map((active) => active.id);

      expect(ids.map((id) => store.get(id)?.ruleRecordId)).toEqual([rule.id, rule.id]);
      expect(store.get(ids[0]!)?.expiresAt).toEqual(at(10 + 7200));
    });

    it('reports unknown rules', () => {
      expect(store.getRule(4242)).toBeUndefined();
      expect(() => store.markRuleInPlace(4242, 'sgr-0123456789abcdef0', 'cache-access')).toThrow(NotFoundError);
      expect(() => store.markRuleRemoved(4242, T0)).toThrow(NotFoundError);
      expect(() => store.releaseRule(4242, 1)).toThrow(NotFoundError);
    });
  });

  describe('findLiveRule', () => {
    it('finds an in-place rule with exactly the spec, and nothing that differs in any field', () => {
      const { rule } = ruleInPlace('sgr-0123456789abcdef0');

      expect(store.findLiveRule({ ...ruleSpec })).toEqual(rule);
      for (const other of [
        { ...ruleSpec, securityGroupId: 'sg-0cccccccccccccccc' },
        { ...ruleSpec, port: 6380 },
        { ...ruleSpec, source: { kind: 'cidr', cidr: '10.1.2.0/25' } },
        { ...ruleSpec, source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' } },
      ] satisfies RuleSpec[]) {
        expect(store.findLiveRule(other), JSON.stringify(other)).toBeUndefined();
      }
    });

    it('tells the source kinds apart even when their values are equal', () => {
      const value = 'sg-0bbbbbbbbbbbbbbbb';
      ruleInPlace('sgr-0123456789abcdef0', { ...ruleSpec, source: { kind: 'security-group', groupId: value } });
      expect(store.findLiveRule({ ...ruleSpec, source: { kind: 'cidr', cidr: value } })).toBeUndefined();
    });

    it('ignores rules that are pending, being removed or removed', () => {
      intend(approvedRequest());
      expect(store.findLiveRule(ruleSpec)).toBeUndefined();

      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      expect(store.releaseRule(rule.id, holder.id)).toBe('remove');
      expect(store.findLiveRule(ruleSpec)).toBeUndefined();

      store.markRuleRemoved(rule.id, at(60));
      expect(store.findLiveRule(ruleSpec)).toBeUndefined();
    });

    it('finds a pre-existing rule too', () => {
      const { rule } = intend(approvedRequest());
      store.markRuleInPlace(rule.id, 'sgr-0123456789abcdef0', 'pre-existing');
      expect(store.findLiveRule(ruleSpec)?.id).toBe(rule.id);
    });
  });

  describe('findRuleByAwsId', () => {
    it('finds the record with that AWS id while it is in place or being removed, not once removed', () => {
      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      expect(store.findRuleByAwsId('sgr-0123456789abcdef0')).toEqual(rule);
      expect(store.findRuleByAwsId('sgr-0ffffffffffffffff')).toBeUndefined();

      store.releaseRule(rule.id, holder.id);
      expect(store.findRuleByAwsId('sgr-0123456789abcdef0')).toEqual({ ...rule, state: 'removing' });

      store.markRuleRemoved(rule.id, at(60));
      expect(store.findRuleByAwsId('sgr-0123456789abcdef0')).toBeUndefined();
    });

    it('skips a removed record in favour of a live one with the same AWS id', () => {
      const old = ruleInPlace('sgr-0123456789abcdef0').rule;
      store.markRuleRemoved(old.id, at(60));
      const current = ruleInPlace('sgr-0123456789abcdef0').rule;

      expect(store.findRuleByAwsId('sgr-0123456789abcdef0')?.id).toBe(current.id);
    });
  });

  describe('releaseRule', () => {
    it('says shared while another active grant holds the rule, and leaves it in place', () => {
      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      const first = activate(holder, rule.id);
      const second = sharer(rule.id);

      expect(store.releaseRule(rule.id, first.id)).toBe('shared');
      expect(store.getRule(rule.id)?.state).toBe('in-place');
      end(first);

      expect(store.releaseRule(rule.id, second.id)).toBe('remove');
    });

    it('counts an approved grant that is still putting the rule in place as a holder', () => {
      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      const active = sharer(rule.id);

      expect(holder.status).toBe('approved');
      expect(store.releaseRule(rule.id, active.id)).toBe('shared');
    });

    it('does not count grants that have ended', () => {
      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      end(activate(holder, rule.id));
      end(sharer(rule.id), { type: 'revoke', by: 'U0ADMIN' });
      const last = sharer(rule.id);

      expect(store.releaseRule(rule.id, last.id)).toBe('remove');
    });

    it('says remove for the last holder, marks the rule removing, and says so again on a retry', () => {
      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      const active = activate(holder, rule.id);

      expect(store.releaseRule(rule.id, active.id)).toBe('remove');
      expect(store.getRule(rule.id)).toEqual({ ...rule, state: 'removing' });
      // A revoke job retried after a failed AWS call must still remove the rule.
      expect(store.releaseRule(rule.id, active.id)).toBe('remove');
    });

    it('says keep for a pre-existing rule and never marks it for removal', () => {
      const { rule, request } = intend(approvedRequest());
      store.markRuleInPlace(rule.id, 'sgr-0123456789abcdef0', 'pre-existing');
      const active = activate(request, rule.id);

      expect(store.releaseRule(rule.id, active.id)).toBe('keep');
      expect(store.getRule(rule.id)?.state).toBe('in-place');
    });

    it('says gone when the rule is already removed', () => {
      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      const active = activate(holder, rule.id);
      store.markRuleRemoved(rule.id, at(60));

      expect(store.releaseRule(rule.id, active.id)).toBe('gone');
      expect(store.getRule(rule.id)?.state).toBe('removed');
    });
  });

  describe('holdersOf', () => {
    it('lists the approved and active grants on the rule, oldest first, and no others', () => {
      const { rule, holder } = ruleInPlace('sgr-0123456789abcdef0');
      const active = sharer(rule.id);
      end(sharer(rule.id));
      ruleInPlace('sgr-0ffffffffffffffff', { ...ruleSpec, port: 6380 });
      approvedRequest();

      expect(store.holdersOf(rule.id)).toEqual([holder, active]);
      expect(store.holdersOf(4242)).toEqual([]);
    });
  });

  describe('liveRules', () => {
    it('lists the rules in place or being removed, in creation order', () => {
      intend(approvedRequest());
      const removing = ruleInPlace('sgr-0000000000000000a', { ...ruleSpec, port: 6380 });
      const removed = ruleInPlace('sgr-0000000000000000b', { ...ruleSpec, port: 6381 }).rule;
      const inPlace = ruleInPlace('sgr-0000000000000000c').rule;
      store.releaseRule(removing.rule.id, removing.holder.id);
      store.markRuleRemoved(removed.id, at(60));

      expect(store.liveRules()).toEqual([{ ...removing.rule, state: 'removing' }, inPlace]);
    });

    it('is empty with no rules', () => {
      expect(store.liveRules()).toEqual([]);
    });
  });

  describe('targetGroups', () => {
    it('lists each (security group, cluster) pair any request has targeted once, whatever its status', () => {
      expect(store.targetGroups()).toEqual([]);
      store.create(draft({ targetGroupId: 'sg-0cccccccccccccccc' }), created);
      end(approvedRequest({ targetGroupId: 'sg-0aaaaaaaaaaaaaaaa' }), { type: 'cancel', by: 'U0REQUESTER' });
      approvedRequest({ targetGroupId: 'sg-0aaaaaaaaaaaaaaaa' });

      const { clusterId, location } = draft();
      expect(store.targetGroups()).toEqual([
        { securityGroupId: 'sg-0aaaaaaaaaaaaaaaa', clusterId, location },
        { securityGroupId: 'sg-0cccccccccccccccc', clusterId, location },
      ]);
    });
  });

  describe('break-glass grants', () => {
    /** A request its requester opened by break-glass at `createdAt`. */
    function brokenGlass(overrides: Partial<NewAccessRequest> = {}): AccessRequest {
      const { request } = store.create(draft(overrides), created);
      const { next } = transition(request, { type: 'break-glass', by: request.requesterId }, request.createdAt);
      store.save(next, [{ at: request.createdAt, actor: request.requesterId, type: 'break-glass', detail: { policyMatch: 'orders-*' } }]);
      return next;
    }

    it('keeps the review, and finds one person\'s since a time and those still unreviewed', async () => {
      approvedRequest();
      const old = brokenGlass({ createdAt: at(-90_000) });
      const recent = brokenGlass({ createdAt: at(100) });
      const others = brokenGlass({ requesterId: 'U0OTHER', createdAt: at(200) });
      const { next: reviewed } = transition(recent, { type: 'review', by: 'U0APPROVER' }, at(300));
      store.save(reviewed, [{ at: at(300), actor: 'U0APPROVER', type: 'break-glass-reviewed' }]);

      expect(store.get(recent.id)?.breakGlass).toEqual({ reviewedBy: { userId: 'U0APPROVER', at: at(300) } });
      expect(store.get(old.id)?.breakGlass).toEqual({});
      expect((await store.breakGlassSince('U0REQUESTER', at(0))).map((r) => r.id)).toEqual([recent.id]);
      expect((await store.breakGlassSince('U0REQUESTER', at(-100_000))).map((r) => r.id)).toEqual([old.id, recent.id]);
      expect((await store.unreviewedBreakGlass()).map((r) => r.id)).toEqual([old.id, others.id]);
    });
  });

  it('keeps everything across close and reopen', () => {
    const { request } = store.create(draft(), created, 'trigger-1');
    const approved = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
    store.save(approved, [{ at: at(10), actor: 'U0ALICE', type: 'approved' }]);
    const { rule } = intend(approved);
    const ref = { requestId: request.id, kind: 'approval' as const, channel: 'C0APPROVERS', ts: '1700000000.000100' };
    store.addMessageRefs([ref]);
    const historyBefore = store.history(request.id);
    opened.close();

    opened = openDatabase(path);
    store = new SqliteGrantStore(opened.db);

    const intended = { ...approved, ruleRecordId: rule.id, version: approved.version + 1 };
    expect(store.get(request.id)).toEqual(intended);
    expect(store.history(request.id)).toEqual(historyBefore);
    expect(store.getRule(rule.id)).toEqual(rule);
    expect(store.messageRefs(request.id)).toEqual([ref]);
    expect(store.create(draft(), created, 'trigger-1')).toEqual({ request: intended, created: false });
  });
});
