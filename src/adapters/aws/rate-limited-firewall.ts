/**
 * A Firewall decorator that paces the EC2 calls that change rules (authorize, revoke) through one
 * token bucket, so a burst of grants or expiries never trips EC2's request throttling. Read calls pass
 * straight through: EC2 meters describe calls in a bucket of their own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Firewall } from '../../app/ports.js';

export interface RateLimitOptions {
  /** Mutating calls allowed to start per second. */
  perSecond: number;
  /** Milliseconds on a monotonic clock; injectable for tests. */
  now?: () => number;
  wait?: (ms: number) => Promise<unknown>;
}

/**
 * The bucket holds a single token, refilled 1/perSecond s after the previous call actually started:
 * calls start at least that far apart, in arrival order, so any one-second window sees at most
 * `perSecond` of them, even when a busy event loop wakes several waiting callers late at once. A
 * larger bucket would let a burst through at once and double the rate seen in the window that follows.
 */
export class RateLimitedFirewall implements Firewall {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly wait: (ms: number) => Promise<unknown>;
  /** Callers queue here, one token each. */
  private queue: Promise<void> = Promise.resolve();
  private lastStartAt = -Infinity;

  constructor(
    private readonly inner: Firewall,
    options: RateLimitOptions,
  ) {
    if (!(options.perSecond > 0)) throw new RangeError(`perSecond must be positive, not ${options.perSecond}`);
    this.intervalMs = 1000 / options.perSecond;
    this.now = options.now ?? (() => performance.now());
    this.wait = options.wait ?? sleep;
  }

  async authorize(...args: Parameters<Firewall['authorize']>): ReturnType<Firewall['authorize']> {
    await this.takeToken();
    return this.inner.authorize(...args);
  }

  async revoke(...args: Parameters<Firewall['revoke']>): ReturnType<Firewall['revoke']> {
    await this.takeToken();
    return this.inner.revoke(...args);
  }

  ruleExists(...args: Parameters<Firewall['ruleExists']>): ReturnType<Firewall['ruleExists']> {
    return this.inner.ruleExists(...args);
  }

  listTaggedRules(...args: Parameters<Firewall['listTaggedRules']>): ReturnType<Firewall['listTaggedRules']> {
    return this.inner.listTaggedRules(...args);
  }

  /** Waits for the callers ahead, then for the token; the caller's AWS call starts right after. */
  private takeToken(): Promise<void> {
    const turn = this.queue.then(async () => {
      // Loops because timers may fire up to a millisecond early.
      for (let now = this.now(); now < this.lastStartAt + this.intervalMs; now = this.now()) {
        await this.wait(this.lastStartAt + this.intervalMs - now);
      }
      this.lastStartAt = this.now();
    });
    this.queue = turn;
    return turn;
  }
}
