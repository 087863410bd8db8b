/**
 * What the grant and revoke jobs run against when a test calls their use cases directly: a real SQLite
 * store with the migrations, the EC2 firewall adapter over a fake AWS account, recording Slack and queue
 * ports, and a clock the test sets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Ec2Firewall } from '../../src/adapters/aws/ec2-firewall.js';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase } from '../../src/adapters/db/open.js';
import type { UseCaseDeps } from '../../src/app/deps.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { parsePolicy } from '../../src/policy.js';
import { ec2Client } from '../fixtures/aws/sdk.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { RecordingNotifier, RecordingScheduler } from '../fakes/recording-ports.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from './redis-clusters.js';
import { requestDraft } from './request-fixtures.js';

export const T0 = new Date('2026-11-26T12:00:00Z');

export interface JobWorld {
  deps: UseCaseDeps;
  aws: FakeAwsAccount;
  notifier: RecordingNotifier;
  clock: { now: Date };
  /** A request for `durationSeconds` of access to orders-redis, approved at T0. */
  approvedRequest(durationSeconds: number): Promise<AccessRequest>;
  close(): void;
}

export function openJobWorld(): JobWorld {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-jobs-'));
  const database = openDatabase(join(dir, 'db.sqlite'));
  const aws = new FakeAwsAccount();
  addRedisClusters(aws);
  const notifier = new RecordingNotifier();
  const clock = { now: T0 };
  const policy = parsePolicy('clusters:\n  - match: "orders-*"\n    approvers: [U0BOB]\n');
  const store = new SqliteGrantStore(database.db);
  const deps = {
    store,
    firewall: new Ec2Firewall({ ec2: ec2Client() }),
    notifier,
    scheduler: new RecordingScheduler(),
    clock: { now: () => clock.now },
    policy: () => policy,
    logger: pino({ level: 'silent' }),
  } as unknown as UseCaseDeps; // directory and people are not used by these jobs
  return {
    deps,
    aws,
    notifier,
    clock,
    async approvedRequest(durationSeconds) {
      const { request } = await store.create(
        requestDraft({ createdAt: T0, targetGroupId: TARGET_GROUP, source: { kind: 'security-group', groupId: SOURCE_GROUP }, durationSeconds }),
        { at: T0, actor: 'U0ALICE', type: 'requested', detail: { durationSeconds, reason: 'test' } },
      );
      const { next } = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, T0);
      await store.save(next, [{ at: T0, actor: 'U0BOB', type: 'approved' }]);
      return next;
    },
    close() {
      aws.restore();
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
