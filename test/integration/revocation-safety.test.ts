/**
 * "Access ends on time, whatever happens": shared rules, hand-made rules, crashes, Redis data loss,
 * downtime through an expiry, AWS throttling on revoke, rules removed by hand. Real bot, real Redis
 * (a private redis-server, since some tests FLUSHALL it), real SQLite, AWS as a stateful fake account.
 */
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase } from '../../src/adapters/db/open.js';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { REMINDED } from '../../src/app/remind.js';
import { BUILT_IN_DEFAULTS } from '../../src/policy.js';
import { ec2Error } from '../fakes/aws-account.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { ORDERS_POLICY } from '../support/policies.js';
import { addRedisClusters, SOURCE_GROUP, TARGET_GROUP } from '../support/redis-clusters.js';
import { startRedisServer, type RedisServer } from '../support/redis-global-setup.js';

const RECONCILE_SECONDS = 1;
/** Time for the pass itself and the revoke job, on a loaded 2-core CI machine. */
const SLACK_MS = 2_500;

let redis: RedisServer;
let h: BotHarness;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});

async function startBot(logger?: Logger): Promise<BotHarness> {
  const harness = await startHarness(ORDERS_POLICY, { redisUrl: redis.url, env: { RECONCILE_INTERVAL: `${RECONCILE_SECONDS}s` }, logger });
  addRedisClusters(harness.aws);
  return harness;
}

beforeEach(async () => {
  h = await startBot();
});
afterEach(async () => {
  await h.stop();
});

const statusOf = (id: number) => h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;
const eventsOf = (id: number) => h.query<{ type: string }>('select type from events where request_id = ? order by id', id).map((e) => e.type);
const expiresAt = (id: number) => h.query<{ expires_at: number }>('select expires_at from requests where id = ?', id)[0]!.expires_at;
const endedAt = (id: number) => h.query<{ ended_at: number }>('select ended_at from requests where id = ?', id)[0]!.ended_at;
const waitForStatus = (id: number, status: string, timeoutMs = 10_000) =>
  waitUntil(() => statusOf(id) === status, timeoutMs, `#${id} to be ${status} (is ${statusOf(id)})`);

async function grant(duration: string, id: number): Promise<void> {
  await h.command(`orders-redis ${SOURCE_GROUP} ${duration} testing`, 'U0ALICE');
  await h.click('approve', id, 'U0BOB');
  await waitForStatus(id, 'active');
}

async function flushRedis(): Promise<void> {
  const client = new Redis(redis.url);
  await client.flushall();
  client.disconnect();
}

describe('shared rules', () => {
  test('two overlapping grants share one rule: present after the first expires, gone after the second', async () => {
    await grant('2s', 1);
    await grant('4s', 2);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
    expect(h.aws.rules.size).toBe(1);
    expect(h.query('select count(*) as n from ingress_rules')).toEqual([{ n: 1 }]);

    await waitForStatus(1, 'expired');
    expect(h.aws.rules.size).toBe(1);
    expect(h.aws.callsOf('RevokeSecurityGroupIngress')).toHaveLength(0);

    await waitForStatus(2, 'expired');
    expect(h.aws.rules.size).toBe(0);
    expect(h.aws.callsOf('RevokeSecurityGroupIngress')).toHaveLength(1);
  });

  test('a rule someone made by hand covers the grant and is never removed', async () => {
    const manual = h.aws.addManualRule(TARGET_GROUP, 6379, SOURCE_GROUP);
    await grant('2s', 1);
    const dm = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('not time-limited'));
    expect(String(dm.body.channel)).toMatch(/^D/);
    expect(h.query('select origin, aws_rule_id from ingress_rules')).toEqual([{ origin: 'pre-existing', aws_rule_id: manual }]);

    await waitForStatus(1, 'expired');
    await new Promise((resolve) => setTimeout(resolve, RECONCILE_SECONDS * 1500)); // a reconcile pass too
    expect(h.aws.rules.has(manual)).toBe(true);
    expect(h.aws.callsOf('RevokeSecurityGroupIngress')).toHaveLength(0);
  });
});

describe('crashes and lost jobs', () => {
  test('killed between AuthorizeSecurityGroupIngress and the database update: adopted after restart, revoked on time', async () => {
    h.aws.holdNext('AuthorizeSecurityGroupIngress');
    await h.command(`orders-redis ${SOURCE_GROUP} 2s testing`, 'U0ALICE');
    await h.click('approve', 1, 'U0BOB');
    await waitUntil(() => h.aws.rules.size === 1, 10_000, 'the rule to exist in AWS');
    expect(statusOf(1)).toBe('approved');
    expect(h.query('select state from ingress_rules')).toEqual([{ state: 'pending' }]);

    // The process dies with the job in flight; its lock would only expire in 30 s, and this crash also lost Redis.
    await h.restart({ before: flushRedis });
    await waitForStatus(1, 'active');
    const [awsRuleId] = [...h.aws.rules.keys()];
    expect(h.query('select state, aws_rule_id from ingress_rules')).toEqual([{ state: 'in-place', aws_rule_id: awsRuleId }]);
    expect(h.aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(2); // the retry met the duplicate and adopted it

    await waitForStatus(1, 'expired');
    expect(h.aws.rules.size).toBe(0);
  });

  test('a tagged rule no grant accounts for (an orphan) is revoked and logged', async () => {
    await grant('1h', 1);
    const orphan = h.aws.addManualRule(TARGET_GROUP, 6380, SOURCE_GROUP, [{ Key: 'cache-access:grant-id', Value: '99' }]);
    await waitUntil(() => !h.aws.rules.has(orphan), RECONCILE_SECONDS * 3000, 'the orphan to be revoked');
    expect(h.aws.callsOf('RevokeSecurityGroupIngress')).toEqual([{ GroupId: TARGET_GROUP, SecurityGroupRuleIds: [orphan] }]);
    expect(statusOf(1)).toBe('active');
    expect(h.aws.rules.size).toBe(1);
  });

  test('Redis FLUSHALL while grants are active: every rule still revoked within one reconcile interval after expiry', async () => {
    await grant('2s', 1);
    await grant('3s', 2);
    await flushRedis();
    await waitForStatus(1, 'expired', 10_000);
    await waitForStatus(2, 'expired', 10_000);
    expect(h.aws.rules.size).toBe(0);
    for (const id of [1, 2]) {
      expect(endedAt(id) - expiresAt(id)).toBeLessThanOrEqual(RECONCILE_SECONDS * 1000 + SLACK_MS);
    }
  });

  test('bot down through an expiry: revoked within one reconcile interval of start-up', async () => {
    await grant('1s', 1);
    await h.stopBot();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(h.aws.rules.size).toBe(1);
    const restartedAt = Date.now();
    await h.restart();
    await waitForStatus(1, 'expired', 5_000);
    expect(endedAt(1) - restartedAt).toBeLessThanOrEqual(RECONCILE_SECONDS * 1000 + SLACK_MS);
    expect(h.aws.rules.size).toBe(0);
  });

  test('bot down through an expiry and Redis emptied before it starts: the reconciler revokes the overdue grant it finds without a job', async () => {
    await grant('1s', 1);
    await h.stopBot();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await flushRedis();
    const restartedAt = Date.now();
    await h.restart();
    await waitForStatus(1, 'expired', 5_000);
    expect(endedAt(1) - restartedAt).toBeLessThanOrEqual(RECONCILE_SECONDS * 1000 + SLACK_MS);
    expect(h.aws.rules.size).toBe(0);
  });
});

describe('lost reminders', () => {
  /** The bot's 'reconcile pass' log lines, one per finished pass (passes in one process never overlap). */
  let passes: Array<Record<string, any>>;
  let queue: Queue;

  beforeEach(async () => {
    // These tests count reconcile passes in the bot's log: a bot of their own, logging at debug level.
    await h.stop();
    passes = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        if (String(chunk).includes('"msg":"reconcile pass"')) passes.push(JSON.parse(String(chunk)));
        done();
      },
    });
    h = await startBot(pino({ level: 'debug' }, sink));
    queue = new Queue(QUEUE_NAME, { connection: { url: redis.url }, prefix: h.queuePrefix });
  });
  afterEach(async () => {
    await queue.close();
  });

  const passesAfterNow = (count: number) => {
    const seen = passes.length;
    return waitUntil(() => passes.length >= seen + count, RECONCILE_SECONDS * 1000 * (count + 3), `${count} more reconcile pass(es)`);
  };
  /** Records that the requester of `id` was reminded of the expiry `expiry` (ms), as the remind job does. */
  async function recordReminded(id: number, expiry: number): Promise<void> {
    const database = openDatabase(h.databasePath);
    try {
      const detail = { expiresAt: new Date(expiry).toISOString() };
      await new SqliteGrantStore(database.db).recordEvent(id, { at: new Date(), actor: 'system', type: REMINDED, detail });
    } finally {
      database.close();
    }
  }

  test('Redis FLUSHALL: a reminder still to come is re-created once; none for a grant already reminded of its expiry', async () => {
    await grant('1h', 1);
    await grant('1h', 2);
    // #1 was reminded of the expiry it has now; #2 only of an earlier one (as before an extension).
    await recordReminded(1, expiresAt(1));
    await recordReminded(2, expiresAt(2) - 3_600_000);
    // A pass that read the history before those events is over once one more pass has finished.
    await passesAfterNow(1);
    await flushRedis();

    const recreated = await vi.waitFor(
      async () => {
        const job = await queue.getJob('remind-2');
        expect(job).toBeDefined();
        return job!;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(recreated).toMatchObject({ name: 'remind', data: { requestId: 2 } });
    expect(await queue.getJobState('remind-2')).toBe('delayed');
    // Due remindBefore ahead of the expiry (the delay counts from the moment the job was added).
    const dueAt = recreated.timestamp + recreated.delay;
    const remindAt = expiresAt(2) - BUILT_IN_DEFAULTS.remindBefore * 1000;
    expect(dueAt).toBeGreaterThanOrEqual(remindAt);
    expect(dueAt).toBeLessThan(remindAt + 1_000);

    // The pass that re-created it may still be finishing: after two more, later passes have run too.
    await passesAfterNow(2);
    const kept = await queue.getJob('remind-2');
    expect({ timestamp: kept?.timestamp, delay: kept?.delay }).toEqual({ timestamp: recreated.timestamp, delay: recreated.delay });
    expect(await queue.getJobState('remind-1')).toBe('unknown');
    expect(await queue.getJobState('revoke-1')).toBe('delayed'); // the passes did reach #1
    expect(passes.at(-1)).toMatchObject({ revokesEnsured: 2, remindersEnsured: 1, errors: [] });
  });
});

describe('AWS trouble and outside changes', () => {
  test('throttled revocations are retried; an overdue warning is raised once and cleared', async () => {
    await grant('1s', 1);
    h.aws.failNext('RevokeSecurityGroupIngress', 3, () => ec2Error('RequestLimitExceeded', 503, 'Request limit exceeded.'));
    await waitForStatus(1, 'expired', 20_000);
    expect(h.aws.rules.size).toBe(0);
    expect(eventsOf(1)).toEqual(expect.arrayContaining(['revocation-overdue', 'expired', 'revocation-overdue-cleared']));
    expect(eventsOf(1).filter((e) => e === 'revocation-overdue')).toHaveLength(1);
    await h.slack.waitFor((c) => c.body.thread_ts !== undefined && String(c.body.text).includes('overdue revocation succeeded'));
    const threadPosts = h.slack.callsTo('chat.postMessage').filter((c) => c.body.thread_ts !== undefined).map((c) => String(c.body.text));
    expect(threadPosts.filter((t) => t.includes('could not be removed yet'))).toHaveLength(1);
  }, 30_000);

  test('a rule removed by hand is recorded as revoked externally and the requester is told', async () => {
    await grant('1h', 1);
    const [awsRuleId] = [...h.aws.rules.keys()];
    h.aws.rules.delete(awsRuleId!);
    await waitForStatus(1, 'revoked', RECONCILE_SECONDS * 3000);
    expect(eventsOf(1)).toContain('revoked-externally');
    expect(h.query('select ended_by from requests where id = 1')).toEqual([{ ended_by: 'aws' }]);
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('removed outside cache-access'));
    expect(h.aws.callsOf('RevokeSecurityGroupIngress')).toHaveLength(0);
  });
});

describe('delivered twice, done once', () => {
  test('the same approval click delivered twice gives one decision and one rule', async () => {
    await h.command(`orders-redis ${SOURCE_GROUP} 1h testing`, 'U0ALICE');
    await h.approvalMessage(1);
    const [first, second] = await Promise.all([h.click('approve', 1, 'U0BOB'), h.click('approve', 1, 'U0BOB')]);
    await waitForStatus(1, 'active');
    const answer = await h.slack.waitForResponse((r) => r.name === first.responseName || r.name === second.responseName);
    expect(String(answer.body.text)).toMatch(/already approved/);
    expect(h.query('select count(*) as n from approvals')).toEqual([{ n: 1 }]);
    expect(eventsOf(1).filter((e) => e === 'activated')).toHaveLength(1);
    expect(h.aws.rules.size).toBe(1);
  });
});

describe('Redis down', () => {
  test('requests are still stored and approvers asked; an approval is recorded, the requester told it is delayed, and the grant enqueued by the running bot once Redis is back', async () => {
    await redis.kill();
    const reply = await h.command(`orders-redis ${SOURCE_GROUP} 1h testing`, 'U0ALICE');
    expect(reply.status).toBe(200);
    await h.approvalMessage(1);
    expect(statusOf(1)).toBe('pending');

    await h.click('approve', 1, 'U0BOB');
    await waitForStatus(1, 'approved');
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('Processing is delayed'), {
      timeoutMs: 15_000,
    });
    expect(h.aws.rules.size).toBe(0);

    // Redis comes back, empty: the running bot's reconciler (its watchdog: the job scheduler is gone too)
    // enqueues the grant within about one interval plus a reconnect; BullMQ's worker resumes its loop
    // up to 15 s after a connection error (its runRetryDelay), so allow for that.
    await redis.start();
    await waitForStatus(1, 'active', 30_000);
    expect(h.aws.rules.size).toBe(1);
  }, 60_000);
});
