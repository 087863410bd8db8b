import { expect, test } from 'vitest';
import { settlesWithin, withinMs } from '../../src/adapters/deadline.js';

const never = new Promise<never>(() => {});
const timeoutError = () => new Error('too slow');

test('withinMs passes the outcome through when it comes in time', async () => {
  await expect(withinMs(Promise.resolve(42), 1_000, timeoutError)).resolves.toBe(42);
  await expect(withinMs(Promise.reject(new Error('refused')), 1_000, timeoutError)).rejects.toThrow('refused');
});

test('withinMs rejects with the given error when the promise never settles', async () => {
  await expect(withinMs(never, 10, timeoutError)).rejects.toThrow('too slow');
});

test('settlesWithin tells whether a promise settled, either way, before the limit', async () => {
  expect(await settlesWithin(Promise.resolve(), 1_000)).toBe(true);
  expect(await settlesWithin(Promise.reject(new Error('x')), 1_000)).toBe(true);
  expect(await settlesWithin(never, 10)).toBe(false);
});
