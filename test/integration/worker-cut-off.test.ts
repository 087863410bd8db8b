/**
 * Shutdown past its time limit cuts the workers' Redis connection; a job still running then must not make
 * BullMQ retry recording its outcome on the closed connection in a microtask loop. That loop starves the
 * event loop, so on a regression this test does not fail but hangs (as the whole test process did).
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { expect, inject, test } from 'vitest';
import { BullmqScheduler } from '../../src/adapters/queue/bullmq-scheduler.js';
import { startWorkers } from '../../src/adapters/queue/workers.js';

test('a job that finishes after close() cut Redis off does not spin', async () => {
  const url = inject('redisUrl');
  const prefix = `spin-${randomUUID()}`;
  let release!: () => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const handler = async () => {
    started();
    await new Promise<void>((r) => (release = r));
  };
  const workers = startWorkers({ url, prefix, handlers: { grant: handler, revoke: handler, remind: handler, 'end-sessions': handler }, logger: pino({ level: 'silent' }) });
  const scheduler = new BullmqScheduler({ url, prefix });
  await scheduler.scheduleGrant(1);
  await running;
  await workers.close(200);
  release();
  // Only a turn of the event loop that comes shows the process is not spinning.
  const fired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300));
  expect(fired).toBe(true);
  await scheduler.close();
});
