/** Audit delivery jobs on real Redis: their id and options, and a delivery asked for while one is running. */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, afterEach, expect, inject, test } from 'vitest';
import { BullmqScheduler } from '../../src/adapters/queue/bullmq-scheduler.js';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { startWorkers, type JobHandler } from '../../src/adapters/queue/workers.js';
import { waitUntil } from '../support/bot-harness.js';

const redisUrl = inject('redisUrl');
const prefix = `test-${randomUUID()}`;
const scheduler = new BullmqScheduler({ url: redisUrl, prefix });
const inspector = new Queue(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
const unexpected: JobHandler = async () => {
  throw new Error('unexpected job');
};

afterEach(async () => {
  await inspector.obliterate({ force: true });
});

afterAll(async () => {
  await scheduler.close();
  await inspector.close();
});

test('audit-<id> carries only the request id and retries without end; asked for again, it stays one job', async () => {
  await scheduler.scheduleAuditDelivery(42);
  await scheduler.scheduleAuditDelivery(42);
  await scheduler.ensureAuditDelivery(42);
  const job = await inspector.getJob('audit-42');
  expect(job?.name).toBe('audit');
  expect(job?.data).toEqual({ requestId: 42 });
  expect(job?.opts.attempts).toBeGreaterThanOrEqual(1_000_000);
  expect(await inspector.getJobCountByTypes('prioritized', 'waiting')).toBe(1);
});

test('a delivery asked for while one is running (it may have read the events already) runs again after it', async () => {
  let release!: () => void;
  const runs: number[] = [];
  const audit: JobHandler = async (requestId) => {
    runs.push(requestId);
    if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
  };
  const workers = startWorkers({ url: redisUrl, prefix, logger: pino({ level: 'silent' }), handlers: { grant: unexpected, revoke: unexpected, remind: unexpected, 'end-sessions': unexpected, audit } });
  try {
    await scheduler.scheduleAuditDelivery(7);
    await waitUntil(() => runs.length === 1, 5_000, 'the first delivery to start');
    expect(await inspector.getJobState('audit-7')).toBe('active');
    // The sweep's ensure returns at once, leaving the running job alone.
    await scheduler.ensureAuditDelivery(7);
    expect(await inspector.getJobState('audit-7')).toBe('active');

    const asked = scheduler.scheduleAuditDelivery(7);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await asked;
    await waitUntil(() => runs.length === 2, 5_000, 'a second delivery');
    expect(runs).toEqual([7, 7]);
  } finally {
    await workers.close(5_000);
  }
});
