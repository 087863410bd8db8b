/**
 * Paths where access used to outlive its grant (issue 12): a database error after AWS added the rule, an
 * early end asked for while Redis was down, an extension approved after the end was due, one failing
 * account or rule stopping the whole reconcile pass. Use cases run directly against a real SQLite store
 * and the AWS adapters over the fake account; the queue is a recording fake of the Scheduler port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AwsClientPool } from '../../src/adapters/aws/client-pool.js';
import { Ec2Firewall } from '../../src/adapters/aws/ec2-firewall.js';
import { ElastiCacheDirectory } from '../../src/adapters/aws/elasticache-directory.js';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import { activate } from '../../src/app/activate.js';
import type { UseCaseDeps } from '../../src/app/deps.js';
import { decideExtension, requestExtension } from '../../src/app/extend.js';
import type { GrantStore, Scheduler } from '../../src/app/ports.js';
import { reconcile } from '../../src/app/reconcile.js';
import { requestRevocation } from '../../src/app/request-revocation.js';
import { ConflictError, UpstreamError } from '../../src/domain/errors.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { AccessRequest, NewAccessRequest } from '../../src/domain/request.js';
import { parsePolicy } from '../../src/policy.js';
import { ec2Client, elastiCacheClient } from '../fixtures/aws/sdk.js';
import { ec2Error, FakeAwsAccount } from '../fakes/aws-account.js';
import { noSessionEnding, RecordingNotifier, RecordingScheduler } from '../fakes/recording-ports.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';
import { requestDraft } from '../support/request-fixtures.js';

const T0 = new Date('2026-11-26T12:00:00Z');
const attempt = { attemptsMade: 0, finalAttempt: false };
const POLICY = 'clusters:\n  - match: "orders-*"\n    approvers: [U0BOB]\n    minDuration: 1m\n    maxTotal: 1d\n';

let dir: string;
let database: OpenedDatabase;
let store: SqliteGrantStore;
let aws: FakeAwsAccount;
let scheduler: RecordingScheduler;
let clock: { now: Date };
let deps: UseCaseDeps;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cache-access-paths-'));
  database = openDatabase(join(dir, 'db.sqlite'));
  store = new SqliteGrantStore(database.db);
  aws = new FakeAwsAccount();
  addRedisClusters(aws);
  scheduler = new RecordingScheduler();
  clock = { now: T0 };
  const policy = parsePolicy(POLICY);
  const home = { ec2: ec2Client(), elasticache: elastiCacheClient() };
  // Started without STS, as a misconfigured deployment would be: a role's place cannot be reached.
  const clients = new AwsClientPool(home);
  deps = {
    store,
    firewall: new Ec2Firewall({ ec2: home.ec2, clients }),
    directory: new ElastiCacheDirectory({ ...home, clients }),
    ...noSessionEnding(),
    people: { expandApprovers: async (principals: string[]) => principals },
    notifier: new RecordingNotifier(),
    scheduler,
    clock: { now: () => clock.now },
    policy: () => policy,
    logger: pino({ level: 'silent' }),
  };
});

afterEach(() => {
  aws.restore();
  database.close();
  rmSync(dir, { recursive: true, force: true });
});

async function approvedRequest(overrides: Partial<NewAccessRequest> = {}): Promise<AccessRequest> {
  const { request } = await store.create(
    requestDraft({ createdAt: T0, targetGroupId: TARGET_GROUP, source: { kind: 'security-group', groupId: SOURCE_GROUP }, ...overrides }),
    { at: T0, actor: 'U0ALICE', type: 'requested', detail: { durationSeconds: 3600, reason: 'test' } },
  );
  const { next } = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, T0);
  await store.save(next, [{ at: T0, actor: 'U0BOB', type: 'approved' }]);
  return next;
}

async function activeGrant(): Promise<AccessRequest> {
  const { id } = await approvedRequest();
  await activate(deps, id, attempt);
  return (await store.get(id))!;
}

/** The real store, except that its next save of a request becoming `status` fails as a busy database would. */
function failingOnceOn(status: AccessRequest['status']): GrantStore {
  let armed = true;
  return Object.assign(Object.create(store) as GrantStore, {
    async save(next: AccessRequest, events: Parameters<GrantStore['save']>[1]) {
      if (armed && next.status === status) {
        armed = false;
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      }
      await store.save(next, events);
    },
  });
}

describe('a database error after AWS added the rule', () => {
  test('retries the grant job instead of failing the grant, and the retry activates it on the same rule', async () => {
    const { id } = await approvedRequest();

    await expect(activate({ ...deps, store: failingOnceOn('active') }, id, attempt)).rejects.toThrow('database is locked');
    expect((await store.get(id))!.status).toBe('approved');
    expect(aws.rules.size).toBe(1);

    await activate(deps, id, { attemptsMade: 1, finalAttempt: false });
    expect((await store.get(id))!.status).toBe('active');
    expect(aws.rules.size).toBe(1);
  });

  test('a rule recorded in place that no grant holds any more is revoked by the reconciler', async () => {
    const { id } = await approvedRequest();
    await activate({ ...deps, store: failingOnceOn('active') }, id, attempt).catch(() => {});
    // The grant ended without ever holding its rule (as an older version recorded such a failure).
    const approved = (await store.get(id))!;
    await store.save(transition(approved, { type: 'fail', code: 'InternalError', message: 'database is locked' }, T0).next, []);
    expect(await store.liveRules()).toHaveLength(1);
    const [awsRuleId] = aws.rules.keys();

    const report = await reconcile(deps);

    expect(report.unheldRulesRevoked).toEqual([awsRuleId]);
    expect(aws.rules.size).toBe(0);
    expect(await store.liveRules()).toEqual([]);
    expect(report.errors).toEqual([]);
  });
});

describe('an early end', () => {
  test('asked for while Redis was down is due now for the reconciler, not at the original expiry', async () => {
    const grant = await activeGrant();
    const redisDown: Scheduler = Object.assign(Object.create(scheduler) as Scheduler, {
      scheduleRevoke: () => Promise.reject(new UpstreamError('redis', 'CONNECT_TIMEOUT', 'Redis did not answer', true)),
    });
    await expect(requestRevocation({ ...deps, scheduler: redisDown }, { requestId: grant.id, by: 'U0ALICE' })).rejects.toThrow(UpstreamError);
    clock.now = new Date(T0.getTime() + 60_000);

    const report = await reconcile(deps);

    expect(report.overdueRevokes).toEqual([grant.id]);
    expect(scheduler.revokeAt.get(grant.id)).toEqual(clock.now);
  });

  test('is not postponed by an extension: none is asked for, nor approved, once the end was asked for', async () => {
    const grant = await activeGrant();
    const waiting = await requestExtension(deps, { requestId: grant.id, userId: 'U0REQUESTER', seconds: 3600 });
    expect(waiting.until.getTime()).toBeGreaterThan(grant.expiresAt!.getTime());
    await requestRevocation(deps, { requestId: grant.id, by: 'U0REQUESTER' });

    await expect(decideExtension(deps, { requestId: grant.id, userId: 'U0BOB', decision: 'approve' })).rejects.toThrow(ConflictError);
    await expect(requestExtension(deps, { requestId: grant.id, userId: 'U0REQUESTER', seconds: 3600 })).rejects.toThrow(ConflictError);
    expect((await store.get(grant.id))!.expiresAt).toEqual(grant.expiresAt);
  });

  test('an extension is refused once the expiry has passed, while the revocation is still under way', async () => {
    const grant = await activeGrant();
    clock.now = new Date(grant.expiresAt!.getTime() + 1_000);

    await expect(requestExtension(deps, { requestId: grant.id, userId: 'U0REQUESTER', seconds: 3600 })).rejects.toThrow(ConflictError);
  });
});

describe('one failure does not stop the reconcile pass', () => {
  const tagged = (grantId: number) => [{ Key: 'cache-access:grant-id', Value: String(grantId) }];

  test('an account whose role cannot be assumed, and an orphan whose revoke is refused, leave the rest repaired', async () => {
    // A grant in another account, listed first (its group sorts first): its role cannot be assumed here.
    await approvedRequest({ targetGroupId: 'sg-0000000000000000b', location: { region: 'eu-west-1', roleArn: 'arn:aws:iam::210987654321:role/cache-access', known: true } });
    await approvedRequest();
    const refused = aws.addManualRule(TARGET_GROUP, 6379, SOURCE_GROUP, tagged(98));
    const removed = aws.addManualRule(TARGET_GROUP, 6380, SOURCE_GROUP, tagged(99));
    aws.failNext('RevokeSecurityGroupIngress', 1, () => ec2Error('UnauthorizedOperation', 403, 'You are not authorized to perform this operation.'));

    const report = await reconcile(deps);

    expect(report.orphansRevoked).toEqual([removed]);
    expect([...aws.rules.keys()]).toEqual([refused]);
    expect(report.errors.map(({ step, item }) => ({ step, item }))).toEqual([
      { step: 'list tagged rules', item: 'eu-west-1 as arn:aws:iam::210987654321:role/cache-access' },
      { step: 'revoke orphan rule', item: refused },
    ]);
  });
});
