/**
 * Operating the bot: /readyz and /metrics over HTTP after a real grant and revoke, Slack rate limits
 * waited out, invalid_blocks logged with the block path, and the web and worker roles split across
 * two bots sharing the database and Redis.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, test } from 'vitest';
import { createLogger } from '../../src/adapters/logger.js';
import { Metrics } from '../../src/adapters/metrics.js';
import { ObservedWebClient } from '../../src/adapters/slack/web-client.js';
import { loadConfig } from '../../src/config.js';
import { startBot, type RunningBot } from '../../src/main.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack-server.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { ORDERS_POLICY } from '../support/policies.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';
import { blockActionBody, postToSlackEndpoint, slashCommandBody } from '../support/slack-request.js';


const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Prometheus exposition text → { 'name{label="v",…}': value }, labels in the order printed. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await response.text());
}

async function withHarness(): Promise<BotHarness> {
  const h = await startHarness(ORDERS_POLICY);
  cleanups.push(() => h.stop());
  addRedisClusters(h.aws);
  return h;
}

describe('/readyz and /metrics', () => {
  test('ready once SQLite takes writes, Redis answers and Slack accepted the token', async () => {
    const h = await withHarness();
    const readyz = () => fetch(`http://127.0.0.1:${h.bot.port}/readyz`);
    // Not ready until the Redis connection is up and Slack answered auth.test.
    let response = await readyz();
    for (let tries = 0; response.status !== 200 && tries < 50; tries += 1) {
      expect(response.status).toBe(503);
      expect((await response.json()).status).toBe('not-ready');
      await new Promise((resolve) => setTimeout(resolve, 100));
      response = await readyz();
    }
    const body = await response.json();
    expect(body).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok', slack: 'ok' } });
    expect(response.status).toBe(200);
    expect(h.slack.callsTo('auth.test').length).toBeGreaterThanOrEqual(1);
  });

  test('after a grant and its revocation the scrape shows the request, decision, AWS calls, job timings and lag', async () => {
    const h = await withHarness();
    await h.command(`orders-redis ${SOURCE_GROUP} 1s checking metrics`, 'U0ALICE');
    await h.click('approve', 1, 'U0BOB');
    await waitUntil(() => h.query<{ status: string }>('select status from requests where id = 1')[0]?.status === 'expired', 15_000, '#1 expired');

    // The revoke job saves the end, then tells people: it is measured once it has finished.
    let m = await scrape(h.bot.port);
    for (let tries = 0; !m.get('cache_access_revocation_lag_seconds_count') && tries < 50; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      m = await scrape(h.bot.port);
    }
    expect(m.get('cache_access_requests{status="expired"}')).toBe(1);
    expect(m.get('cache_access_requests{status="pending"}')).toBe(0);
    expect(m.get('cache_access_decisions{decision="approved"}')).toBe(1);
    expect(m.get('cache_access_grants_active')).toBe(0);
    expect(m.get('cache_access_revocations_overdue')).toBe(0);
    expect(m.get('cache_access_aws_calls_total{action="AuthorizeSecurityGroupIngress",code="ok"}')).toBe(1);
    expect(m.get('cache_access_aws_calls_total{action="RevokeSecurityGroupIngress",code="ok"}')).toBe(1);
    expect(m.get('cache_access_job_duration_seconds_count{job="grant",outcome="ok"}')).toBe(1);
    expect(m.get('cache_access_job_duration_seconds_count{job="revoke",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('cache_access_revocation_lag_seconds_count')).toBe(1);
    const [row] = h.query<{ lag: number }>('select (ended_at - expires_at) / 1000.0 as lag from requests where id = 1');
    expect(m.get('cache_access_revocation_lag_seconds_sum')).toBeCloseTo(row!.lag, 3);
    expect(m.has('cache_access_queue_jobs{state="waiting"}')).toBe(true);
  });

  test('an active grant shows in the gauges while it lasts, and cluster look-ups are counted', async () => {
    const h = await withHarness();
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    await h.click('approve', 1, 'U0BOB');
    await waitUntil(() => h.query<{ status: string }>('select status from requests where id = 1')[0]?.status === 'active');
    const m = await scrape(h.bot.port);
    expect(m.get('cache_access_grants_active')).toBe(1);
    expect(m.get('cache_access_requests{status="active"}')).toBe(1);
    expect(m.get('cache_access_aws_calls_total{action="findCluster",code="ok"}')).toBeGreaterThanOrEqual(1);
  });
});

describe('Slack API limits', () => {
  test('a 429 is waited out for its Retry-After and the call then succeeds, counted as rate limited', async () => {
    const h = await withHarness();
    h.slack.failNext('chat.postMessage', 'ratelimited', { status: 429, retryAfter: 1 });
    const started = Date.now();
    await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
    // The fake records the refused call too; the message is stored only once a post succeeded.
    await waitUntil(() => h.query("select ts from slack_messages where kind = 'approval'").length === 1, 10_000, 'approval stored');
    // Retried only after the second Slack asked for, not at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.body.channel === 'C0APPROVALS')).toHaveLength(2);
    const m = await scrape(h.bot.port);
    expect(m.get('cache_access_slack_api_errors_total{method="chat.postMessage",code="ratelimited"}')).toBe(1);
  });

  test('a long Retry-After is not waited for; invalid_blocks is logged with the block path and counted', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _e, done) => void (lines.push(String(chunk)), done()) }));
    const metrics = new Metrics({ requestsByStatus: async () => ({}), decisions: async () => ({}), overdueRevocations: async () => 0 });
    const client = new ObservedWebClient({ config: { slack: { botToken: 'xoxb-x', apiUrl: slack.apiUrl } }, logger, metrics });

    await expect(
      client.chat.postMessage({ channel: 'C1', text: 'hi', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '' } }] as never }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    const logged = lines.map((line) => JSON.parse(line)).find((entry) => entry.code === 'invalid_blocks');
    expect(logged).toMatchObject({ method: 'chat.postMessage', level: 50 });
    expect(JSON.stringify(logged.errors)).toMatch(/\/blocks\/0/);

    slack.failNext('chat.postMessage', 'ratelimited', { status: 429, retryAfter: 3600 });
    await expect(client.chat.postMessage({ channel: 'C1', text: 'hi' })).rejects.toMatchObject({ code: 'slack_webapi_rate_limited_error' });
    const text = await metrics.registry.metrics();
    expect(parseMetrics(text).get('cache_access_slack_api_errors_total{method="chat.postMessage",code="invalid_blocks"}')).toBe(1);
    expect(parseMetrics(text).get('cache_access_slack_api_errors_total{method="chat.postMessage",code="ratelimited"}')).toBe(1);
  });
});

describe('process roles', () => {
  test('a web bot stores and asks; a separate worker on the same database and Redis grants', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-access-roles-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'policy.yml'), ORDERS_POLICY);
    const slack: FakeSlack = await startFakeSlack();
    cleanups.push(() => slack.close());
    const aws = new FakeAwsAccount();
    cleanups.push(() => aws.restore());
    addRedisClusters(aws);
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: 'roles-secret',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DATABASE_PATH: join(dir, 'db.sqlite'),
      REDIS_URL: inject('redisUrl'),
      POLICY_FILE: join(dir, 'policy.yml'),
    });
    const options = { logger: pino({ level: 'silent' }), queuePrefix: `roles-${randomUUID()}`, shutdownTimeoutMs: 1_000 };
    const web: RunningBot = await startBot(config, { ...options, role: 'web' });
    cleanups.push(() => web.stop());
    const reader = new Database(config.databasePath, { readonly: true });
    cleanups.push(() => void reader.close());
    const statusOf = () => (reader.prepare('select status from requests where id = 1').get() as { status: string } | undefined)?.status;
    const eventsUrl = `http://127.0.0.1:${web.port}/slack/events`;

    await postToSlackEndpoint(eventsUrl, 'roles-secret', slashCommandBody({ text: `orders-redis ${SOURCE_GROUP} 1h`, userId: 'U0ALICE', responseUrl: slack.responseUrl('r') }));
    const approval = await slack.waitFor((c) => c.method === 'chat.postMessage' && c.body.channel === 'C0APPROVALS');
    const ts = await waitUntil(() => (reader.prepare("select ts from slack_messages where kind = 'approval'").get() as { ts: string } | undefined)?.ts);
    await postToSlackEndpoint(
      eventsUrl,
      'roles-secret',
      blockActionBody({ userId: 'U0BOB', actionId: 'approve', value: '1', messageTs: ts, channelId: String(approval.body.channel), responseUrl: slack.responseUrl('c') }),
    );
    await waitUntil(() => statusOf() === 'approved');
    // The web role runs no jobs: the grant waits for a worker.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(statusOf()).toBe('approved');
    expect(aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(0);

    const worker = await startBot(config, { ...options, role: 'worker' });
    cleanups.push(() => worker.stop());
    await waitUntil(() => statusOf() === 'active', 10_000, '#1 active');
    expect(aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
    // The worker takes no Slack traffic but serves health, readiness and metrics on its own port.
    expect((await fetch(`http://127.0.0.1:${worker.port}/slack/events`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${worker.port}/readyz`)).status).toBe(200);
    // The grant job finishes (telling people) after saving the activation; its timing follows.
    let m = await scrape(worker.port);
    for (let tries = 0; !m.get('cache_access_job_duration_seconds_count{job="grant",outcome="ok"}') && tries < 50; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      m = await scrape(worker.port);
    }
    expect(m.get('cache_access_job_duration_seconds_count{job="grant",outcome="ok"}')).toBe(1);
  });
});
