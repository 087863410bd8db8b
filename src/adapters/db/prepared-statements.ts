/**
 * The store's most frequent statements, built and compiled once. Every job and click loads its request
 * (often several times), its history, and writes it back; drizzle builds the SQL text and better-sqlite3
 * compiles it on each call otherwise, which was most of the store's CPU time under load (BENCHMARKS.md).
 */
import { and, asc, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { AppDatabase } from './open.js';
import { messageRefFields } from './query-parts.js';
import { approvals, events, requests, slackMessages } from './schema.js';

type RequestRow = typeof requests.$inferSelect;
type RequestInsert = typeof requests.$inferInsert;

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
      .select(messageRefFields(slackMessages))
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

const REQUEST_COLUMNS = getTableColumns(requests);

/** A raw placeholder per key: values are encoded by encode() below, where null can stay null. */
function placeholders(keys: string[]): Record<string, SQL> {
  return Object.fromEntries(keys.map((key) => [key, sql`${sql.placeholder(key)}`]));
}

/** Each value as SQLite stores it, through its column's own encoder (dates, JSON); null stays null. */
function encode(values: Partial<RequestInsert>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, value === null ? null : REQUEST_COLUMNS[key as keyof RequestInsert].mapToDriverValue(value)]),
  );
}

/**
 * Inserts and versioned updates of requests, one compiled statement per set of columns written (a
 * column left undefined is not written, as with drizzle's own builders).
 */
export class RequestWrites {
  private readonly inserts = new Map<string, ReturnType<RequestWrites['prepareInsert']>>();
  private readonly updates = new Map<string, ReturnType<RequestWrites['prepareUpdate']>>();

  constructor(private readonly db: AppDatabase) {}

  insert(values: RequestInsert): RequestRow {
    const defined = definedOnly(values);
    return cached(this.inserts, Object.keys(defined), (keys) => this.prepareInsert(keys)).get(encode(defined))!;
  }

  /** Writes `values` where the row still has `previousVersion`; returns the rows changed (0 or 1). */
  update(id: number, previousVersion: number, values: Partial<RequestInsert>): number {
    const defined = definedOnly(values);
    const statement = cached(this.updates, Object.keys(defined), (keys) => this.prepareUpdate(keys));
    return statement.run({ ...encode(defined), whereId: id, whereVersion: previousVersion }).changes;
  }

  private prepareInsert(keys: string[]) {
    return this.db.insert(requests).values(placeholders(keys) as unknown as RequestInsert).returning().prepare();
  }

  private prepareUpdate(keys: string[]) {
    return this.db
      .update(requests)
      .set(placeholders(keys))
      .where(and(eq(requests.id, sql.placeholder('whereId')), eq(requests.version, sql.placeholder('whereVersion'))))
      .prepare();
  }
}

/** The statement for this set of columns, compiled on first use. */
function cached<S>(statements: Map<string, S>, keys: string[], prepare: (keys: string[]) => S): S {
  const key = keys.join(',');
  let statement = statements.get(key);
  if (!statement) statements.set(key, (statement = prepare(keys)));
  return statement;
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
