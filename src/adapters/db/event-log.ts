/** The event log across all requests, for the admin CLI's audit. Read-only; the GrantStore port reads one request at a time. */
import { and, asc, eq, gte, isNull } from 'drizzle-orm';
import type { AppDatabase } from './open.js';
import { events, requests } from './schema.js';

export interface AuditEntry {
  at: Date;
  requestId: number;
  clusterId: string;
  /** Slack user id, `operator:<name>` from this CLI, or 'system'. */
  actor: string;
  type: string;
  detail?: Record<string, unknown>;
}

export interface AuditFilter {
  /** Only the events of break-glass grants no approver has reviewed yet. */
  unreviewedBreakGlass?: boolean;
}

/** Every event recorded at or after `since` (of the requests `filter` keeps), in the order they were recorded. */
export function eventsSince(db: AppDatabase, since: Date, filter: AuditFilter = {}): AuditEntry[] {
  const unreviewed = filter.unreviewedBreakGlass ? and(eq(requests.breakGlass, true), isNull(requests.reviewedBy)) : undefined;
  return db
    .select({
      at: events.at,
      requestId: events.requestId,
      clusterId: requests.clusterId,
      actor: events.actor,
      type: events.type,
      detail: events.detail,
    })
    .from(events)
    .innerJoin(requests, eq(events.requestId, requests.id))
    .where(and(gte(events.at, since), unreviewed))
    .orderBy(asc(events.id))
    .all()
    .map(({ detail, ...entry }) => (detail ? { ...entry, detail } : entry));
}
