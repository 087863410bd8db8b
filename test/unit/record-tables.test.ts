/** copy-records copies the tables RECORD_TABLES lists: every table of both schemas, with the same columns, parents first. */
import { getTableColumns, getTableName, is } from 'drizzle-orm';
import { getTableConfig as pgTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { RECORD_TABLES } from '../../src/adapters/db/copy/record-tables.js';
import * as postgresSchema from '../../src/adapters/db/postgres/schema.js';
import * as sqliteSchema from '../../src/adapters/db/schema.js';

const sqliteTables = Object.values(sqliteSchema).filter((value) => is(value, SQLiteTable));
const postgresTables = Object.values(postgresSchema).filter((value) => is(value, PgTable));
const columnNames = (table: SQLiteTable | PgTable) => Object.values(getTableColumns(table)).map((column) => column.name).sort();

describe('RECORD_TABLES', () => {
  it('lists every table of the SQLite schema and of the PostgreSQL schema', () => {
    const listed = RECORD_TABLES.map((table) => table.name).sort();
    expect(sqliteTables.map(getTableName).sort()).toEqual(listed);
    expect(postgresTables.map(getTableName).sort()).toEqual(listed);
  });

  it('pairs tables of the same name and the same columns', () => {
    for (const table of RECORD_TABLES) {
      expect(getTableName(table.postgres), table.name).toBe(table.name);
      expect(columnNames(table.postgres), table.name).toEqual(columnNames(table.sqlite));
    }
  });

  it('puts every table after the tables its foreign keys point at', () => {
    const order = RECORD_TABLES.map((table) => table.name);
    for (const table of RECORD_TABLES) {
      for (const key of pgTableConfig(table.postgres).foreignKeys) {
        const parent = getTableName(key.reference().foreignTable);
        expect(order.indexOf(parent), `${table.name} → ${parent}`).toBeLessThan(order.indexOf(table.name));
      }
    }
  });
});
