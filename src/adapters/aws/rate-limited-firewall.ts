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
 * calls start at least that far apart, so any one-second window sees at most `perSecond` of them, even
 * when a busy event loop wakes the waiting caller late. A larger bucket would let a burst through at
 * once and double the rate seen in the window that follows. Each token goes to the oldest waiting
 * revocation, else the oldest waiting grant: access that is due to end never queues behind a burst of
 * new grants (the job queue orders them the same way).
 */
export class RateLimitedFirewall implements Firewall {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly wait: (ms: number) => Promise<unknown>;
  /** Callers waiting for a token, oldest first, by kind. */
  private readonly waiting: Record<'revoke' | 'authorize', Array<() => void>> = { revoke: [], authorize: [] };
  private handingOut = false;
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
    await this.takeToken('authorize');
    return this.inner.authorize(...args);
  }

  async revoke(...args: Parameters<Firewall['revoke']>): ReturnType<Firewall['revoke']> {
    await this.takeToken('revoke');
    return this.inner.revoke(...args);
  }

  ruleExists(...args: Parameters<Firewall['ruleExists']>): ReturnType<Firewall['ruleExists']> {
    return this.inner.ruleExists(...args);
  }

  listTaggedRules(...args: Parameters<Firewall['listTaggedRules']>): ReturnType<Firewall['listTaggedRules']> {
    return this.inner.listTaggedRules(...args);
  }

  /** Resolves when it is this caller's turn; its AWS call starts right after. */
  private takeToken(kind: 'revoke' | 'authorize'): Promise<void> {
    return new Promise((resolve) => {
      this.waiting[kind].push(resolve);
      void this.handOutTokens();
    });
  }

  /** One loop hands out the tokens, each as soon as it is refilled, to whoever is first in line then. */
  private async handOutTokens(): Promise<void> {
    if (this.handingOut) return;
    this.handingOut = true;
    try {
      while (this.waiting.revoke.length + this.waiting.authorize.length > 0) {
        // Loops because timers may fire up to a millisecond early.
        for (let now = this.now(); now < this.lastStartAt + this.intervalMs; now = this.now()) {
          await this.wait(this.lastStartAt + this.intervalMs - now);
        }
        // Chosen after the wait: a revocation that arrived meanwhile goes first.
        const next = this.waiting.revoke.shift() ?? this.waiting.authorize.shift()!;
        this.lastStartAt = this.now();
        next();
      }
    } finally {
      this.handingOut = false;
    }
  }
}
