/**
 * Replicas starting at the same moment on an empty database: four processes of the built program
 * (dist/main.js; two `--role web`, two `--role worker`) spawned together, each migrating at start-up.
 * On PostgreSQL with the jobs there too, each brings up the records' schema (drizzle, under an advisory
 * lock) and BullMQ's (its own migrator, under its own lock); on SQLite (README, topology 1: web and
 * worker processes sharing the file on one host), the file's schema. All must come up ready, with every
 * migration applied once and nothing logged as an error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, test, vi } from 'vitest';
import { DEFAULT_POSTGRES_SCHEMA } from '../../src/adapters/queue/backend.js';
import { buildProgram, killAll, startProgram, testAwsEnv, type BuiltProgram, type RunningProgram } from '../fakes/built-program.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack-server.js';
import { freePort } from '../support/free-port.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { flushRedis, redisDatabase } from '../support/redis-database.js';

const ROLES = ['web', 'web', 'worker', 'worker'] as const;
const POLICY = `clusters:\n  - match: "orders-*"\n    approvers: [U0BOB]\n`;
/** A Redis database no other test file uses: the program runs with BullMQ's default key prefix. */
const REDIS_DB = 8;

function migrationCount(engine: 'sqlite' | 'postgres'): number {
  const journal = JSON.parse(readFileSync(new URL(`../../migrations/${engine}/meta/_journal.json`, import.meta.url), 'utf8')) as { entries: unknown[] };
  return journal.entries.length;
}

describe('four processes starting at once on an empty database', () => {
  let program: BuiltProgram;
  let dir: string;
  let slack: FakeSlack;
  let database: PostgresDatabase | undefined;
  const processes: RunningProgram[] = [];

  beforeAll(async () => {
    program = await buildProgram();
  }, 180_000);
  afterAll(() => program?.remove());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-start-'));
    writeFileSync(join(dir, 'policy.yml'), POLICY);
    slack = await startFakeSlack();
  });
  afterEach(async () => {
    killAll(processes);
    await database?.drop();
    database = undefined;
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Spawns one process per role in the same tick; resolves once each answers /readyz with 200, with its log lines. */
  async function startAllAtOnce(settings: Record<string, string>): Promise<RunningProgram[]> {
    const started = ROLES.map((role) =>
      startProgram(join(program.dist, 'main.js'), ['--role', role], {
        SLACK_BOT_TOKEN: 'xoxb-concurrent-start',
        SLACK_SIGNING_SECRET: 'concurrent-start-secret',
        SLACK_API_URL: slack.apiUrl,
        PORT: '0',
        POLICY_FILE: join(dir, 'policy.yml'),
        LOG_LEVEL: 'info',
        ...testAwsEnv(dir),
        ...settings,
      }),
    );
    processes.push(...started);
    const ready = await Promise.all(started.map((running) => running.logged('cache-access started')));
    for (const line of ready) {
      await vi.waitFor(async () => expect((await fetch(`http://127.0.0.1:${Number(line.opsPort)}/readyz`)).status).toBe(200), { timeout: 15_000, interval: 100 });
    }
    return started;
  }

  function errorsLogged(started: RunningProgram[]): unknown[] {
    return started.flatMap((running) => running.lines.filter((line) => Number(line.level) >= 50).map((line) => line.msg));
  }

  test('PostgreSQL with the jobs in it: all ready, the records and BullMQ schemas each migrated once', async () => {
    database = await freshPostgresDatabase(inject('postgresUrl'));
    const started = await startAllAtOnce({
      DATABASE_URL: database.url,
      QUEUE_BACKEND: 'postgres',
      // No Redis: nothing listens there.
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    });
    expect(errorsLogged(started)).toEqual([]);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const records = await client.query<{ hash: string; count: string }>('select hash, count(*) from drizzle.__drizzle_migrations group by hash');
      expect(records.rows).toHaveLength(migrationCount('postgres'));
      expect(records.rows.every((row) => Number(row.count) === 1)).toBe(true);
      const jobs = await client.query<{ version: number; count: string }>(`select version, count(*) from "${DEFAULT_POSTGRES_SCHEMA}".migration group by version order by version`);
      expect(jobs.rows.length).toBeGreaterThan(0);
      expect(jobs.rows.every((row) => Number(row.count) === 1)).toBe(true);
    } finally {
      await client.end();
    }
  }, 120_000);

  test('SQLite (one host, one file) with Redis: all ready, the file migrated once', async () => {
    const redisUrl = redisDatabase(inject('redisUrl'), REDIS_DB);
    await flushRedis(redisUrl);
    const databasePath = join(dir, 'cache-access.db');
    const started = await startAllAtOnce({ DATABASE_PATH: databasePath, REDIS_URL: redisUrl });
    expect(errorsLogged(started)).toEqual([]);

    const file = new Database(databasePath, { readonly: true });
    try {
      const applied = file.prepare('select hash, count(*) as count from __drizzle_migrations group by hash').all() as Array<{ count: number }>;
      expect(applied).toHaveLength(migrationCount('sqlite'));
      expect(applied.every((row) => row.count === 1)).toBe(true);
    } finally {
      file.close();
    }
  }, 120_000);
});
