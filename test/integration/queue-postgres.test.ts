/**
 * The scheduler and workers on BullMQ 6's PostgreSQL backend (QUEUE_BACKEND=postgres), on the run's real
 * PostgreSQL: the guarantees queue-scheduler and queue-workers check on Redis. One database for the file,
 * one queue schema per test (the prefix).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, expect, inject, test, vi } from 'vitest';
import { openQueue, postgresSchemaOf } from '../../src/adapters/queue/backend.js';
import { BullmqScheduler } from '../../src/adapters/queue/bullmq-scheduler.js';
import { QUEUE_NAME, type JobData, type JobName } from '../../src/adapters/queue/jobs.js';
import { startWorkers, type JobHandler, type Workers } from '../../src/adapters/queue/workers.js';
import { UpstreamError } from '../../src/domain/errors.js';
import { freePort } from '../support/free-port.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { startPostgresServer } from '../support/postgres-server.js';

// Delayed jobs are due at a millisecond timestamp; allow for clock granularity only.
const TOLERANCE_MS = 20;
// A worker's first poll waits for its connections and the schema check: seconds on a loaded machine.
const WAIT = { timeout: 10_000 };

let database: PostgresDatabase;
beforeAll(async () => {
  database = await freshPostgresDatabase(inject('postgresUrl'));
});
afterAll(async () => {
  await database?.drop();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Run = { name: JobName; requestId: number; at: number };

/**
 * A scheduler, an inspecting queue and (on demand) workers on one fresh schema. Tests that time jobs make
 * one scheduler call before taking the time: the first call connects and migrates, which takes a while.
 */
function setup(options: { url?: string; connectTimeoutMs?: number } = {}) {
  const prefix = `test-${randomUUID()}`;
  const target = { postgres: { url: options.url ?? database.url } };
  const scheduler = new BullmqScheduler({ ...target, prefix, connectTimeoutMs: options.connectTimeoutMs });
  const inspector = openQueue<JobData, JobName>(QUEUE_NAME, target, prefix);
  inspector.queue.on('error', () => {}); // the outage test's dropped connections; calls report their own failures
  cleanups.push(async () => {
    await scheduler.close();
    await inspector.close(1_000);
  });
  const runs: Run[] = [];
  const record =
    (name: JobName): JobHandler =>
    async (requestId) => {
      runs.push({ name, requestId, at: Date.now() });
    };
  function work(handlers: Partial<Record<JobName, JobHandler>> = {}, concurrency?: number): Workers {
    const workers = startWorkers({
      ...target,
      prefix,
      concurrency,
      logger: pino({ level: 'silent' }),
      handlers: {
        grant: handlers.grant ?? record('grant'),
        revoke: handlers.revoke ?? record('revoke'),
        remind: handlers.remind ?? record('remind'),
        'end-sessions': handlers['end-sessions'] ?? record('end-sessions'),
        audit: handlers.audit ?? record('audit'),
      },
    });
    cleanups.push(() => workers.close(5_000));
    return workers;
  }
  return { scheduler, inspector: inspector.queue, runs, work, prefix };
}

test('jobs live in a schema of their own, with ids grant-<id> and revoke-<id>, carrying only the request id', async () => {
  const { scheduler, inspector, prefix } = setup();
  await scheduler.scheduleGrant(42);
  await scheduler.scheduleRevoke(42, new Date(Date.now() + 60_000));

  expect(await inspector.getJob('grant-42')).toMatchObject({ name: 'grant', data: { requestId: 42 } });
  expect(await inspector.getJob('revoke-42')).toMatchObject({ name: 'revoke', data: { requestId: 42 } });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT id FROM "${postgresSchemaOf(prefix)}".job ORDER BY id`);
    expect(rows.map((row: { id: string }) => row.id)).toEqual(['grant-42', 'revoke-42']);
  } finally {
    await client.end();
  }
});

test('a job added again with the same id is not duplicated and runs once; once finished it can be added again', async () => {
  const { scheduler, inspector, runs, work } = setup();
  await scheduler.scheduleGrant(7);
  await scheduler.scheduleGrant(7);
  await scheduler.ensureRevoke(7, new Date(Date.now() + 60_000));
  await scheduler.ensureRevoke(7, new Date(Date.now() + 30_000));
  expect(await inspector.getJobCountByTypes('waiting', 'prioritized')).toBe(1);
  expect(await inspector.getJobCountByTypes('delayed')).toBe(1);
  expect((await inspector.getJob('revoke-7'))?.delay).toBeGreaterThan(50_000);

  work();
  await vi.waitFor(async () => expect(await inspector.getJobState('grant-7')).toBe('unknown'), WAIT);
  expect(runs.map((run) => `${run.name}-${run.requestId}`)).toEqual(['grant-7']);

  await scheduler.scheduleGrant(7);
  await vi.waitFor(() => expect(runs).toHaveLength(2), WAIT);
});

test('end-sessions and audit jobs run there too, once each, as end-sessions-<id> and audit-<id>', async () => {
  const { scheduler, inspector, runs, work } = setup();
  await scheduler.scheduleEndSessions(5);
  await scheduler.scheduleEndSessions(5);
  await scheduler.ensureAuditDelivery(5);
  expect(await inspector.getJob('end-sessions-5')).toMatchObject({ name: 'end-sessions', data: { requestId: 5 } });
  expect(await inspector.getJob('audit-5')).toMatchObject({ name: 'audit', data: { requestId: 5 } });

  work();
  await vi.waitFor(() => expect(runs.map((run) => `${run.name}-${run.requestId}`).sort()).toEqual(['audit-5', 'end-sessions-5']), WAIT);
  await scheduler.scheduleAuditDelivery(5);
  await vi.waitFor(() => expect(runs.filter((run) => run.name === 'audit')).toHaveLength(2), WAIT);
});

test('a delayed revoke runs once, on time to the millisecond, not before', async () => {
  const { scheduler, runs, work } = setup();
  work();
  await scheduler.scheduleRevoke(8, new Date(Date.now() + 3_600_000));
  const at = Date.now() + 1_200;
  await scheduler.scheduleRevoke(8, new Date(at));

  await vi.waitFor(() => expect(runs).toHaveLength(1), WAIT);
  expect(runs[0]?.requestId).toBe(8);
  expect(runs[0]?.at).toBeGreaterThanOrEqual(at - TOLERANCE_MS);
  // Redis without the version check rounded this up to a whole second; PostgreSQL's wait is in milliseconds.
  expect(runs[0]!.at - at).toBeLessThan(500);
});

test('rescheduling postpones a pending revoke, or brings it forward, leaving one job', async () => {
  const { scheduler, inspector, runs, work } = setup();
  work();
  await scheduler.scheduleRevoke(2, new Date(Date.now() + 3_600_000));
  const soon = Date.now() + 800;
  const later = Date.now() + 2_000;
  await scheduler.scheduleRevoke(1, new Date(soon));
  await scheduler.scheduleRevoke(1, new Date(later));
  await scheduler.scheduleRevoke(2, new Date(soon));

  await vi.waitFor(() => expect(runs.map((run) => run.requestId)).toEqual([2, 1]), WAIT);
  expect(Math.min(runs[0]!.at - soon, runs[1]!.at - later)).toBeGreaterThanOrEqual(-TOLERANCE_MS);
  // The handler has returned; its completion is recorded a moment later.
  await vi.waitFor(async () => expect(await inspector.getJobCountByTypes('delayed', 'waiting', 'active')).toBe(0), WAIT);
});

test('revocations run before grants, and grants before reminders', async () => {
  const { scheduler, runs, work } = setup();
  await scheduler.ensureReminder(1, new Date());
  await scheduler.scheduleGrant(2);
  await scheduler.scheduleGrant(3);
  await scheduler.scheduleRevoke(4, new Date());

  work({}, 1);
  await vi.waitFor(() => expect(runs).toHaveLength(4), WAIT);
  expect(runs.map((run) => `${run.name}-${run.requestId}`)).toEqual(['revoke-4', 'grant-2', 'grant-3', 'remind-1']);
});

test('close lets a running job finish and records its completion', async () => {
  const { scheduler, inspector, runs, work } = setup();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const workers = work({
    grant: async (requestId) => {
      await gate;
      runs.push({ name: 'grant', requestId, at: Date.now() });
    },
  });
  await scheduler.scheduleGrant(5);
  await vi.waitFor(async () => expect(await inspector.getJobState('grant-5')).toBe('active'), WAIT);

  const closed = workers.close(5_000);
  setTimeout(release, 200);
  await closed;
  expect(runs.map((run) => run.requestId)).toEqual([5]);
  // removeOnComplete: the finished job is gone, its id free again.
  expect(await inspector.getJobState('grant-5')).toBe('unknown');
});

test('close gives up on a job that does not finish within the time limit, and the job stays for another worker', async () => {
  const { scheduler, inspector, work } = setup();
  const workers = work({ grant: () => new Promise<never>(() => {}) });
  await scheduler.scheduleGrant(6);
  await vi.waitFor(async () => expect(await inspector.getJobState('grant-6')).toBe('active'), WAIT);

  const started = Date.now();
  await workers.close(500);
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(await inspector.getJobState('grant-6')).toBe('active');
});

test('with no PostgreSQL listening, calls fail with a retryable UpstreamError instead of hanging', async () => {
  const { scheduler } = setup({ url: `postgres://127.0.0.1:${await freePort()}/nothing`, connectTimeoutMs: 1_000 });
  const failure = await scheduler.scheduleGrant(1).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(UpstreamError);
  expect(failure).toMatchObject({ service: 'postgres', retryable: true });
});

test('a PostgreSQL restart while the bot runs: calls fail retryably meanwhile, then scheduler and workers carry on', async () => {
  // A cluster of the test's own: restarting the run's shared one would disturb other files.
  const server = await startPostgresServer();
  cleanups.push(() => server.stop());
  const { scheduler, inspector, runs, work } = setup({ url: server.url, connectTimeoutMs: 2_000 });
  work();
  await scheduler.scheduleGrant(1);
  await vi.waitFor(() => expect(runs.map((run) => run.requestId)).toEqual([1]), WAIT);

  const failures: unknown[] = [];
  const down = scheduler.scheduleGrant(2).catch((error: unknown) => failures.push(error));
  await server.restart();
  await down;
  // Whether the call met the database down depends on timing; a failure is a retryable UpstreamError.
  for (const failure of failures) expect(failure).toMatchObject({ service: 'postgres', retryable: true });

  await vi.waitFor(() => scheduler.scheduleGrant(3), { timeout: 10_000 });
  await vi.waitFor(() => expect(runs.map((run) => run.requestId)).toContain(3), { timeout: 15_000 });
  await vi.waitFor(async () => expect(await inspector.getJobState('grant-3')).toBe('unknown'), WAIT);
}, 60_000);
