/** The AuditOutbox port on PostgreSQL: the same reading of `audit_delivered_at` as on SQLite (../audit-outbox.ts). */
import { and, asc, count, eq, isNull, min } from 'drizzle-orm';
import type { AuditOutbox, LoggedEvent } from '../../../app/ports.js';
import type { PostgresDatabase } from './open.js';
import { events } from './schema.js';

export class PostgresAuditOutbox implements AuditOutbox {
  constructor(private readonly db: PostgresDatabase) {}

  async undelivered(requestId: number, limit: number): Promise<LoggedEvent[]> {
    const rows = await this.db
      .select({ id: events.id, requestId: events.requestId, at: events.at, actor: events.actor, type: events.type, detail: events.detail })
      .from(events)
      .where(and(eq(events.requestId, requestId), isNull(events.auditDeliveredAt)))
      .orderBy(asc(events.id))
      .limit(limit);
    return rows.map(({ detail, ...event }) => (detail ? { ...event, detail } : event));
  }

  async markDelivered(eventId: number, at: Date): Promise<void> {
    // A redelivery (at least once) keeps the first acknowledgement's time.
    await this.db.update(events).set({ auditDeliveredAt: at }).where(and(eq(events.id, eventId), isNull(events.auditDeliveredAt)));
  }

  async requestsWithUndelivered(limit: number): Promise<number[]> {
    const rows = await this.db
      .select({ requestId: events.requestId })
      .from(events)
      .where(isNull(events.auditDeliveredAt))
      .groupBy(events.requestId)
      .orderBy(min(events.id))
      .limit(limit);
    return rows.map((row) => row.requestId);
  }

  async backlog(): Promise<{ undelivered: number; oldestAt?: Date }> {
    const [row] = await this.db
      .select({ undelivered: count(), oldestAt: min(events.at) })
      .from(events)
      .where(isNull(events.auditDeliveredAt));
    const undelivered = row?.undelivered ?? 0;
    return row?.oldestAt ? { undelivered, oldestAt: row.oldestAt } : { undelivered };
  }
}
