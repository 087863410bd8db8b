/**
 * Time limits for waits on things that may never answer (Redis during an outage, a hung probe).
 * The losing side of each race is left to settle on its own; its outcome is ignored.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** `promise`'s outcome, or a rejection with `timeoutError()` once `ms` have passed. */
export async function withinMs<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timer.signal, ref: false }).then(() => {
        throw timeoutError();
      }),
    ]);
  } finally {
    timer.abort();
  }
}

/** True once `promise` settles (either way) within `ms`; false when the time runs out first. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  return withinMs(settled, ms, () => new Error('timed out')).catch(() => false);
}
