import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { migrationsFolder } from '../migrations-folder.js';
import * as schema from './schema.js';

export type PostgresDatabase = NodePgDatabase<typeof schema>;

export interface OpenedPostgres {
  db: PostgresDatabase;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** The advisory lock key every cache-access process takes while it migrates (any fixed number will do). */
const MIGRATION_LOCK_KEY = 7_318_245_061;

/** Connects to the database at `url` and brings its schema up to date. */
export async function openPostgres(url: string): Promise<OpenedPostgres> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection dropped by the server must not end the process: the next query reconnects, /readyz reports.
  pool.on('error', () => {});
  try {
    await migrateUnderLock(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return { db: drizzle(pool, { schema }), pool, close: () => pool.end() };
}

/**
 * Applies the migrations while holding a session advisory lock, so replicas starting together on an empty
 * database take turns: drizzle's migrator reads what is applied before it begins, and two at once would both
 * create the tables. The server releases the lock if the process dies holding it.
 */
async function migrateUnderLock(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrate(drizzle(client), { migrationsFolder: migrationsFolder('postgres') });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
