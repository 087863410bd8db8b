/**
 * Shutdown of the real program (the compiled dist/main.js as a child process) with a grant job in
 * flight: EC2 over HTTP holds AuthorizeSecurityGroupIngress open while SIGTERM or SIGINT arrives.
 * Real SQLite, real Redis (a database of its own: the program uses the default queue prefix), the
 * fake Slack Web API.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase } from '../../src/adapters/db/open.js';
import { BullmqScheduler } from '../../src/adapters/queue/bullmq-scheduler.js';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { transition } from '../../src/domain/lifecycle.js';
import { buildProgram, startProgram, testAwsEnv, type BuiltProgram, type RunningProgram } from '../fakes/built-program.js';
import { startFakeEc2, type FakeEc2 } from '../fakes/fake-ec2-server.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack-server.js';
import { redisDatabase } from '../support/redis-database.js';
import { requestDraft } from '../support/request-fixtures.js';

/** src/main.ts's SHUTDOWN_TIMEOUT_MS: how long stop() lets running jobs finish. */
const DRAIN_BOUND_MS = 10_000;
/** The drain bound plus time to close everything else and exit. */
const EXIT_BOUND_MS = DRAIN_BOUND_MS + 5_000;

const POLICY = `clusters:\n  - match: "orders-*"\n    approvers: [U0APPROVER]\n`;
const REQUESTER = 'U0REQUESTER';

describe('shutdown with a job in flight', () => {
  let program: BuiltProgram;
  let dir: string;
  let databasePath: string;
  let ec2: FakeEc2;
  let slack: FakeSlack;
  let running: RunningProgram | undefined;
  // Database 4 of the run's Redis: no other test file uses it.
  const redisUrl = redisDatabase(inject('redisUrl'), 4);
  const queue = new Queue(QUEUE_NAME, { connection: { url: redisUrl } });

  beforeAll(async () => {
    program = await buildProgram();
  }, 180_000);
  afterAll(async () => {
    await queue.close();
    program?.remove();
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-shutdown-'));
    databasePath = join(dir, 'cache-access.db');
    writeFileSync(join(dir, 'policy.yml'), POLICY);
    ec2 = await startFakeEc2();
    slack = await startFakeSlack();
    await queue.obliterate({ force: true });
  });
  afterEach(async () => {
    if (running?.child.exitCode === null) running.child.kill('SIGKILL');
    running = undefined;
    await ec2.close();
    await slack.close();
    await queue.obliterate({ force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  /** An approved request with its grant job enqueued, as the approval click leaves it. */
  async function approvedRequestWithGrantJob(): Promise<number> {
    const database = openDatabase(databasePath);
    const store = new SqliteGrantStore(database.db);
    const now = new Date();
    const { request } = await store.create(
      requestDraft({ requesterId: REQUESTER, source: { kind: 'cidr', cidr: '10.1.2.0/24' }, reason: 'shutdown test', createdAt: now }),
      { at: now, actor: REQUESTER, type: 'requested', detail: { durationSeconds: 3600, reason: 'shutdown test' } },
    );
    const { next } = transition(request, { type: 'approve', by: 'U0APPROVER', selfApproval: false }, now);
    await store.save(next, [{ at: now, actor: 'U0APPROVER', type: 'approved' }]);
    // Closed before the program starts, so that its clean close is the last one (see the WAL check).
    database.close();
    const scheduler = new BullmqScheduler({ url: redisUrl });
    await scheduler.scheduleGrant(request.id);
    await scheduler.close();
    return request.id;
  }

  function start(): RunningProgram {
    return startProgram(join(program.dist, 'main.js'), [], {
      SLACK_BOT_TOKEN: 'xoxb-shutdown-test',
      SLACK_SIGNING_SECRET: 'shutdown-test-secret',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DATABASE_PATH: databasePath,
      REDIS_URL: redisUrl,
      POLICY_FILE: join(dir, 'policy.yml'),
      LOG_LEVEL: 'info',
      ...testAwsEnv(dir),
      AWS_ENDPOINT_URL: ec2.url,
    });
  }

  async function readBack(requestId: number) {
    const database = openDatabase(databasePath);
    try {
      const store = new SqliteGrantStore(database.db);
      const request = (await store.get(requestId))!;
      return { request, rule: request.ruleRecordId === undefined ? undefined : await store.getRule(request.ruleRecordId) };
    } finally {
      database.close();
    }
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: lets the running grant finish, closes SQLite and Redis, and exits 0`, async () => {
      const requestId = await approvedRequestWithGrantJob();
      const authorizeArrived = ec2.holdAuthorize();
      running = start();
      await Promise.all([authorizeArrived, running.logged('cache-access started')]);

      running.child.kill(signal);
      await running.logged('shutting down');
      // Only now does AWS answer: the job was in flight for the whole start of the shutdown.
      ec2.releaseAuthorize();

      expect(await running.exited(EXIT_BOUND_MS)).toBe(0);
      await running.logged('stopped');
      // SQLite removes the write-ahead log when the last connection closes cleanly.
      expect(existsSync(`${databasePath}-wal`)).toBe(false);
      // The drained job finished its work: rule recorded in place, grant active, its effects done.
      const [awsRule] = [...ec2.rules.values()];
      const { request, rule } = await readBack(requestId);
      expect(request.status).toBe('active');
      expect(rule).toMatchObject({ state: 'in-place', awsRuleId: awsRule!.ruleId, origin: 'cache-access' });
      expect(awsRule!.tags['cache-access:grant-id']).toBe(String(requestId));
      expect(await queue.getJobState(`revoke-${requestId}`)).toBe('delayed');
      expect(slack.callsTo('conversations.open').map((call) => call.body.users)).toEqual([REQUESTER]);
      expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    }, 60_000);
  }

  it('SIGTERM with AWS hanging past the drain bound: exits 0 anyway, leaving the grant approved with a pending rule to retry', async () => {
    const requestId = await approvedRequestWithGrantJob();
    const authorizeArrived = ec2.holdAuthorize();
    running = start();
    await Promise.all([authorizeArrived, running.logged('cache-access started')]);

    running.child.kill('SIGTERM');

    expect(await running.exited(EXIT_BOUND_MS)).toBe(0);
    await running.logged('queue workers did not stop in time; disconnecting from Redis');
    expect(existsSync(`${databasePath}-wal`)).toBe(false);
    // The intent was recorded before AWS was called, so nothing is lost: the grant is still approved
    // and its pending rule record names the exact rule. The job stays in Redis and runs again once its
    // lock expires (and the reconciler re-enqueues approved grants); that run finds AWS's rule, tagged
    // with this grant's id, and adopts it rather than adding a second one.
    const { request, rule } = await readBack(requestId);
    expect(request.status).toBe('approved');
    expect(rule).toMatchObject({ state: 'pending', securityGroupId: 'sg-0aaaaaaaaaaaaaaaa', port: 6379 });
    expect(await queue.getJobState(`grant-${requestId}`)).not.toBe('unknown');
  }, 60_000);
});
