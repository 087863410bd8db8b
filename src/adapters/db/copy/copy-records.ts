/**
 * copy-records: every record of a SQLite file into an empty PostgreSQL database, ids kept, in one
 * PostgreSQL transaction that commits only when each table's row count matches the file's.
 */
import { UpstreamError } from '../../../domain/errors.js';
import { openPostgres } from '../postgres/open.js';
import { RECORD_TABLES, type RecordTable } from './record-tables.js';
import { intoEmptyPostgres, type PostgresTarget } from './postgres-target.js';
import { openSqliteSnapshot, type SqliteSnapshot } from './sqlite-snapshot.js';

export interface TableCount {
  table: string;
  sqlite: number;
  postgres: number;
}

export type CopyOutcome =
  | { copied: true; counts: TableCount[]; nextRequestId: number }
  /** The counts differed after the copy: it was rolled back, the target is as it was. */
  | { copied: false; counts: TableCount[] };

/** Rows read and inserted at a time: a few MB of JSON for the widest table. */
const BATCH_ROWS = 2_000;

export async function copyRecords(sqlitePath: string, postgresUrl: string): Promise<CopyOutcome> {
  const snapshot = openSqliteSnapshot(sqlitePath);
  try {
    const target = await openPostgres(postgresUrl);
    try {
      return await intoEmptyPostgres(target.db, RECORD_TABLES, (into) => copyAll(snapshot, into));
    } catch (error) {
      if (error instanceof CountsDiffer) return { copied: false, counts: error.counts };
      throw error;
    } finally {
      await target.close();
    }
  } finally {
    snapshot.close();
  }
}

async function copyAll(snapshot: SqliteSnapshot, into: PostgresTarget): Promise<CopyOutcome> {
  for (const table of RECORD_TABLES) {
    for (const rows of snapshot.pages(table, BATCH_ROWS)) await insertBatch(into, table, rows);
  }
  const counts: TableCount[] = [];
  for (const table of RECORD_TABLES) counts.push({ table: table.name, sqlite: snapshot.count(table), postgres: await into.count(table) });
  // Thrown, not returned, so that the transaction rolls back.
  if (counts.some((count) => count.sqlite !== count.postgres)) throw new CountsDiffer(counts);
  // Last: a sequence does not roll back with the transaction, so nothing may fail after it moves but the commit.
  for (const table of RECORD_TABLES) await into.continueIdsAfter(table, snapshot.highestIdIssued(table));
  const requests = RECORD_TABLES.find((table) => table.name === 'requests')!;
  return { copied: true, counts, nextRequestId: snapshot.highestIdIssued(requests) + 1 };
}

/** Names the rows PostgreSQL refused, with its own reason (drizzle's message would quote the whole batch). */
async function insertBatch(into: PostgresTarget, table: RecordTable, rows: Array<Record<string, unknown>>): Promise<void> {
  try {
    await into.insert(table, rows);
  } catch (error) {
    type PgError = { message?: string; code?: string; detail?: string };
    const cause = (error as { cause?: PgError }).cause ?? (error as PgError);
    const ids = `${String(rows[0]!.id)}–${String(rows.at(-1)!.id)}`;
    const reason = cause.detail ? `${cause.message} (${cause.detail})` : cause.message;
    throw new UpstreamError('postgres', cause.code ?? 'unknown', `PostgreSQL refused ${table.name} rows with ids ${ids}: ${reason}`, false);
  }
}

class CountsDiffer extends Error {
  constructor(readonly counts: TableCount[]) {
    super('the row counts differ after the copy');
  }
}
