/** RecordsReader on SQLite: the audit log's join and the cheap aggregates behind the metrics gauges. */
import { and, asc, eq, gte } from 'drizzle-orm';
import type { AuditEntry, AuditFilter, RecordsReader } from '../../app/ports.js';
import type { OpenedDatabase } from './open.js';
import { unreviewedBreakGlassWhere } from './query-parts.js';
import { events, requests } from './schema.js';

export function sqliteRecordsReader({ db, sqlite }: OpenedDatabase): RecordsReader {
  const byStatus = sqlite.prepare('select status as key, count(*) as n from requests group by status');
  const decisions = sqlite.prepare("select type as key, count(*) as n from events where type in ('approved', 'denied') group by type");
  const overdue = sqlite.prepare("select count(*) as n from requests where status = 'active' and expires_at <= ?");
  const counts = (rows: unknown[]) => Object.fromEntries((rows as Array<{ key: string; n: number }>).map((r) => [r.key, r.n]));
  return {
    async eventsSince(since: Date, filter: AuditFilter = {}): Promise<AuditEntry[]> {
      const unreviewed = filter.unreviewedBreakGlass ? unreviewedBreakGlassWhere(requests) : undefined;
      return db
        .select({ at: events.at, requestId: events.requestId, clusterId: requests.clusterId, actor: events.actor, type: events.type, detail: events.detail })
        .from(events)
        .innerJoin(requests, eq(events.requestId, requests.id))
        .where(and(gte(events.at, since), unreviewed))
        .orderBy(asc(events.id))
        .all()
        .map(({ detail, ...entry }) => (detail ? { ...entry, detail } : entry));
    },
    requestCountsByStatus: async () => counts(byStatus.all()),
    decisionCounts: async () => counts(decisions.all()),
    overdueRevocations: async (now) => (overdue.get(now.getTime()) as { n: number }).n,
    ping: async () => void sqlite.prepare('select 1').get(),
    async checkWritable() {
      // A write that is rolled back.
      sqlite.exec('SAVEPOINT readyz');
      try {
        sqlite.exec('CREATE TABLE readyz_probe (x)');
      } finally {
        sqlite.exec('ROLLBACK TO readyz; RELEASE readyz');
      }
    },
  };
}
