/**
 * The tables that hold records, each as SQLite and PostgreSQL know it, in the order copy-records fills them:
 * a row's foreign keys point only at tables earlier in the list. A table added to the schemas must be added
 * here too (test/unit/record-tables.test.ts compares this list with both schemas).
 */
import { getTableName, type InferInsertModel, type InferSelectModel } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as target from '../postgres/schema.js';
import * as source from '../schema.js';

export interface RecordTable {
  name: string;
  sqlite: SQLiteTable & { id: SQLiteColumn };
  postgres: PgTable & { id: PgColumn };
}

/** A SQLite row must be insertable into the PostgreSQL table as it is read: the compiler checks the pairing. */
function pair<S extends RecordTable['sqlite'], P extends RecordTable['postgres']>(
  sqlite: S,
  postgres: P & (InferSelectModel<S> extends InferInsertModel<P> ? unknown : never),
): RecordTable {
  return { name: getTableName(sqlite), sqlite, postgres };
}

export const RECORD_TABLES: readonly RecordTable[] = [
  pair(source.ingressRules, target.ingressRules),
  pair(source.requests, target.requests),
  pair(source.approvals, target.approvals),
  pair(source.slackMessages, target.slackMessages),
  pair(source.events, target.events),
];
