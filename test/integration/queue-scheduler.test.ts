import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterEach, expect, inject, test, vi } from 'vitest';
import { BullmqScheduler, type BullmqSchedulerOptions } from '../../src/adapters/queue/bullmq-scheduler.js';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { startWorkers, type JobHandler, type Workers } from '../../src/adapters/queue/workers.js';
import { UpstreamError } from '../../src/domain/errors.js';
import { freePort } from '../support/free-port.js';

const redisUrl = inject('redisUrl');
// Delayed jobs are due at a millisecond timestamp; allow for clock granularity only.
const TOLERANCE_MS = 20;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A scheduler, an inspecting Queue and (on demand) workers sharing one fresh prefix. */
function setup(schedulerOptions: Partial<BullmqSchedulerOptions> = {}) {
  const prefix = `test-${randomUUID()}`;
  const scheduler = new BullmqScheduler({ url: redisUrl, prefix, ...schedulerOptions } as BullmqSchedulerOptions);
  const inspector = new Queue(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
  cleanups.push(async () => {
    await scheduler.close();
    await inspector.obliterate({ force: true });
    await inspector.close();
  });
  const runs: Array<{ name: 'grant' | 'revoke' | 'remind' | 'end-sessions'; requestId: number; at: number }> = [];
  const record =
    (name: 'grant' | 'revoke' | 'remind' | 'end-sessions'): JobHandler =>
    async (requestId) => {
      runs.push({ name, requestId, at: Date.now() });
    };
  function work(handlers: { grant?: JobHandler; revoke?: JobHandler } = {}): Workers {
    const workers = startWorkers({
      url: redisUrl,
      prefix,
      logger: pino({ level: 'silent' }),
      handlers: { grant: handlers.grant ?? record('grant'), revoke: handlers.revoke ?? record('revoke'), remind: record('remind'), 'end-sessions': record('end-sessions') },
    });
    cleanups.push(() => workers.close(5_000));
    return workers;
  }
  return { scheduler, inspector, runs, work };
}

test('jobs are named grant and revoke, with ids grant-<id> and revoke-<id>, carrying only the request id', async () => {
  const { scheduler, inspector } = setup();
  await scheduler.scheduleGrant(42);
  await scheduler.scheduleRevoke(42, new Date(Date.now() + 60_000));

  const grant = await inspector.getJob('grant-42');
  const revoke = await inspector.getJob('revoke-42');
  expect(grant?.name).toBe('grant');
  expect(grant?.data).toEqual({ requestId: 42 });
  expect(revoke?.name).toBe('revoke');
  expect(revoke?.data).toEqual({ requestId: 42 });
});

test('scheduling a grant twice leaves one job that runs once, and a finished grant can be enqueued again', async () => {
  const { scheduler, inspector, runs, work } = setup();
  await scheduler.scheduleGrant(7);
  await scheduler.scheduleGrant(7);
  expect(await inspector.getJobCountByTypes('waiting', 'prioritized')).toBe(1);

  work();
  await vi.waitFor(async () => expect(await inspector.getJobState('grant-7')).toBe('unknown'));
  expect(runs.map((run) => run.requestId)).toEqual([7]);

  await scheduler.scheduleGrant(7);
  await vi.waitFor(() => expect(runs).toHaveLength(2));
});

test('end-sessions-<id> is enqueued once, now, carrying only the request id, and runs after revocations', async () => {
  const { scheduler, inspector } = setup();
  await scheduler.scheduleEndSessions(42);
  await scheduler.scheduleEndSessions(42);

  const jobs = await inspector.getJobs(['waiting', 'prioritized']);
  expect(jobs.map((job) => [job.id, job.name, job.data])).toEqual([['end-sessions-42', 'end-sessions', { requestId: 42 }]]);
  expect(jobs[0]!.opts.priority).toBeGreaterThan(0);
});

test('rescheduling a revoke leaves exactly one delayed revoke-<id> job, due at the later time', async () => {
  const { scheduler, inspector } = setup();
  await scheduler.scheduleRevoke(5, new Date(Date.now() + 60_000));
  await scheduler.scheduleRevoke(5, new Date(Date.now() + 120_000));

  const delayed = await inspector.getJobs(['delayed']);
  expect(delayed.map((job) => job.id)).toEqual(['revoke-5']);
  expect(delayed[0]?.delay).toBeGreaterThan(90_000);
  expect(await inspector.getJobCountByTypes('waiting', 'active', 'prioritized')).toBe(0);
});

test('the delay comes from the injected clock; a time in the past means now', async () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const { scheduler, inspector } = setup({ clock: { now: () => now } });
  await scheduler.scheduleRevoke(1, new Date(now.getTime() + 90_000));
  await scheduler.scheduleRevoke(2, new Date(now.getTime() - 5_000));

  expect((await inspector.getJob('revoke-1'))?.delay).toBe(90_000);
  expect(await inspector.getJobState('revoke-2')).toBe('waiting');
});

test('ensureReminder adds remind-<id> at its time when there is none, and never moves one that exists', async () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const { scheduler, inspector } = setup({ clock: { now: () => now } });
  await scheduler.ensureReminder(4, new Date(now.getTime() + 90_000));
  const added = await inspector.getJob('remind-4');
  expect(added).toMatchObject({ name: 'remind', data: { requestId: 4 }, delay: 90_000 });
  expect(await inspector.getJobState('remind-4')).toBe('delayed');

  await scheduler.ensureReminder(4, new Date(now.getTime() + 30_000));
  const kept = await inspector.getJob('remind-4');
  expect({ delay: kept?.delay, timestamp: kept?.timestamp }).toEqual({ delay: 90_000, timestamp: added?.timestamp });

  // Already due (waiting its turn behind revocations): left as it is too.
  await scheduler.ensureReminder(6, new Date(now.getTime() - 5_000));
  expect(await inspector.getJobState('remind-6')).toBe('prioritized');
  await scheduler.ensureReminder(6, new Date(now.getTime() + 60_000));
  expect(await inspector.getJobState('remind-6')).toBe('prioritized');
  expect(await inspector.getJobCountByTypes('delayed', 'waiting', 'prioritized', 'active')).toBe(2);
});

test('a reminder that ran and was removed can be ensured again', async () => {
  const { scheduler, inspector, runs, work } = setup();
  work();
  await scheduler.ensureReminder(11, new Date());
  await vi.waitFor(() => expect(runs).toEqual([expect.objectContaining({ name: 'remind', requestId: 11 })]), { timeout: 5_000 });
  await vi.waitFor(async () => expect(await inspector.getJobState('remind-11')).toBe('unknown'));

  await scheduler.ensureReminder(11, new Date(Date.now() + 60_000));
  expect(await inspector.getJobState('remind-11')).toBe('delayed');
});

test('a delayed revoke runs once, not before its time', async () => {
  const { scheduler, runs, work } = setup();
  work();
  const at = Date.now() + 1_200;
  await scheduler.scheduleRevoke(8, new Date(at));

  await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 5_000 });
  expect(runs[0]?.requestId).toBe(8);
  expect(runs[0]?.at).toBeGreaterThanOrEqual(at - TOLERANCE_MS);
});

test('rescheduling postpones a pending revoke, or brings it forward', async () => {
  const { scheduler, inspector, runs, work } = setup();
  work();
  const soon = Date.now() + 800;
  const later = Date.now() + 2_000;
  await scheduler.scheduleRevoke(1, new Date(soon));
  await scheduler.scheduleRevoke(1, new Date(later));
  await scheduler.scheduleRevoke(2, new Date(Date.now() + 3_600_000));
  await scheduler.scheduleRevoke(2, new Date(soon));

  await vi.waitFor(() => expect(runs).toHaveLength(2), { timeout: 5_000 });
  const [first, second] = runs;
  expect(first).toMatchObject({ requestId: 2 });
  expect(first?.at).toBeGreaterThanOrEqual(soon - TOLERANCE_MS);
  expect(second).toMatchObject({ requestId: 1 });
  expect(second?.at).toBeGreaterThanOrEqual(later - TOLERANCE_MS);
  expect(await inspector.getJobCountByTypes('delayed', 'waiting', 'active')).toBe(0);
});

test('a revoke that is already due but not yet taken is replaced by the new schedule', async () => {
  const { scheduler, inspector } = setup();
  await scheduler.scheduleRevoke(9, new Date(Date.now() - 1_000));
  expect(await inspector.getJobState('revoke-9')).toBe('waiting');

  await scheduler.scheduleRevoke(9, new Date(Date.now() + 60_000));
  expect(await inspector.getJobState('revoke-9')).toBe('delayed');
  expect(await inspector.getWaitingCount()).toBe(0);
});

test('rescheduling while the revoke is running schedules a new run after it finishes', async () => {
  const { scheduler, runs, work } = setup();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  work({
    revoke: async (requestId) => {
      runs.push({ name: 'revoke', requestId, at: Date.now() });
      if (runs.length === 1) await gate;
    },
  });
  await scheduler.scheduleRevoke(3, new Date());
  await vi.waitFor(() => expect(runs).toHaveLength(1));

  const at = Date.now() + 300;
  const rescheduled = scheduler.scheduleRevoke(3, new Date(at));
  release();
  await rescheduled;

  await vi.waitFor(() => expect(runs).toHaveLength(2), { timeout: 5_000 });
  expect(runs[1]?.at).toBeGreaterThanOrEqual(at - TOLERANCE_MS);
});

test('with no Redis listening, calls fail with a retryable UpstreamError instead of hanging', async () => {
  const { scheduler } = setup({ url: `redis://127.0.0.1:${await freePort()}`, connectTimeoutMs: 300 });
  const failure = await scheduler.scheduleGrant(1).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(UpstreamError);
  expect(failure).toMatchObject({ service: 'redis', retryable: true });
});

test('a revoke job waiting to retry an end that was due is never moved later, only sooner', async () => {
  const { scheduler, inspector, work } = setup();
  let failures = 0;
  work({
    revoke: async () => {
      failures += 1;
      throw new UpstreamError('aws', 'RequestLimitExceeded', 'throttled', true);
    },
  });
  await scheduler.scheduleRevoke(3, new Date());
  await vi.waitFor(async () => expect(await inspector.getJobState('revoke-3')).toBe('delayed'));
  const retryDueBy = Date.now() + 2_000;

  // An extension approved meanwhile would move it an hour on: the retry keeps its time instead.
  await scheduler.scheduleRevoke(3, new Date(Date.now() + 3_600_000));
  const [job] = await inspector.getJobs(['delayed']);
  expect(job!.timestamp + job!.delay).toBeLessThanOrEqual(retryDueBy);

  await vi.waitFor(() => expect(failures).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
});

test('expediteRevoke leaves a running revoke to finish, answering at once, and moves up one not yet running', async () => {
  const { scheduler, inspector, runs, work } = setup({ busyWaitMs: 60_000 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  work({
    revoke: async (requestId) => {
      runs.push({ name: 'revoke', requestId, at: Date.now() });
      if (requestId === 4) await gate;
    },
  });
  await scheduler.scheduleRevoke(4, new Date());
  await vi.waitFor(() => expect(runs.map((run) => run.requestId)).toEqual([4]));
  await scheduler.scheduleRevoke(5, new Date(Date.now() + 3_600_000));

  // A running job is not waited for (scheduleRevoke would wait up to busyWaitMs, a minute here).
  expect(await scheduler.expediteRevoke(4, new Date())).toBe('running');
  expect(await inspector.getJobState('revoke-4')).toBe('active');
  expect(await scheduler.expediteRevoke(5, new Date())).toBe('scheduled');
  await vi.waitFor(() => expect(runs.map((run) => run.requestId)).toEqual([4, 5]));
  release();
  await vi.waitFor(async () => expect(await inspector.getJobState('revoke-4')).toBe('unknown'));
  expect(runs.map((run) => run.requestId)).toEqual([4, 5]);
});
