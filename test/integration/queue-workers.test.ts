import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import pino from 'pino';
import { afterEach, expect, inject, test, vi } from 'vitest';
import { BullmqScheduler } from '../../src/adapters/queue/bullmq-scheduler.js';
import { createProducerConnection } from '../../src/adapters/queue/connection.js';
import { QUEUE_NAME, revokeRetryDelayMs } from '../../src/adapters/queue/jobs.js';
import type { JobAttempt } from '../../src/app/ports.js';
import { startWorkers, type JobHandler } from '../../src/adapters/queue/workers.js';
import { ConflictError, NotFoundError, UpstreamError } from '../../src/domain/errors.js';

const redisUrl = inject('redisUrl');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LogLine {
  level: number;
  msg: string;
  requestId?: number;
  jobId?: string;
}

/** Workers on a fresh prefix with a real pino logger whose lines the test can read, plus BullMQ's own events. */
async function setup(handlers: { grant?: JobHandler; revoke?: JobHandler }) {
  const prefix = `test-${randomUUID()}`;
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const scheduler = new BullmqScheduler({ url: redisUrl, prefix });
  const inspector = new Queue(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
  const events = new QueueEvents(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
  await events.waitUntilReady();
  const completed: string[] = [];
  const failed: Array<{ jobId: string; failedReason: string }> = [];
  events.on('completed', ({ jobId }) => completed.push(jobId));
  events.on('failed', ({ jobId, failedReason }) => failed.push({ jobId, failedReason }));
  const unexpected: JobHandler = async () => {
    throw new Error('unexpected job');
  };
  const workers = startWorkers({
    url: redisUrl,
    prefix,
    logger,
    handlers: { grant: handlers.grant ?? unexpected, revoke: handlers.revoke ?? unexpected, remind: unexpected, 'end-sessions': unexpected },
  });
  cleanups.push(async () => {
    await workers.close(5_000);
    await scheduler.close();
    await events.close();
    await inspector.obliterate({ force: true });
    await inspector.close();
  });
  return { scheduler, inspector, workers, logs, completed, failed };
}

/** A handler that throws the given errors on its first calls, then succeeds; it records every call. */
function failingFirst(...errors: Error[]) {
  const calls: Array<{ requestId: number; attempt: JobAttempt }> = [];
  const handler: JobHandler = async (requestId, attempt) => {
    calls.push({ requestId, attempt });
    const error = errors[calls.length - 1];
    if (error) throw error;
  };
  return { calls, handler };
}

test('a retryable UpstreamError is retried, then the grant completes', async () => {
  const grant = failingFirst(new UpstreamError('aws', 'RequestLimitExceeded', 'throttled', true));
  const { scheduler, completed, logs } = await setup({ grant: grant.handler });
  await scheduler.scheduleGrant(11);

  await vi.waitFor(() => expect(completed).toEqual(['grant-11']), { timeout: 5_000 });
  expect(grant.calls).toEqual([
    { requestId: 11, attempt: { attemptsMade: 0, finalAttempt: false } },
    { requestId: 11, attempt: { attemptsMade: 1, finalAttempt: false } },
  ]);
  expect(logs).toContainEqual(
    expect.objectContaining({ msg: 'queue job failed; will retry', requestId: 11, jobId: 'grant-11' }),
  );
});

test('an unknown error is retried too, here for a revoke', async () => {
  const revoke = failingFirst(new Error('socket hang up'));
  const { scheduler, completed } = await setup({ revoke: revoke.handler });
  await scheduler.scheduleRevoke(12, new Date());

  await vi.waitFor(() => expect(completed).toEqual(['revoke-12']), { timeout: 5_000 });
  expect(revoke.calls).toHaveLength(2);
});

test.each([
  ['a non-retryable UpstreamError', new UpstreamError('aws', 'UnauthorizedOperation', 'not allowed to authorize', false)],
  ['a ConflictError', new ConflictError('#13 is cancelled; it cannot be activated now.')],
  ['a NotFoundError', new NotFoundError('No request #13.')],
])('%s fails the job at once, without retries', async (_, error) => {
  const grant = failingFirst(error, error, error);
  const { scheduler, inspector, failed, logs } = await setup({ grant: grant.handler });
  await scheduler.scheduleGrant(13);

  await vi.waitFor(() => expect(failed).toHaveLength(1), { timeout: 5_000 });
  expect(failed[0]?.jobId).toBe('grant-13');
  expect(failed[0]?.failedReason).toContain(error.message);
  // Gone rather than delayed for another attempt.
  expect(await inspector.getJobState('grant-13')).toBe('unknown');
  expect(grant.calls).toHaveLength(1);
  expect(logs).toContainEqual(
    expect.objectContaining({ level: 50, msg: 'queue job failed for good', requestId: 13, jobId: 'grant-13' }),
  );
});

test('the handler learns when an attempt is the last one', async () => {
  const grant = failingFirst();
  const { inspector, completed } = await setup({ grant: grant.handler });
  await inspector.add('grant', { requestId: 14 }, { jobId: 'grant-14', attempts: 1 });

  await vi.waitFor(() => expect(completed).toEqual(['grant-14']));
  expect(grant.calls).toEqual([{ requestId: 14, attempt: { attemptsMade: 0, finalAttempt: true } }]);
});

test('a job that is not a cache-access job fails without reaching a handler', async () => {
  const grant = failingFirst();
  const { inspector, failed } = await setup({ grant: grant.handler });
  await inspector.add('grant', { requestId: 'fifteen' }, { jobId: 'grant-x', attempts: 3 });
  await inspector.add('rotate', { requestId: 15 }, { jobId: 'rotate-15', attempts: 3 });

  await vi.waitFor(() => expect(failed.map((f) => f.jobId).sort()).toEqual(['grant-x', 'rotate-15']));
  expect(grant.calls).toEqual([]);
});

test('close lets a running job finish and records its completion', async () => {
  let finished = false;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const { scheduler, inspector, workers } = await setup({
    grant: async () => {
      started();
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished = true;
    },
  });
  await scheduler.scheduleGrant(16);
  await running;

  await workers.close(10_000);
  expect(finished).toBe(true);
  // Completed and removed; a job abandoned mid-run would still be active.
  expect(await inspector.getJobState('grant-16')).toBe('unknown');
});

test('scheduler and workers can use a caller-owned connection, and leave it open when they close', async () => {
  const prefix = `test-${randomUUID()}`;
  const connection = createProducerConnection(redisUrl);
  const inspector = new Queue(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
  const ran: number[] = [];
  const scheduler = new BullmqScheduler({ connection, prefix });
  const workers = startWorkers({
    connection,
    prefix,
    logger: pino({ level: 'silent' }),
    handlers: { grant: async (requestId) => void ran.push(requestId), revoke: async () => {}, remind: async () => {}, 'end-sessions': async () => {} },
  });
  cleanups.push(async () => {
    connection.disconnect();
    await inspector.obliterate({ force: true });
    await inspector.close();
  });
  await scheduler.scheduleGrant(17);
  await vi.waitFor(() => expect(ran).toEqual([17]));

  await workers.close(5_000);
  await scheduler.close();
  expect(await connection.ping()).toBe('PONG');
});

test('revoke retries back off exponentially from 1 s up to a cap of 60 s', () => {
  expect([1, 2, 3, 6, 7, 8, 1_000].map(revokeRetryDelayMs)).toEqual([1_000, 2_000, 4_000, 32_000, 60_000, 60_000, 60_000]);
});

test('a due revocation runs before grant jobs that were waiting longer', async () => {
  const prefix = `test-${randomUUID()}`;
  const scheduler = new BullmqScheduler({ url: redisUrl, prefix });
  for (const id of [1, 2, 3, 4, 5]) await scheduler.scheduleGrant(id);
  await scheduler.scheduleRevoke(9, new Date(Date.now() - 1_000));
  const order: string[] = [];
  const record = (name: string): JobHandler => async (requestId) => void order.push(`${name}-${requestId}`);
  const workers = startWorkers({
    url: redisUrl,
    prefix,
    concurrency: 1,
    logger: pino({ level: 'silent' }),
    handlers: { grant: record('grant'), revoke: record('revoke'), remind: record('remind'), 'end-sessions': record('end-sessions') },
  });
  const inspector = new Queue(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
  cleanups.push(async () => {
    await workers.close(5_000);
    await scheduler.close();
    await inspector.obliterate({ force: true });
    await inspector.close();
  });
  await vi.waitFor(() => expect(order).toHaveLength(6), { timeout: 10_000 });
  expect(order[0]).toBe('revoke-9');
  expect(order.slice(1)).toEqual(['grant-1', 'grant-2', 'grant-3', 'grant-4', 'grant-5']);
});
