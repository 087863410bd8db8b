import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { migrationsFolder } from './migrations-folder.js';
import * as schema from './schema.js';

export type AppDatabase = BetterSQLite3Database<typeof schema>;

export interface OpenedDatabase {
  db: AppDatabase;
  sqlite: Database.Database;
  close(): void;
}

/** How long a process waits for others to finish setting the database up (each takes milliseconds once migrated). */
const SETUP_LOCK_WAIT_MS = 60_000;

/** Opens (creating if needed) the database file and brings its schema up to date. */
export function openDatabase(path: string): OpenedDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  try {
    // Wait for another connection's write lock instead of failing at once.
    sqlite.pragma('busy_timeout = 5000');
    const db = drizzle(sqlite, { schema });
    holdingSetupLock(path, () => {
      sqlite.pragma('journal_mode = WAL');
      migrate(db, { migrationsFolder: migrationsFolder('sqlite') });
    });
    // NORMAL is durable under WAL except for the last commits on power loss, and much faster than FULL.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    return { db, sqlite, close: () => sqlite.close() };
  } catch (error) {
    sqlite.close();
    throw error;
  }
}

/**
 * Runs `setup` while no other process sets up the same database. drizzle's migrator reads which
 * migrations are applied before its own BEGIN, so two processes starting on a fresh file both apply
 * them and the second fails ("table already exists"); and that BEGIN cannot nest inside ours. So the
 * lock is an exclusive transaction on a file of its own beside the database, which the OS releases
 * if the process dies holding it.
 */
function holdingSetupLock(path: string, setup: () => void): void {
  const lock = new Database(`${path}.setup-lock`);
  try {
    lock.pragma(`busy_timeout = ${SETUP_LOCK_WAIT_MS}`);
    lock.exec('BEGIN EXCLUSIVE');
    try {
      setup();
    } finally {
      lock.exec('ROLLBACK');
    }
  } finally {
    lock.close();
  }
}
