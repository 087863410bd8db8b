import { expect, test } from 'vitest';
import { deferredPort } from '../../src/adapters/deferred-port.js';

interface Greeter {
  greet(name: string): Promise<string>;
  count(): Promise<number>;
}

test('the adapter is made on the first call, once, and each call reaches it with its arguments', async () => {
  let made = 0;
  let adapter: Promise<Greeter> | undefined;
  const load = () =>
    (adapter ??= Promise.resolve().then(() => {
      made += 1;
      return { greet: async (name: string) => `hello ${name}`, count: async () => made };
    }));
  const greeter = deferredPort<Greeter>(load, { greet: true, count: true });
  expect(made).toBe(0);

  expect(await Promise.all([greeter.greet('ana'), greeter.greet('bo')])).toEqual(['hello ana', 'hello bo']);
  expect(await greeter.count()).toBe(1);
});

test('a failure to make the adapter rejects the call', async () => {
  const greeter = deferredPort<Greeter>(() => Promise.reject(new Error('no SDK')), { greet: true, count: true });
  await expect(greeter.greet('ana')).rejects.toThrow('no SDK');
});
