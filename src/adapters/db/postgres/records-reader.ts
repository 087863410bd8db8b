/** RecordsReader on PostgreSQL: the same readings as on SQLite (../records-reader.ts). */
import { and, asc, count, eq, gte, inArray, lte } from 'drizzle-orm';
import type { AuditEntry, AuditFilter, RecordsReader } from '../../../app/ports.js';
import { unreviewedBreakGlassWhere } from '../query-parts.js';
import type { OpenedPostgres } from './open.js';
import { events, requests } from './schema.js';

export function postgresRecordsReader({ db, pool }: OpenedPostgres): RecordsReader {
  const counts = (rows: Array<{ key: string; n: number }>) => Object.fromEntries(rows.map((r) => [r.key, r.n]));
  return {
    async eventsSince(since: Date, filter: AuditFilter = {}): Promise<AuditEntry[]> {
      const unreviewed = filter.unreviewedBreakGlass ? unreviewedBreakGlassWhere(requests) : undefined;
      const rows = await db
        .select({ at: events.at, requestId: events.requestId, clusterId: requests.clusterId, actor: events.actor, type: events.type, detail: events.detail })
        .from(events)
        .innerJoin(requests, eq(events.requestId, requests.id))
        .where(and(gte(events.at, since), unreviewed))
        .orderBy(asc(events.id));
      return rows.map(({ detail, ...entry }) => (detail ? { ...entry, detail } : entry));
    },
    requestCountsByStatus: async () => counts(await db.select({ key: requests.status, n: count() }).from(requests).groupBy(requests.status)),
    decisionCounts: async () =>
      counts(await db.select({ key: events.type, n: count() }).from(events).where(inArray(events.type, ['approved', 'denied'])).groupBy(events.type)),
    async overdueRevocations(now) {
      const [row] = await db.select({ n: count() }).from(requests).where(and(eq(requests.status, 'active'), lte(requests.expiresAt, now)));
      return row?.n ?? 0;
    },
    ping: async () => void (await pool.query('SELECT 1')),
    async checkWritable() {
      // A write that is rolled back; a standby (read-only) server refuses it.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('CREATE TEMP TABLE readyz_probe (x int) ON COMMIT DROP');
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
    },
  };
}
