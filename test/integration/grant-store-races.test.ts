/**
 * Two processes (here two stores, each with its own connection pool) racing on one PostgreSQL database:
 * the database's own locks decide, never process memory. And replicas starting at once on an empty database.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { openPostgres } from '../../src/adapters/db/postgres/open.js';
import type { GrantStore } from '../../src/app/ports.js';
import { ConflictError } from '../../src/domain/errors.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { freshPostgresDatabase } from '../support/postgres-database.js';
import { requestDraft } from '../support/request-fixtures.js';
import { openStoreUnderTest, type StoreUnderTest } from '../support/store-engines.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const requested = { at: T0, actor: 'U0ALICE', type: 'requested', detail: { durationSeconds: 3600, reason: 'race' } } as const;
const ROUNDS = 20;

describe('GrantStore on PostgreSQL, two processes at once', () => {
  let opened: StoreUnderTest;
  let one: GrantStore;
  let two: GrantStore;

  beforeEach(async () => {
    opened = await openStoreUnderTest('postgres', inject('postgresUrl'));
    one = opened.store;
    two = await opened.another();
  });
  afterEach(() => opened.close());

  it('of two saves of the same version exactly one wins; the other gets ConflictError', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { request } = await one.create(requestDraft({ createdAt: T0 }), requested);
      const approve = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, T0).next;
      const deny = transition(request, { type: 'deny', by: 'U0CAROL' }, T0).next;
      const outcomes = await Promise.allSettled([one.save(approve, [{ at: T0, actor: 'U0BOB', type: 'approved' }]), two.save(deny, [{ at: T0, actor: 'U0CAROL', type: 'denied' }])]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const [lost] = outcomes.filter((o) => o.status === 'rejected');
      expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
      const winner = outcomes[0]!.status === 'fulfilled' ? 'approved' : 'denied';
      expect((await one.get(request.id))?.status).toBe(winner);
      expect((await two.history(request.id)).map((e) => e.type)).toEqual(['requested', winner]);
    }
  });

  it('of two creates with one dedupe key one stores the request; both answer with it', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const key = `trigger-${round}`;
      const [a, b] = await Promise.all([one.create(requestDraft({ createdAt: T0 }), requested, key), two.create(requestDraft({ createdAt: T0 }), requested, key)]);
      expect([a.created, b.created].sort()).toEqual([false, true]);
      expect(a.request.id).toBe(b.request.id);
    }
    expect(await opened.count('requests')).toBe(ROUNDS);
    expect(await opened.count('events')).toBe(ROUNDS);
  });

  it('two holders ending at once never both keep the rule: the last release removes it', async () => {
    const spec = { securityGroupId: 'sg-0aaaaaaaaaaaaaaaa', protocol: 'tcp', port: 6379, source: { kind: 'cidr', cidr: '10.1.2.0/24' } } as const;
    for (let round = 0; round < ROUNDS; round++) {
      const holders: AccessRequest[] = [];
      let ruleId: number | undefined;
      for (let i = 0; i < 2; i++) {
        const { request } = await one.create(requestDraft({ createdAt: T0 }), requested);
        const approved = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, T0).next;
        await one.save(approved, []);
        if (ruleId === undefined) {
          ruleId = (await one.recordRuleIntent({ ...approved, version: approved.version + 1 }, spec, [])).id;
          await one.markRuleInPlace(ruleId, `sgr-0race${round}`, 'cache-access');
        }
        const current = (await one.get(request.id))!;
        const active = transition(current, { type: 'activate', ruleRecordId: ruleId }, T0).next;
        await one.save(active, []);
        holders.push(active);
      }
      const end = async (store: GrantStore, holder: AccessRequest) => {
        await store.save(transition(holder, { type: 'expire' }, T0).next, []);
        return store.releaseRule(ruleId!, holder.id);
      };
      const answers = await Promise.all([end(one, holders[0]!), end(two, holders[1]!)]);
      expect(answers).toContain('remove');
      expect((await one.getRule(ruleId!))?.state).toBe('removing');
    }
  });
});

const journal = JSON.parse(readFileSync(new URL('../../migrations/postgres/meta/_journal.json', import.meta.url), 'utf8')) as {
  entries: unknown[];
};

describe('replicas starting at once on an empty PostgreSQL database', () => {
  it('all come up, and the migrations are applied once', async () => {
    const database = await freshPostgresDatabase(inject('postgresUrl'));
    try {
      const replicas = await Promise.all(Array.from({ length: 6 }, () => openPostgres(database.url)));
      const { rows } = await replicas[0]!.pool.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      const tables = await replicas[1]!.pool.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
      await Promise.all(replicas.map((replica) => replica.close()));
      expect(rows[0].n).toBe(journal.entries.length);
      expect(tables.rows[0].n).toBe(5);
    } finally {
      await database.drop();
    }
  });
});
