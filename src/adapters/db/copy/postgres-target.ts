/** The PostgreSQL side of copy-records: one transaction that takes the rows, or leaves the database as it was. */
import { getTableColumns, sql } from 'drizzle-orm';
import { ConflictError } from '../../../domain/errors.js';
import type { PostgresDatabase } from '../postgres/open.js';
import type { RecordTable } from './record-tables.js';

type Transaction = Parameters<Parameters<PostgresDatabase['transaction']>[0]>[0];

export interface PostgresTarget {
  insert(table: RecordTable, rows: Array<Record<string, unknown>>): Promise<void>;
  count(table: RecordTable): Promise<number>;
  /** Sets the table's id sequence so the next row gets the id after `highest` (1 when it is 0). */
  continueIdsAfter(table: RecordTable, highest: number): Promise<void>;
}

/**
 * Runs `copy` in one transaction on `db`, after locking the record tables against other writers (a replica
 * started too early waits, then sees the copy) and refusing a database that holds any record. `copy`
 * throwing rolls everything back.
 */
export async function intoEmptyPostgres<T>(db: PostgresDatabase, tables: readonly RecordTable[], copy: (target: PostgresTarget) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`LOCK TABLE ${tables.map((table) => `"${table.name}"`).join(', ')} IN EXCLUSIVE MODE`));
    for (const table of tables) {
      const { rows } = await tx.execute(sql.raw(`SELECT EXISTS (SELECT 1 FROM "${table.name}") AS held`));
      if (rows[0]!.held) throw new ConflictError(`The target database is not empty: table ${table.name} holds records. copy-records copies only into an empty database.`);
    }
    return copy(targetIn(tx));
  });
}

function targetIn(tx: Transaction): PostgresTarget {
  return {
    async insert(table, rows) {
      // The batch as one JSON parameter that PostgreSQL turns into rows of the table's types: drizzle's insert
      // builder spent most of a millisecond a row on thousand-row statements (10,000 requests: 6–9 s, this way
      // 1.6 s). Dates become ISO strings with their milliseconds, JSON columns nested values, nulls nulls.
      const columns = Object.entries(getTableColumns(table.postgres));
      const records = rows.map((row) => Object.fromEntries(columns.map(([key, column]) => [column.name, row[key]])));
      const names = sql.raw(columns.map(([, column]) => `"${column.name}"`).join(', '));
      await tx.execute(sql`INSERT INTO ${table.postgres} (${names}) SELECT ${names} FROM json_populate_recordset(NULL::${table.postgres}, ${JSON.stringify(records)}::json)`);
    },
    async count(table) {
      const { rows } = await tx.execute(sql.raw(`SELECT count(*)::int AS n FROM "${table.name}"`));
      return rows[0]!.n as number;
    },
    async continueIdsAfter(table, highest) {
      // setval(seq, n, true): the next nextval() is n + 1; (1, false): it is 1.
      await tx.execute(sql`SELECT setval(pg_get_serial_sequence(${table.name}, 'id'), ${Math.max(highest, 1)}, ${highest > 0})`);
    },
  };
}
