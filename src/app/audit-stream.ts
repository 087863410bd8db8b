/**
 * The audit stream: every event of the event log goes to the audit sink, in order per request, at least
 * once. The log itself is the outbox (an event is undelivered until the sink acknowledged it), so a
 * receiver that is down, a lost job or a restart only delays events; nothing is dropped.
 */
import { NotFoundError } from '../domain/errors.js';
import { formatId } from '../domain/request.js';
import type { AuditOutbox, AuditQueue, AuditSink, Clock, GrantStore } from './ports.js';

/** Events read per round; a request has a few dozen at most, a backfill of an old request maybe more. */
const BATCH_SIZE = 100;
/** Requests queued per sweep; the next sweep takes the rest, so a first backfill is spread out. */
const SWEEP_LIMIT = 500;

export interface AuditDeliveryDeps {
  store: GrantStore;
  outbox: AuditOutbox;
  sink: AuditSink;
  clock: Clock;
}

/**
 * Sends the request's undelivered events oldest first, one at a time, each marked delivered once the
 * sink acknowledged it; the first failure throws (the job retries), so no event overtakes an earlier
 * one. Goes on until none is left, events appended meanwhile included. Returns how many it sent.
 */
export async function deliverAuditEvents(deps: AuditDeliveryDeps, requestId: number): Promise<number> {
  let sent = 0;
  for (;;) {
    const batch = await deps.outbox.undelivered(requestId, BATCH_SIZE);
    if (batch.length === 0) return sent;
    const request = await deps.store.get(requestId);
    if (!request) throw new NotFoundError(`Request ${formatId(requestId)} has events but does not exist.`);
    for (const event of batch) {
      await deps.sink.send(event, request);
      await deps.outbox.markDelivered(event.id, deps.clock.now());
      sent += 1;
    }
  }
}

/**
 * Queues a delivery job for each request with undelivered events (the oldest first) that has none:
 * repairs jobs lost with Redis and sends the history once the webhook is first set. It never waits for
 * a running job (it runs within the reconcile pass); an event such a job missed is queued next time.
 * Returns how many requests it looked at.
 */
export async function queueAuditBacklog(deps: { outbox: AuditOutbox; queue: AuditQueue }): Promise<number> {
  const requestIds = await deps.outbox.requestsWithUndelivered(SWEEP_LIMIT);
  for (const requestId of requestIds) await deps.queue.ensureAuditDelivery(requestId);
  return requestIds.length;
}

/** Store methods that append events, and which request each appended to (from its arguments or result). */
const APPENDING: Partial<Record<keyof GrantStore, (args: unknown[], result: unknown) => number | undefined>> = {
  create: (_args, result) => (result as Awaited<ReturnType<GrantStore['create']>>).request.id,
  save: (args) => (args[0] as { id: number }).id,
  recordEvent: (args) => args[0] as number,
  recordRuleIntent: (args) => (args[0] as { id: number }).id,
};

/**
 * The store, telling `announce` the request whose history grew after each successful append, so its
 * events are sent at once rather than at the next sweep. A Proxy rather than a class: it wraps any
 * GrantStore (SQLite, PostgreSQL) and works whether its methods answer at once or with a Promise.
 */
export function announcingAppends(store: GrantStore, announce: (requestId: number) => void): GrantStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      const requestOf = APPENDING[property as keyof GrantStore];
      if (!requestOf || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = Reflect.apply(value, target, args);
        // Announced once the write is committed; a failed write (it throws or rejects) announces nothing.
        Promise.resolve(result).then(
          (settled) => {
            const requestId = requestOf(args, settled);
            if (requestId !== undefined) announce(requestId);
          },
          () => {},
        );
        return result;
      };
    },
  });
}
