/**
 * Redis going away. Clients reach the test's redis-server through a TCP proxy; killing the proxy closes
 * their sockets and refuses reconnects, as a crashed or unreachable Redis would.
 */
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterEach, expect, inject, test } from 'vitest';
import { BullmqScheduler } from '../../src/adapters/queue/bullmq-scheduler.js';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { startWorkers } from '../../src/adapters/queue/workers.js';
import { UpstreamError } from '../../src/domain/errors.js';

const redisUrl = inject('redisUrl');
// Far above the bounds under test; only a hang would reach it.
const HANG_MS = 8_000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startProxy(): Promise<{ url: string; kill(): Promise<void> }> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = new URL(redisUrl);
  url.hostname = '127.0.0.1';
  url.port = String(typeof address === 'object' && address ? address.port : 0);
  let killed: Promise<void> | undefined;
  const kill = () =>
    (killed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }));
  cleanups.push(kill);
  return { url: url.toString(), kill };
}

function resolvesWithin<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms, false)]);
}

test('once Redis goes away, scheduler calls fail with a retryable UpstreamError instead of waiting', async () => {
  const proxy = await startProxy();
  const prefix = `test-${randomUUID()}`;
  const scheduler = new BullmqScheduler({ url: proxy.url, prefix });
  const inspector = new Queue(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
  cleanups.push(async () => {
    await scheduler.close();
    await inspector.obliterate({ force: true });
    await inspector.close();
  });
  await scheduler.scheduleGrant(1);
  expect(await inspector.getJobState('grant-1')).toBe('prioritized'); // grant jobs carry a priority: revokes go first

  await proxy.kill();
  const failure = scheduler.scheduleGrant(2).catch((error: unknown) => error);
  expect(await resolvesWithin(failure, HANG_MS)).toBe(true);
  expect(await failure).toBeInstanceOf(UpstreamError);
  expect(await failure).toMatchObject({ service: 'redis', retryable: true });
});

test('when Redis goes away mid-job, close lets the handler finish and returns after the timeout', async () => {
  const proxy = await startProxy();
  const prefix = `test-${randomUUID()}`;
  const scheduler = new BullmqScheduler({ url: redisUrl, prefix });
  const logs: Array<{ msg: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let finished = false;
  const workers = startWorkers({
    url: proxy.url,
    prefix,
    logger,
    handlers: {
      grant: async () => {
        started();
        await gate;
        finished = true;
      },
      revoke: async () => {},
      remind: async () => {},
      'end-sessions': async () => {},
    },
  });
  const inspector = new Queue(QUEUE_NAME, { connection: { url: redisUrl }, prefix });
  cleanups.push(async () => {
    await scheduler.close();
    await inspector.obliterate({ force: true });
    await inspector.close();
  });
  await scheduler.scheduleGrant(3);
  await running;

  await proxy.kill();
  setTimeout(release, 200);
  expect(await resolvesWithin(workers.close(500), HANG_MS)).toBe(true);
  expect(finished).toBe(true);
  expect(logs.map((line) => line.msg)).toContain('queue workers did not stop in time; disconnecting from Redis');
});

test('workers that never reached Redis close within the timeout', async () => {
  const proxy = await startProxy();
  await proxy.kill();
  const workers = startWorkers({
    url: proxy.url,
    logger: pino({ level: 'silent' }),
    handlers: { grant: async () => {}, revoke: async () => {}, remind: async () => {}, 'end-sessions': async () => {} },
  });
  expect(await resolvesWithin(workers.close(300), HANG_MS)).toBe(true);
});
