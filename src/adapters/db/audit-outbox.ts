/** The AuditOutbox port on SQLite: the events table's `audit_delivered_at` marks what the receiver acknowledged. */
import { and, asc, count, eq, isNull, min, sql } from 'drizzle-orm';
import type { AuditOutbox, LoggedEvent } from '../../app/ports.js';
import type { AppDatabase } from './open.js';
import { events } from './schema.js';

export class SqliteAuditOutbox implements AuditOutbox {
  constructor(private readonly db: AppDatabase) {}

  async undelivered(requestId: number, limit: number): Promise<LoggedEvent[]> {
    return this.db
      .select({ id: events.id, requestId: events.requestId, at: events.at, actor: events.actor, type: events.type, detail: events.detail })
      .from(events)
      .where(and(eq(events.requestId, requestId), isNull(events.auditDeliveredAt)))
      .orderBy(asc(events.id))
      .limit(limit)
      .all()
      .map(({ detail, ...event }) => (detail ? { ...event, detail } : event));
  }

  async markDelivered(eventId: number, at: Date): Promise<void> {
    // A redelivery (at least once) keeps the first acknowledgement's time.
    this.db.update(events).set({ auditDeliveredAt: at }).where(and(eq(events.id, eventId), isNull(events.auditDeliveredAt))).run();
  }

  async requestsWithUndelivered(limit: number): Promise<number[]> {
    return this.db
      .select({ requestId: events.requestId })
      .from(events)
      .where(isNull(events.auditDeliveredAt))
      .groupBy(events.requestId)
      .orderBy(min(events.id))
      .limit(limit)
      .all()
      .map((row) => row.requestId);
  }

  async backlog(): Promise<{ undelivered: number; oldestAt?: Date }> {
    const row = this.db
      .select({ undelivered: count(), oldestAt: sql<number | null>`min(${events.at})` })
      .from(events)
      .where(isNull(events.auditDeliveredAt))
      .get();
    const undelivered = row?.undelivered ?? 0;
    return row?.oldestAt != null ? { undelivered, oldestAt: new Date(row.oldestAt) } : { undelivered };
  }
}
