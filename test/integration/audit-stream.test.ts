/**
 * The audit stream end to end: the real bot (Slack through its HTTP endpoint, real Redis and SQLite)
 * POSTs every event of the event log to a local receiver as a signed CloudEvent, in order per request,
 * through a receiver outage and a restart of the bot, with the backlog visible in /metrics and /readyz.
 */
import { createHmac } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, expect, inject, test } from 'vitest';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { startAuditReceiver, type AuditReceiver } from '../support/audit-receiver.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { ORDERS_POLICY as POLICY } from '../support/policies.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';

const SECRET = 'audit-test-secret';

let receiver: AuditReceiver;
let h: BotHarness;

beforeEach(async () => {
  receiver = await startAuditReceiver();
  h = await startHarness(POLICY, { env: { AUDIT_WEBHOOK_URL: receiver.url, AUDIT_WEBHOOK_SECRET: SECRET, AUDIT_SOURCE: 'https://cache-access.test' } });
  addRedisClusters(h.aws, ['orders-redis']);
});

afterEach(async () => {
  await h.stop();
  await receiver.close();
});

interface EventRow {
  id: number;
  request_id: number;
  type: string;
}

const eventRows = () => h.query<EventRow>('select id, request_id, type from events order by id');
const undeliveredRows = () => h.query<{ n: number }>('select count(*) as n from events where audit_delivered_at is null')[0]!.n;

/** The ids the receiver accepted, each once, in the order each first arrived. */
function firstArrivals(): string[] {
  return [...new Set(receiver.accepted().map((event) => event.id as string))];
}

/** Waits until the receiver has accepted every event in the database (which has `atLeast`), and each is marked delivered. */
async function allDelivered(atLeast: number, timeoutMs = 20_000): Promise<void> {
  await waitUntil(
    () => {
      const rows = eventRows();
      const got = new Set(firstArrivals());
      return rows.length >= atLeast && rows.every((row) => got.has(String(row.id))) && undeliveredRows() === 0;
    },
    timeoutMs,
    `every event delivered (have ${firstArrivals().length} of ${eventRows().length})`,
  );
}

async function requestAndApprove(requestId: number, duration = '1h'): Promise<void> {
  const reply = await h.command(`orders-redis ${SOURCE_GROUP} ${duration} checkout latency INC-42`, 'U0ALICE');
  expect(reply.status).toBe(200);
  await h.click('approve', requestId, 'U0BOB');
  await waitUntil(() => h.query<{ status: string }>('select status from requests where id = ?', requestId)[0]?.status === 'active', 10_000, `#${requestId} active`);
}

async function opsGet(path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${h.bot.port}${path}`);
  return { status: response.status, text: await response.text() };
}

async function undeliveredMetric(): Promise<number> {
  const { text } = await opsGet('/metrics');
  const line = text.split('\n').find((l) => l.startsWith('cache_access_audit_events_undelivered '));
  if (!line) throw new Error('no cache_access_audit_events_undelivered in /metrics');
  return Number(line.split(' ')[1]);
}

test('request → approve: each event arrives as a CloudEvent signed over its exact body, in the order of the log', async () => {
  await requestAndApprove(1);
  await allDelivered(4);

  const rows = eventRows();
  expect(rows.map((r) => r.type)).toEqual(expect.arrayContaining(['requested', 'approved', 'activated']));
  for (const post of receiver.posts) {
    expect(post.headers['content-type']).toBe('application/cloudevents+json');
    const expected = `sha256=${createHmac('sha256', SECRET).update(post.body).digest('hex')}`;
    expect(post.headers['x-cache-access-signature']).toBe(expected);
  }
  // Signed with another secret, or over other bytes, the signature would not match.
  const [first] = receiver.posts;
  expect(`sha256=${createHmac('sha256', 'wrong').update(first!.body).digest('hex')}`).not.toBe(first!.headers['x-cache-access-signature']);

  expect(firstArrivals()).toEqual(rows.map((r) => String(r.id)));
  const events = receiver.accepted();
  const approved = events.find((e) => e.type === 'cache-access.request.approved')!;
  expect(approved).toMatchObject({
    specversion: '1.0',
    id: String(rows.find((r) => r.type === 'approved')!.id),
    source: 'https://cache-access.test',
    subject: '#1',
    datacontenttype: 'application/json',
    data: {
      requestId: 1,
      actor: 'U0BOB',
      request: {
        cluster: 'orders-redis',
        source: SOURCE_GROUP,
        requester: { id: 'U0ALICE' },
        reason: 'checkout latency INC-42',
        approvedBy: ['U0BOB'],
      },
    },
  });
  expect(new Date(approved.time).toISOString()).toBe(approved.time);
  const requested = events.find((e) => e.type === 'cache-access.request.requested')!;
  expect(requested.data.detail).toEqual({ durationSeconds: 3600, reason: 'checkout latency INC-42' });
  const activated = events.find((e) => e.type === 'cache-access.request.activated')!;
  expect(activated.data.request).toMatchObject({ status: 'active', expiresAt: expect.any(String) });
  expect(activated.data.detail).toMatchObject({ origin: 'cache-access' });

  expect(await undeliveredMetric()).toBe(0);
});

test('with a slow receiver, events appended while a delivery is under way still follow at once, in order', async () => {
  // The backlog sweep runs once a minute (RECONCILE_INTERVAL): delivery within seconds comes from the jobs.
  receiver.answerAfter(300);
  await requestAndApprove(1);
  await allDelivered(4, 15_000);
  expect(firstArrivals()).toEqual(eventRows().map((r) => String(r.id)));
});

test('a receiver refusing for a while loses nothing: the backlog shows in /metrics and /readyz (still ready), then everything arrives in order', async () => {
  receiver.refuse(true);
  await requestAndApprove(1);
  await waitUntil(() => receiver.posts.length >= 2, 10_000, 'retried deliveries');

  const backlog = await undeliveredMetric();
  expect(backlog).toBeGreaterThanOrEqual(3);
  const ready = await opsGet('/readyz');
  expect(ready.status).toBe(200);
  expect(JSON.parse(ready.text).details.auditBacklog).toMatchObject({ undelivered: backlog, oldestAgeSeconds: expect.any(Number) });
  expect(receiver.accepted()).toEqual([]);

  receiver.refuse(false);
  await allDelivered(backlog);
  expect(firstArrivals()).toEqual(eventRows().map((r) => String(r.id)));
  expect(receiver.posts.filter((p) => p.status === 503).length).toBeGreaterThanOrEqual(2);
  expect(await undeliveredMetric()).toBe(0);
  expect(JSON.parse((await opsGet('/readyz')).text).details.auditBacklog).toEqual({ undelivered: 0, oldestAgeSeconds: 0 });
});

test('events left undelivered when the bot stops are sent by the next bot on the same database, even with their jobs lost', async () => {
  await receiver.down();
  await requestAndApprove(1);
  await requestAndApprove(2);
  const before = eventRows();
  expect(undeliveredRows()).toBe(before.length);

  // Redis loses the delivery jobs too: only the database remembers what is still to send.
  await h.restart({
    before: async () => {
      const queue = new Queue(QUEUE_NAME, { connection: { url: inject('redisUrl') }, prefix: h.queuePrefix });
      await queue.remove('audit-1');
      await queue.remove('audit-2');
      expect(await queue.getJobState('audit-1')).toBe('unknown');
      await queue.close();
      await receiver.up();
    },
  });

  await allDelivered(before.length);
  const arrived = firstArrivals();
  expect(new Set(arrived).size).toBe(arrived.length);
  for (const requestId of [1, 2]) {
    const ofRequest = before.filter((r) => r.request_id === requestId).map((r) => String(r.id));
    expect(arrived.filter((id) => ofRequest.includes(id))).toEqual(ofRequest);
  }
});
