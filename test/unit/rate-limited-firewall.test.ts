import { describe, expect, it } from 'vitest';
import { RateLimitedFirewall } from '../../src/adapters/aws/rate-limited-firewall.js';
import type { Firewall, RuleSpec } from '../../src/app/ports.js';
import { UpstreamError } from '../../src/domain/errors.js';

/** A clock that moves only when the test says so; waits resolve when it passes their deadline. */
class ManualClock {
  time = 0;
  private timers: Array<{ at: number; resolve: () => void }> = [];
  /** Timers longer than a millisecond fire this much early, as Node's may. */
  constructor(private readonly earlyMs = 0) {}
  readonly now = () => this.time;
  readonly wait = (ms: number) =>
    new Promise<void>((resolve) => {
      this.timers.push({ at: this.time + (ms > 1 ? ms - this.earlyMs : ms), resolve });
    });
  get pending(): number {
    return this.timers.length;
  }
  /** Jumps to the earliest pending deadline and lets the woken callers run. */
  async advanceToNext(): Promise<void> {
    this.timers.sort((a, b) => a.at - b.at);
    const next = this.timers.shift()!;
    this.time = Math.max(this.time, next.at);
    next.resolve();
    await flush();
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

const spec = (n: number): RuleSpec => ({ securityGroupId: 'sg-0123abcd', protocol: 'tcp', port: 6379, source: { kind: 'cidr', cidr: `10.0.0.${n}/32` } });

/** Records when (on the manual clock) each call reached "AWS". */
function recordingFirewall(clock: ManualClock, failFor?: string) {
  const calls: Array<{ method: string; at: number; what: string }> = [];
  const firewall: Firewall = {
    async authorize(rule) {
      const what = rule.source.kind === 'cidr' ? rule.source.cidr : rule.source.groupId;
      calls.push({ method: 'authorize', at: clock.time, what });
      if (what === failFor) throw new UpstreamError('aws', 'InvalidGroup.NotFound', 'no such group', false);
      return { outcome: 'created', awsRuleId: `sgr-${calls.length}` };
    },
    async revoke(_group, awsRuleId) {
      calls.push({ method: 'revoke', at: clock.time, what: awsRuleId });
      return 'removed';
    },
    async ruleExists(_group, awsRuleId) {
      calls.push({ method: 'ruleExists', at: clock.time, what: awsRuleId });
      return true;
    },
    async listTaggedRules() {
      calls.push({ method: 'listTaggedRules', at: clock.time, what: '' });
      return [];
    },
  };
  return { firewall, calls };
}

/** The most calls that started in any half-open window [t, t + windowMs). */
function busiestWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (const start of times) best = Math.max(best, times.filter((t) => t >= start && t < start + windowMs).length);
  return best;
}

describe('RateLimitedFirewall', () => {
  it('lets a burst of mutating calls through at most perSecond in any one-second window, revocations before waiting grants', async () => {
    const clock = new ManualClock();
    const { firewall, calls } = recordingFirewall(clock);
    const limited = new RateLimitedFirewall(firewall, { perSecond: 10, now: clock.now, wait: clock.wait });

    const tags = { grantId: 1, expiresAt: new Date(0) };
    const results = [
      ...Array.from({ length: 20 }, (_, i) => limited.authorize(spec(i), 'rule', tags)),
      ...Array.from({ length: 10 }, (_, i) => limited.revoke('sg-0123abcd', `sgr-old-${i}`)),
    ];
    await flush();
    while (clock.pending > 0) await clock.advanceToNext();
    await Promise.all(results);

    expect(calls).toHaveLength(30);
    // The first grant found the token free; the revocations that queued behind the others then go first,
    // and each kind keeps its arrival order.
    expect(calls[0]).toMatchObject({ method: 'authorize', what: '10.0.0.0/32' });
    expect(calls.slice(1, 11).map((c) => c.what)).toEqual(Array.from({ length: 10 }, (_, i) => `sgr-old-${i}`));
    expect(calls.slice(11).map((c) => c.what)).toEqual(Array.from({ length: 19 }, (_, i) => `10.0.0.${i + 1}/32`));
    expect(busiestWindow(calls.map((c) => c.at), 1000)).toBe(10);
    // 30 calls at 10 per second: the last one starts 2.9 s after the first, not earlier.
    expect(calls.at(-1)!.at).toBeCloseTo(2900);
  });

  it('gives the next token to a revocation that arrives while grants are already waiting', async () => {
    const clock = new ManualClock();
    const { firewall, calls } = recordingFirewall(clock);
    const limited = new RateLimitedFirewall(firewall, { perSecond: 10, now: clock.now, wait: clock.wait });
    const tags = { grantId: 1, expiresAt: new Date(0) };

    const grants = Array.from({ length: 5 }, (_, i) => limited.authorize(spec(i), 'rule', tags));
    await flush();
    await clock.advanceToNext(); // the second grant starts at 100 ms
    const revoke = limited.revoke('sg-0123abcd', 'sgr-due');
    await flush();
    while (clock.pending > 0) await clock.advanceToNext();
    await Promise.all([...grants, revoke]);

    expect(calls.map((c) => [c.what, c.at])).toEqual([
      ['10.0.0.0/32', 0],
      ['10.0.0.1/32', 100],
      ['sgr-due', 200],
      ['10.0.0.2/32', 300],
      ['10.0.0.3/32', 400],
      ['10.0.0.4/32', 500],
    ]);
  });

  it('waits again when a timer fires early, so no window ever sees one call too many', async () => {
    const clock = new ManualClock(1);
    const { firewall, calls } = recordingFirewall(clock);
    const limited = new RateLimitedFirewall(firewall, { perSecond: 10, now: clock.now, wait: clock.wait });

    const results = Array.from({ length: 25 }, (_, i) => limited.revoke('sg-0123abcd', `sgr-${i}`));
    await flush();
    while (clock.pending > 0) await clock.advanceToNext();
    await Promise.all(results);

    expect(calls.map((c) => c.at)).toEqual(Array.from({ length: 25 }, (_, i) => i * 100));
    expect(busiestWindow(calls.map((c) => c.at), 1000)).toBe(10);
  });

  it('spaces calls from when they really started, so callers woken late together do not start together', async () => {
    const clock = new ManualClock();
    const { firewall, calls } = recordingFirewall(clock);
    const limited = new RateLimitedFirewall(firewall, { perSecond: 10, now: clock.now, wait: clock.wait });

    const results = Array.from({ length: 20 }, (_, i) => limited.revoke('sg-0123abcd', `sgr-${i}`));
    await flush();
    // The event loop stalls for 1.5 s: every caller that was due meanwhile wakes at once.
    clock.time = 1_500;
    while (clock.pending > 0) await clock.advanceToNext();
    await Promise.all(results);

    const times = calls.map((c) => c.at);
    expect(times).toHaveLength(20);
    expect(busiestWindow(times, 1000)).toBe(10);
    expect(times.slice(1).every((t, i) => t - times[i]! >= 100)).toBe(true);
  });

  it('does not delay a call after an idle period, nor the read calls at any time', async () => {
    const clock = new ManualClock();
    const { firewall, calls } = recordingFirewall(clock);
    const limited = new RateLimitedFirewall(firewall, { perSecond: 2, now: clock.now, wait: clock.wait });

    await limited.revoke('sg-0123abcd', 'sgr-1');
    const second = limited.revoke('sg-0123abcd', 'sgr-2');
    await flush();
    expect(clock.pending).toBe(1);
    // While the revoke waits for its token, reads go straight to AWS.
    await limited.ruleExists('sg-0123abcd', 'sgr-1');
    await limited.listTaggedRules(['sg-0123abcd']);
    expect(calls.map((c) => c.method)).toEqual(['revoke', 'ruleExists', 'listTaggedRules']);
    await clock.advanceToNext();
    await second;
    expect(calls.at(-1)).toMatchObject({ method: 'revoke', at: 500 });

    clock.time = 10_000;
    await limited.revoke('sg-0123abcd', 'sgr-3');
    expect(clock.pending).toBe(0);
    expect(calls.at(-1)).toMatchObject({ method: 'revoke', at: 10_000 });
  });

  it('passes AWS errors through and keeps pacing the calls after a failure', async () => {
    const clock = new ManualClock();
    const { firewall, calls } = recordingFirewall(clock, '10.0.0.0/32');
    const limited = new RateLimitedFirewall(firewall, { perSecond: 4, now: clock.now, wait: clock.wait });
    const tags = { grantId: 1, expiresAt: new Date(0) };

    const failing = limited.authorize(spec(0), 'rule', tags);
    const next = limited.authorize(spec(1), 'rule', tags);
    await expect(failing).rejects.toMatchObject({ upstreamCode: 'InvalidGroup.NotFound' });
    await flush();
    await clock.advanceToNext();
    await expect(next).resolves.toMatchObject({ outcome: 'created' });
    expect(calls.map((c) => c.at)).toEqual([0, 250]);
  });

  it('refuses a rate that is not positive', () => {
    const { firewall } = recordingFirewall(new ManualClock());
    expect(() => new RateLimitedFirewall(firewall, { perSecond: 0 })).toThrow(RangeError);
  });
});
