/**
 * The store's most frequent statements, built and compiled once. Every job and click loads its request
 * (often several times) and its history; drizzle builds the SQL text and better-sqlite3 compiles it on
 * each call otherwise, which was most of the store's CPU time under load (BENCHMARKS.md).
 */
import { asc, eq, sql } from 'drizzle-orm';
import type { AppDatabase } from './open.js';
import { approvals, events, requests, slackMessages } from './schema.js';

export type PreparedStatements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: AppDatabase) {
  const id = sql.placeholder('id');
  return {
    requestById: db.select().from(requests).where(eq(requests.id, id)).prepare(),
    requestIdByDedupeKey: db
      .select({ id: requests.id })
      .from(requests)
      .where(eq(requests.dedupeKey, sql.placeholder('dedupeKey')))
      .prepare(),
    decisionsOf: db
      .select({ userId: approvals.userId, at: approvals.at })
      .from(approvals)
      .where(eq(approvals.requestId, id))
      .orderBy(asc(approvals.id))
      .prepare(),
    eventsOf: db.select().from(events).where(eq(events.requestId, id)).orderBy(asc(events.id)).prepare(),
    messageRefsOf: db
      .select({ requestId: slackMessages.requestId, kind: slackMessages.kind, channel: slackMessages.channel, ts: slackMessages.ts })
      .from(slackMessages)
      .where(eq(slackMessages.requestId, id))
      .orderBy(asc(slackMessages.id))
      .prepare(),
    insertEvent: db
      .insert(events)
      .values({
        requestId: sql.placeholder('requestId'),
        at: sql.placeholder('at'),
        actor: sql.placeholder('actor'),
        type: sql.placeholder('type'),
        // Raw: drizzle's JSON encoder would store a missing detail as the text 'null'.
        detail: sql`${sql.placeholder('detailJson')}`,
      })
      .prepare(),
  };
}
