/**
 * The same job delivered twice at once (a stalled job retried while the first run is alive, two
 * workers racing) has one effect: one rule, one activation, one end, one message each. Use cases run
 * directly against a real SQLite store and the EC2 firewall adapter over the fake AWS account.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { Ec2Firewall } from '../../src/adapters/aws/ec2-firewall.js';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import { activate } from '../../src/app/activate.js';
import type { UseCaseDeps } from '../../src/app/deps.js';
import { revokeExpired } from '../../src/app/revoke.js';
import { transition } from '../../src/domain/lifecycle.js';
import { parsePolicy } from '../../src/policy.js';
import { ec2Client } from '../fixtures/aws/sdk.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { RecordingNotifier, RecordingScheduler } from '../fakes/recording-ports.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';
import { requestDraft } from '../support/request-fixtures.js';

const T0 = new Date('2026-11-26T12:00:00Z');
const attempt = { attemptsMade: 0, finalAttempt: false };

let dir: string;
let database: OpenedDatabase;
let aws: FakeAwsAccount;
let notifier: RecordingNotifier;
let clock: { now: Date };
let deps: UseCaseDeps;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cache-access-twice-'));
  database = openDatabase(join(dir, 'db.sqlite'));
  aws = new FakeAwsAccount();
  addRedisClusters(aws);
  notifier = new RecordingNotifier();
  clock = { now: T0 };
  const policy = parsePolicy('clusters:\n  - match: "orders-*"\n    approvers: [U0BOB]\n');
  deps = {
    store: new SqliteGrantStore(database.db),
    firewall: new Ec2Firewall({ ec2: ec2Client() }),
    notifier,
    scheduler: new RecordingScheduler(),
    clock: { now: () => clock.now },
    policy: () => policy,
    logger: pino({ level: 'silent' }),
  } as unknown as UseCaseDeps; // directory and people are not used by these jobs
});

afterEach(() => {
  aws.restore();
  database.close();
  rmSync(dir, { recursive: true, force: true });
});

function approvedRequest(): number {
  const { request } = deps.store.create(
    requestDraft({ createdAt: T0, targetGroupId: TARGET_GROUP, source: { kind: 'security-group', groupId: SOURCE_GROUP }, durationSeconds: 60 }),
    { at: T0, actor: 'U0ALICE', type: 'requested' },
  );
  const { next } = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, T0);
  deps.store.save(next, [{ at: T0, actor: 'U0BOB', type: 'approved' }]);
  return request.id;
}

const eventsOf = (id: number, type: string) => deps.store.history(id).filter((e) => e.type === type);

test('a grant job delivered twice at once adds one rule and activates once', async () => {
  const id = approvedRequest();
  await Promise.all([activate(deps, id, attempt), activate(deps, id, attempt)]);

  expect(deps.store.get(id)?.status).toBe('active');
  expect(aws.rules.size).toBe(1);
  expect(eventsOf(id, 'activated')).toHaveLength(1);
  expect(notifier.told.filter((t) => t.status === 'active')).toHaveLength(1);

  await activate(deps, id, attempt); // and once more, later: nothing to do
  expect(aws.callsOf('AuthorizeSecurityGroupIngress').length).toBeLessThanOrEqual(2);
  expect(eventsOf(id, 'activated')).toHaveLength(1);
});

test('a revoke job delivered twice at once removes the rule and records the end once', async () => {
  const id = approvedRequest();
  await activate(deps, id, attempt);
  clock.now = new Date(deps.store.get(id)!.expiresAt!.getTime() + 10);

  await Promise.all([revokeExpired(deps, id, attempt), revokeExpired(deps, id, attempt)]);

  expect(deps.store.get(id)?.status).toBe('expired');
  expect(aws.rules.size).toBe(0);
  expect(eventsOf(id, 'expired')).toHaveLength(1);
  expect(notifier.told.filter((t) => t.status === 'expired')).toHaveLength(1);
});
