/**
 * A grant's rule is removed where it was made, whatever the policy says by then: a reload that moves a
 * rule's region must neither strand the rule in AWS nor let the reconciler take it for removed. The fake
 * account keeps its groups and rules in eu-west-1 only, as AWS does: calls sent elsewhere find nothing.
 * Real bot, real Redis and SQLite.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { ORDERS_POLICY } from '../support/policies.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';

const policyIn = (region: string) => `${ORDERS_POLICY}    region: ${region}\n`;

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(policyIn('eu-west-1'), { env: { RECONCILE_INTERVAL: '1s' } });
  addRedisClusters(h.aws);
  h.aws.liveOnlyIn('eu-west-1');
});
afterEach(async () => {
  await h.stop();
});

const statusOf = (id: number) => h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;
const eventsOf = (id: number) => h.query<{ type: string }>('select type from events where request_id = ? order by id', id).map((e) => e.type);
const waitForStatus = (id: number, status: string, timeoutMs = 10_000) =>
  waitUntil(() => statusOf(id) === status, timeoutMs, `#${id} to be ${status} (is ${statusOf(id)})`);
const revokesSentTo = () => h.aws.origins.filter((o) => o.action === 'RevokeSecurityGroupIngress').map((o) => o.region);

async function grant(duration: string): Promise<void> {
  await h.command(`orders-redis ${SOURCE_GROUP} ${duration} testing`, 'U0ALICE');
  await h.click('approve', 1, 'U0BOB');
  await waitForStatus(1, 'active');
}

function moveRuleTo(region: string): void {
  h.writePolicy(policyIn(region));
  expect(h.bot.reloadPolicy()).toBe(true);
}

/** Waits for reconcile passes to run (one a second) after now. */
async function afterPasses(passes: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, passes * 1_000 + 500));
}

describe("a policy reload moves the cluster's rule to another region", () => {
  test('the grant records the place it was made in', async () => {
    await grant('1h');
    const [row] = h.query<{ aws_region: string; aws_account_id: string; aws_location_known: number }>(
      'select aws_region, aws_account_id, aws_location_known from ingress_rules',
    );
    expect(row).toEqual({ aws_region: 'eu-west-1', aws_account_id: '123456789012', aws_location_known: 1 });
  });

  test('at expiry the rule is removed in the region it was made in', async () => {
    await grant('2s');
    moveRuleTo('us-east-1');

    await waitForStatus(1, 'expired');
    expect(h.aws.rules.size).toBe(0);
    expect(revokesSentTo()).toEqual(['eu-west-1']);
  });

  test('the reconciler still checks the rule where it was made: not taken for removed, then found removed by hand', async () => {
    await grant('1h');
    moveRuleTo('us-east-1');

    await afterPasses(2);
    expect(statusOf(1)).toBe('active');
    expect(h.aws.rules.size).toBe(1);

    h.aws.rules.clear(); // someone removes it in the console
    await waitForStatus(1, 'revoked', 5_000);
    expect(eventsOf(1)).toContain('revoked-externally');
  });
});

describe('a grant recorded before locations were kept (its place a guess from the policy)', () => {
  function forgetLocation(): void {
    const db = new Database(h.databasePath);
    for (const table of ['requests', 'ingress_rules']) db.prepare(`update ${table} set aws_location_known = 0, aws_region = null`).run();
    db.close();
  }

  test('"not found" at a guessed place is not taken as removed; the revoke succeeds once the guess is right', async () => {
    await grant('2s');
    forgetLocation();
    moveRuleTo('us-east-1');

    await waitUntil(() => revokesSentTo().length >= 2, 10_000, 'revoke attempts at the guessed place');
    expect(statusOf(1)).toBe('active');
    expect(h.aws.rules.size).toBe(1);

    moveRuleTo('eu-west-1');
    await waitForStatus(1, 'expired', 70_000);
    expect(h.aws.rules.size).toBe(0);
  }, 90_000);
});
