import pg from 'pg';
import { expect, inject, test } from 'vitest';
import { freshPostgresDatabase } from '../support/postgres-database.js';

test('each test file gets an empty database of its own on the run’s PostgreSQL', async () => {
  const first = await freshPostgresDatabase(inject('postgresUrl'));
  const second = await freshPostgresDatabase(inject('postgresUrl'));
  try {
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query('CREATE TABLE marker (id int)');
    await client.end();
    const other = new pg.Client({ connectionString: second.url });
    await other.connect();
    const { rows } = await other.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'marker'");
    await other.end();
    expect(rows[0].n).toBe(0);
    expect(first.url).not.toBe(second.url);
  } finally {
    await first.drop();
    await second.drop();
  }
});
