import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import type { RuleSpec } from '../../src/app/ports.js';
import { ConflictError, NotFoundError } from '../../src/domain/errors.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { NewAccessRequest } from '../../src/domain/request.js';

const T0 = new Date('2026-03-01T10:00:00.123Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function draft(overrides: Partial<NewAccessRequest> = {}): NewAccessRequest {
  return {
    requesterId: 'U0REQUESTER',
    requesterName: 'ana',
    clusterId: 'orders-redis',
    engine: 'redis',
    endpoint: 'orders-redis.abc123.ng.0001.euw1.cache.amazonaws.com',
    port: 6379,
    vpcId: 'vpc-0123abcd',
    targetGroupId: 'sg-0aaaaaaaaaaaaaaaa',
    source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' },
    durationSeconds: 7200,
    reason: 'investigating checkout latency',
    policyMatch: 'orders-*',
    approvalsRequired: 2,
    createdAt: T0,
    ...overrides,
  };
}

const created = { at: T0, actor: 'U0REQUESTER', type: 'created', detail: { via: 'slash-command' } };

const ruleSpec: RuleSpec = {
  securityGroupId: 'sg-0aaaaaaaaaaaaaaaa',
  protocol: 'tcp',
  port: 6379,
  source: { kind: 'cidr', cidr: '10.1.2.0/24' },
};

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

  describe('create and get', () => {
    it('round-trips a security-group request with no optional fields as a new pending request', () => {
      const { request, created: isNew } = store.create(draft(), created);

      expect(isNew).toBe(true);
      expect(request).toEqual({ ...draft(), id: request.id, status: 'pending', approvals: [], version: 1 });
      expect(store.get(request.id)).toEqual(request);
    });

    it('round-trips a CIDR request with every optional field set', () => {
      const rule = store.createRule(ruleSpec, 'cache-access', T0);
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
      store.save(first, [{ at: at(10), actor: 'U0ALICE', type: 'approve' }]);
      const second = transition(first, { type: 'approve', by: 'U0BOB', selfApproval: false }, at(20)).next;
      store.save(second, [
        { at: at(20), actor: 'U0BOB', type: 'approve', detail: { note: 'lgtm' } },
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
        ['created', 'U0REQUESTER', { via: 'slash-command' }],
        ['approve', 'U0ALICE', undefined],
        ['approve', 'U0BOB', { note: 'lgtm' }],
        ['approved', 'system', undefined],
      ]);
    });

    it('clears fields the new state no longer has', () => {
      const rule = store.createRule(ruleSpec, 'cache-access', T0);
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
      store.save(winner, [{ at: at(10), actor: 'U0ALICE', type: 'approve' }]);

      expect(() => store.save(loser, [{ at: at(11), actor: 'U0BOB', type: 'deny' }])).toThrow(ConflictError);
      expect(store.get(request.id)).toEqual(winner);
      expect(store.history(request.id).map((e) => e.type)).toEqual(['created', 'approve']);
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

  describe('ingress rules', () => {
    it('goes from pending to in place to removed', () => {
      const rule = store.createRule(ruleSpec, 'cache-access', T0);
      expect(rule).toEqual({ ...ruleSpec, id: rule.id, origin: 'cache-access', state: 'pending', createdAt: T0 });
      expect(store.getRule(rule.id)).toEqual(rule);

      store.markRuleInPlace(rule.id, 'sgr-0123456789abcdef0');
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
      const rule = store.createRule(ruleSpec, 'cache-access', T0);
      store.markRuleRemoved(rule.id, at(60));
      store.markRuleRemoved(rule.id, at(120));
      expect(store.getRule(rule.id)?.removedAt).toEqual(at(60));
    });

    it('round-trips a pre-existing rule from a security group source', () => {
      const spec: RuleSpec = { ...ruleSpec, source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' } };
      const rule = store.createRule(spec, 'pre-existing', T0);
      expect(store.getRule(rule.id)).toMatchObject({ source: spec.source, origin: 'pre-existing' });
    });

    it('lets several grants hold one rule', () => {
      const rule = store.createRule(ruleSpec, 'cache-access', T0);
      const ids = [store.create(draft(), created).request, store.create(draft(), created).request].map((request) => {
        const approved = { ...request, status: 'approved' as const, approvedAt: at(1), version: 2 };
        store.save(approved, []);
        const active = transition(approved, { type: 'activate', ruleRecordId: rule.id }, at(2)).next;
        store.save(active, []);
        return active.id;
      });

      expect(ids.map((id) => store.get(id)?.ruleRecordId)).toEqual([rule.id, rule.id]);
      expect(store.get(ids[0]!)?.expiresAt).toEqual(at(2 + 7200));
    });

    it('reports unknown rules', () => {
      expect(store.getRule(4242)).toBeUndefined();
      expect(() => store.markRuleInPlace(4242, 'sgr-0123456789abcdef0')).toThrow(NotFoundError);
      expect(() => store.markRuleRemoved(4242, T0)).toThrow(NotFoundError);
    });
  });

  it('keeps everything across close and reopen', () => {
    const { request } = store.create(draft(), created, 'trigger-1');
    const approved = transition(request, { type: 'approve', by: 'U0ALICE', selfApproval: false }, at(10)).next;
    store.save(approved, [{ at: at(10), actor: 'U0ALICE', type: 'approve' }]);
    const rule = store.createRule(ruleSpec, 'cache-access', T0);
    const ref = { requestId: request.id, kind: 'approval' as const, channel: 'C0APPROVERS', ts: '1700000000.000100' };
    store.addMessageRefs([ref]);
    const historyBefore = store.history(request.id);
    opened.close();

    opened = openDatabase(path);
    store = new SqliteGrantStore(opened.db);

    expect(store.get(request.id)).toEqual(approved);
    expect(store.history(request.id)).toEqual(historyBefore);
    expect(store.getRule(rule.id)).toEqual(rule);
    expect(store.messageRefs(request.id)).toEqual([ref]);
    expect(store.create(draft(), created, 'trigger-1')).toEqual({ request: approved, created: false });
  });
});
