/** The event log across all requests, for the admin CLI's audit. Read-only; the GrantStore port reads one request at a time. */
import { asc, eq, gte } from 'drizzle-orm';
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

/** Every event recorded at or after `since`, in the order they were recorded. */
export function eventsSince(db: AppDatabase, since: Date): AuditEntry[] {
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
    .where(gte(events.at, since))
    .orderBy(asc(events.id))
    .all()
    .map(({ detail, ...entry }) => (detail ? { ...entry, detail } : entry));
}
