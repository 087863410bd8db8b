import { pino } from 'pino';
import { expect, test } from 'vitest';
import { PostAckQueue } from '../../src/adapters/slack/post-ack-queue.js';

const silent = pino({ level: 'silent' });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('work added in one callback starts after the other callbacks already due in the same turn', async () => {
  // Two requests read in the same poll phase are two callbacks in one phase, with microtasks drained in
  // between. Immediates queued together run in one check phase the same way, deterministically (two
  // setTimeout(0) calls may land in different timer turns when the clock ticks between them, as under load).
  const queue = new PostAckQueue(4, silent);
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    setImmediate(() => {
      order.push('ack 1');
      queue.add(async () => void order.push('work 1'));
    });
    setImmediate(() => {
      order.push('ack 2');
      queue.add(async () => void order.push('work 2'));
      resolve();
    });
  });
  expect(await queue.drain(1_000)).toBe(true);
  expect(order).toEqual(['ack 1', 'ack 2', 'work 1', 'work 2']);
});

test('at most `concurrency` pieces of work run at once, in the order added', async () => {
  const queue = new PostAckQueue(2, silent);
  const gates = Array.from({ length: 5 }, deferred);
  const started: number[] = [];
  let running = 0;
  let most = 0;
  gates.forEach((gate, i) =>
    queue.add(async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await gate.promise;
      running--;
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(started).toEqual([0, 1]);
  expect(queue.backlog).toBe(5);
  gates.forEach((gate) => gate.resolve());
  expect(await queue.drain(1_000)).toBe(true);
  expect(started).toEqual([0, 1, 2, 3, 4]);
  expect(most).toBe(2);
  expect(queue.backlog).toBe(0);
});

test('a failure is logged and the work after it still runs; drain gives up after its time limit', async () => {
  const logged: unknown[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const queue = new PostAckQueue(1, logger);
  let ranAfter = false;
  queue.add(async () => {
    throw new Error('Slack is down');
  });
  queue.add(async () => {
    ranAfter = true;
  });
  expect(await queue.drain(1_000)).toBe(true);
  expect(ranAfter).toBe(true);
  expect(logged).toEqual([expect.objectContaining({ msg: 'work after a Slack acknowledgement failed', err: expect.objectContaining({ message: 'Slack is down' }) })]);

  const never = deferred();
  queue.add(() => never.promise);
  expect(await queue.drain(20)).toBe(false);
  never.resolve();
  expect(await queue.drain(1_000)).toBe(true);
});
