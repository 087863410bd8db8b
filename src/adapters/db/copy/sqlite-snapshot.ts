/**
 * The SQLite file's records as of one moment: a read transaction held for the whole copy, so rows written
 * meanwhile (a bot that was not stopped) are not half taken. It spans the copy's awaits, which a write
 * transaction must never do; a read one only holds back the WAL checkpoint, and nothing else uses this
 * connection.
 */
import { existsSync } from 'node:fs';
import { asc, gt } from 'drizzle-orm';
import { NotFoundError } from '../../../domain/errors.js';
import { openDatabase } from '../open.js';
import type { RecordTable } from './record-tables.js';

export interface SqliteSnapshot {
  /** The table's rows in id order, `size` at a time. */
  pages(table: RecordTable, size: number): Iterable<Array<Record<string, unknown>>>;
  count(table: RecordTable): number;
  /** The highest id the table has handed out: AUTOINCREMENT remembers ids whose rows are gone. */
  highestIdIssued(table: RecordTable): number;
  close(): void;
}

/** Opens the file (it must exist: a new empty one would copy nothing) and brings its schema up to date first. */
export function openSqliteSnapshot(path: string): SqliteSnapshot {
  if (!existsSync(path)) throw new NotFoundError(`There is no SQLite file at ${path} (DATABASE_PATH).`);
  const { db, sqlite, close } = openDatabase(path);
  let issued: Map<string, number>;
  try {
    sqlite.exec('BEGIN');
    // A deferred transaction takes its snapshot at its first read.
    const sequences = sqlite.prepare('SELECT name, seq FROM sqlite_sequence').all() as Array<{ name: string; seq: number }>;
    issued = new Map(sequences.map((row) => [row.name, row.seq]));
  } catch (error) {
    close();
    throw error;
  }
  return {
    *pages(table, size) {
      for (let after = 0; ; ) {
        const rows = db.select().from(table.sqlite).where(gt(table.sqlite.id, after)).orderBy(asc(table.sqlite.id)).limit(size).all();
        if (rows.length === 0) return;
        yield rows;
        after = rows.at(-1)!.id as number;
      }
    },
    count: (table) => sqlite.prepare(`SELECT count(*) FROM "${table.name}"`).pluck().get() as number,
    highestIdIssued(table) {
      const highest = sqlite.prepare(`SELECT coalesce(max(id), 0) FROM "${table.name}"`).pluck().get() as number;
      return Math.max(highest, issued.get(table.name) ?? 0);
    },
    close() {
      sqlite.exec('ROLLBACK');
      close();
    },
  };
}
