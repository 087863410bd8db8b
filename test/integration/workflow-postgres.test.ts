/** The core workflow end to end with the records in PostgreSQL (DATABASE_URL): request → approve → active → expire → rule removed. */
import { afterEach, beforeEach, expect, inject, test } from 'vitest';
import { PostgresGrantStore } from '../../src/adapters/db/postgres/grant-store.js';
import { openPostgres, type OpenedPostgres } from '../../src/adapters/db/postgres/open.js';
import { startHarness, type BotHarness } from '../support/bot-harness.js';
import { ORDERS_POLICY } from '../support/policies.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';
import { waitForStoredStatus as waitForStatus } from '../support/stored-status.js';

let database: PostgresDatabase;
let h: BotHarness;
let records: OpenedPostgres;

beforeEach(async () => {
  database = await freshPostgresDatabase(inject('postgresUrl'));
  h = await startHarness(ORDERS_POLICY, { env: { DATABASE_URL: database.url } });
  addRedisClusters(h.aws, ['orders-redis']);
  records = await openPostgres(database.url);
});

afterEach(async () => {
  await records.close();
  await h.stop();
  await database.drop();
});

test('a grant is approved, made active, expires and its rule is removed, all recorded in PostgreSQL', async () => {
  const store = new PostgresGrantStore(records.db);
  const reply = await h.command(`orders-redis ${SOURCE_GROUP} 2s debugging checkout latency`, 'U0ALICE');
  expect(reply.status).toBe(200);
  await h.approvalMessage(1);

  await h.click('approve', 1, 'U0BOB');
  await waitForStatus(store, 1, 'active');
  const [authorize] = h.aws.callsOf('AuthorizeSecurityGroupIngress') as any[];
  expect(authorize.GroupId).toBe(TARGET_GROUP);
  const rule = (await store.getRule((await store.get(1))!.ruleRecordId!))!;
  expect(rule.state).toBe('in-place');

  await waitForStatus(store, 1, 'expired');
  const [revoke] = h.aws.callsOf('RevokeSecurityGroupIngress') as any[];
  expect(revoke.SecurityGroupRuleIds).toEqual([rule.awsRuleId]);
  expect((await store.getRule(rule.id))?.state).toBe('removed');
  expect((await store.history(1)).map((e) => e.type)).toEqual(['requested', 'approved', 'rule-requested', 'activated', 'expired']);
});
