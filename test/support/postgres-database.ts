/** A new, empty database on the run's PostgreSQL server, so test files never see each other's rows. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface PostgresDatabase {
  name: string;
  url: string;
  /** Drops the database (closing whatever connections are left). */
  drop(): Promise<void>;
}

async function asAdmin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `template`: another database's name, to start from a copy of it (nothing may be connected to it). */
export async function freshPostgresDatabase(serverUrl: string, options: { template?: string } = {}): Promise<PostgresDatabase> {
  const name = `cache_access_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(serverUrl, (client) => client.query(`CREATE DATABASE ${name}${options.template ? ` TEMPLATE ${options.template}` : ''}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => asAdmin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
