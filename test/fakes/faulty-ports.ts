/**
 * Thin wrappers that put faults in front of real adapters: a database write that fails as SQLite does
 * when it is busy, and a job queue that is unreachable. Everything else goes to the real object.
 */
import type { GrantStore, Scheduler } from '../../src/app/ports.js';
import { UpstreamError } from '../../src/domain/errors.js';

/** What better-sqlite3 throws when the database stays locked past busy_timeout. */
export class InjectedDatabaseError extends Error {
  readonly code = 'SQLITE_BUSY';
  constructor(method: string) {
    super(`database is locked (injected, in ${method})`);
  }
}

const WRITES = [
  'create',
  'createBreakGlass',
  'save',
  'addMessageRefs',
  'recordEvent',
  'recordRuleIntent',
  'markRuleInPlace',
  'releaseRule',
  'markRuleRemoved',
] as const satisfies ReadonlyArray<keyof GrantStore>;

/** The real store, except that one chosen write (the n-th from now) throws InjectedDatabaseError. */
export function faultyGrantStore(store: GrantStore): GrantStore & { failWrite(nth: number): void; clearFault(): void } {
  let writesUntilFault = 0;
  const wrapped = Object.create(store) as GrantStore & { failWrite(nth: number): void; clearFault(): void };
  for (const method of WRITES) {
    const real = store[method].bind(store) as (...args: unknown[]) => unknown;
    Object.assign(wrapped, {
      [method]: async (...args: unknown[]) => {
        if (writesUntilFault > 0 && --writesUntilFault === 0) throw new InjectedDatabaseError(method);
        return real(...args);
      },
    });
  }
  wrapped.failWrite = (nth) => {
    writesUntilFault = nth;
  };
  wrapped.clearFault = () => {
    writesUntilFault = 0;
  };
  return wrapped;
}

/** The real scheduler while Redis is up; while `down`, every call fails as the BullMQ scheduler does. */
export class OutageScheduler implements Scheduler {
  down = false;

  constructor(private readonly real: Scheduler) {}

  scheduleGrant(requestId: number): Promise<void> {
    return this.pass(() => this.real.scheduleGrant(requestId));
  }
  scheduleRevoke(requestId: number, at: Date): Promise<void> {
    return this.pass(() => this.real.scheduleRevoke(requestId, at));
  }
  expediteRevoke(requestId: number, at: Date): Promise<'scheduled' | 'running'> {
    return this.pass(() => this.real.expediteRevoke(requestId, at));
  }
  ensureRevoke(requestId: number, at: Date): Promise<void> {
    return this.pass(() => this.real.ensureRevoke(requestId, at));
  }
  scheduleReminder(requestId: number, at: Date): Promise<void> {
    return this.pass(() => this.real.scheduleReminder(requestId, at));
  }
  ensureReminder(requestId: number, at: Date): Promise<void> {
    return this.pass(() => this.real.ensureReminder(requestId, at));
  }
  scheduleEndSessions(requestId: number): Promise<void> {
    return this.pass(() => this.real.scheduleEndSessions(requestId));
  }

  private async pass<T>(call: () => Promise<T>): Promise<T> {
    if (this.down) throw new UpstreamError('redis', 'QUEUE_UNAVAILABLE', 'Redis is unreachable (injected outage).', true);
    return call();
  }
}
