/** The GrantStore on each engine, opened on a fresh database, for the store contract and end-to-end tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase } from '../../src/adapters/db/open.js';
import { PostgresGrantStore } from '../../src/adapters/db/postgres/grant-store.js';
import { openPostgres } from '../../src/adapters/db/postgres/open.js';
import type { GrantStore } from '../../src/app/ports.js';
import { freshPostgresDatabase } from './postgres-database.js';

export interface StoreUnderTest {
  store: GrantStore;
  /** Rows in a table, read around the store. */
  count(table: string): Promise<number>;
  /** Closes the store and opens the same database again. */
  reopen(): Promise<GrantStore>;
  /** Another store on the same database with its own connection(s), as another process would have. */
  another(): Promise<GrantStore>;
  close(): Promise<void>;
}

export type StoreEngine = 'sqlite' | 'postgres';

export async function openStoreUnderTest(engine: StoreEngine, postgresServerUrl: string): Promise<StoreUnderTest> {
  return engine === 'sqlite' ? openSqlite() : openOnPostgres(postgresServerUrl);
}

function openSqlite(): StoreUnderTest {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-store-'));
  const path = join(dir, 'cache-access.db');
  const opened = [openDatabase(path)];
  const current = () => opened.at(-1)!;
  return {
    store: new SqliteGrantStore(current().db),
    count: async (table) => current().sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number,
    async reopen() {
      current().close();
      opened.push(openDatabase(path));
      return new SqliteGrantStore(current().db);
    },
    async another() {
      opened.unshift(openDatabase(path));
      return new SqliteGrantStore(opened[0]!.db);
    },
    async close() {
      for (const database of opened) if (database.sqlite.open) database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openOnPostgres(serverUrl: string): Promise<StoreUnderTest> {
  const database = await freshPostgresDatabase(serverUrl);
  const opened = [await openPostgres(database.url)];
  const current = () => opened.at(-1)!;
  return {
    store: new PostgresGrantStore(current().db),
    async count(table) {
      const { rows } = await current().pool.query(`SELECT count(*)::int AS n FROM ${table}`);
      return rows[0].n as number;
    },
    async reopen() {
      await current().close();
      opened.push(await openPostgres(database.url));
      return new PostgresGrantStore(current().db);
    },
    async another() {
      opened.unshift(await openPostgres(database.url));
      return new PostgresGrantStore(opened[0]!.db);
    },
    async close() {
      for (const pool of opened) if (!pool.pool.ended) await pool.close();
      await database.drop();
    },
  };
}
