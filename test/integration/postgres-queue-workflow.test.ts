/**
 * The bot with QUEUE_BACKEND=postgres and no Redis at all (REDIS_URL points where nothing listens): the
 * core workflow through Bolt's real HTTP endpoint, expiry, and the reconciler, with every job on BullMQ's
 * PostgreSQL backend in DATABASE_URL, where the records are too (DATABASE_URL puts them there).
 */
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, inject, test } from 'vitest';
import { PostgresGrantStore } from '../../src/adapters/db/postgres/grant-store.js';
import { openPostgres, type OpenedPostgres } from '../../src/adapters/db/postgres/open.js';
import { postgresSchemaOf } from '../../src/adapters/queue/backend.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { ORDERS_POLICY } from '../support/policies.js';
import { freePort } from '../support/free-port.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';
import { waitForStoredStatus } from '../support/stored-status.js';

const RECONCILE_SECONDS = 1;

// A database per test: the records live there too, and each test starts from request #1.
let database: PostgresDatabase;

let h: BotHarness;
/** The bot's records, read from its PostgreSQL database. */
let records: OpenedPostgres;
let store: PostgresGrantStore;
/** The bot's 'reconcile pass' log lines, and its warnings and errors. */
let passes: Array<Record<string, unknown>>;
let warnings: Array<{ level: number; msg: string }>;

beforeEach(async () => {
  database = await freshPostgresDatabase(inject('postgresUrl'));
  passes = [];
  warnings = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const line = JSON.parse(String(chunk)) as { level: number; msg: string };
      if (line.msg === 'reconcile pass') passes.push(line);
      if (line.level >= 40) warnings.push(line);
      done();
    },
  });
  h = await startHarness(ORDERS_POLICY, {
    redisUrl: `redis://127.0.0.1:${await freePort()}`,
    env: { QUEUE_BACKEND: 'postgres', DATABASE_URL: database.url, RECONCILE_INTERVAL: `${RECONCILE_SECONDS}s` },
    logger: pino({ level: 'debug' }, sink),
  });
  addRedisClusters(h.aws);
  records = await openPostgres(database.url);
  store = new PostgresGrantStore(records.db);
});

afterEach(async () => {
  await records.close();
  await h.stop();
  await database.drop();
});

/** SQL against the bot's queue schema in DATABASE_URL. */
async function queueSql<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${postgresSchemaOf(h.queuePrefix)}"`);
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

test('request, approve, rule added by the grant job, removed by id at expiry; ready without Redis', async () => {
  const reply = await h.command(`orders-redis ${SOURCE_GROUP} 2s on postgres`, 'U0ALICE');
  expect(reply.status).toBe(200);
  await h.click('approve', 1, 'U0BOB');
  await waitForStoredStatus(store, 1, 'active');
  const [awsRuleId] = [...h.aws.rules.keys()];
  expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toEqual([expect.objectContaining({ GroupId: TARGET_GROUP })]);
  expect(await queueSql('select id, state from job where id = \'revoke-1\'')).toEqual([{ id: 'revoke-1', state: 'delayed' }]);

  await waitForStoredStatus(store, 1, 'expired');
  expect(h.aws.callsOf('RevokeSecurityGroupIngress')).toEqual([{ GroupId: TARGET_GROUP, SecurityGroupRuleIds: [awsRuleId] }]);
  expect(h.aws.rules.size).toBe(0);
  const expired = (await store.get(1))!;
  expect(expired.endedAt!.getTime()).toBeGreaterThanOrEqual(expired.expiresAt!.getTime());

  const readyz = await fetch(`http://127.0.0.1:${h.bot.opsPort}/readyz`);
  expect(await readyz.json()).toEqual({ status: 'ready', checks: { database: 'ok', postgres: 'ok', slack: 'ok' } });
});

test('the reconcile scheduler runs from PostgreSQL and repairs a lost revoke job, so the rule still goes at expiry', async () => {
  await h.command(`orders-redis ${SOURCE_GROUP} 3s reconcile on postgres`, 'U0ALICE');
  await h.click('approve', 1, 'U0BOB');
  await waitForStoredStatus(store, 1, 'active');
  expect(await queueSql('select queue, scheduler_id, every_ms from scheduler')).toEqual([{ queue: 'cache-access-maintenance', scheduler_id: 'reconcile', every_ms: String(RECONCILE_SECONDS * 1000) }]);

  // The job is lost (as after a database restore): the next pass finds the active grant without one.
  await queueSql("delete from job where id = 'revoke-1'");
  await waitUntil(() => passes.some((pass) => Number(pass.revokesEnsured) > 0), RECONCILE_SECONDS * 3_000, 'a pass that re-creates the revoke job');
  await waitForStoredStatus(store, 1, 'expired');
  expect(h.aws.rules.size).toBe(0);
  // The passes came from BullMQ's job scheduler: the watchdog never found it missing or PostgreSQL unreachable.
  expect(warnings.map((line) => line.msg)).toEqual([]);
});
