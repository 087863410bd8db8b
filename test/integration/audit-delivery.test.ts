/**
 * The audit stream's parts on real things: the webhook sink against a local HTTP receiver, the store
 * announcing its appends, and the delivery use case on a real outbox of each engine (SQLite, PostgreSQL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, test } from 'vitest';
import { openRecords, type Records } from '../../src/adapters/db/records.js';
import { signatureOf, WebhookAuditSink } from '../../src/adapters/webhook/webhook-sink.js';
import { announcingAppends, deliverAuditEvents } from '../../src/app/audit-stream.js';
import type { AuditOutbox, AuditSink, GrantStore, LoggedEvent } from '../../src/app/ports.js';
import { ConflictError, UpstreamError } from '../../src/domain/errors.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { startAuditReceiver, type AuditReceiver } from '../support/audit-receiver.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { requestDraft } from '../support/request-fixtures.js';
import type { StoreEngine } from '../support/store-engines.js';

const T0 = new Date('2026-12-01T10:00:00Z');

let store: GrantStore;
let outbox: AuditOutbox;

/** Opens fresh records on `engine` around each test of the block that calls it. */
function onFreshRecords(engine: StoreEngine): void {
  let dir: string | undefined;
  let postgres: PostgresDatabase | undefined;
  let records: Records;
  beforeEach(async () => {
    if (engine === 'postgres') postgres = await freshPostgresDatabase(inject('postgresUrl'));
    else dir = mkdtempSync(join(tmpdir(), 'cache-access-audit-'));
    records = await openRecords({ databaseUrl: postgres?.url, databasePath: join(dir ?? '', 'db.sqlite') });
    ({ store, auditOutbox: outbox } = records);
  });
  afterEach(async () => {
    await records.close();
    await postgres?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}

/** A request stored with its `requested` event, then approved: two events. */
async function approvedRequest(): Promise<AccessRequest> {
  const { request } = await store.create(requestDraft({ createdAt: T0 }), { at: T0, actor: 'U0ALICE', type: 'requested', detail: { durationSeconds: 7200, reason: 'r' } });
  const { next } = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, T0);
  await store.save(next, [{ at: T0, actor: 'U0BOB', type: 'approved' }]);
  return next;
}

describe('the webhook sink', () => {
  onFreshRecords('sqlite');
  let receiver: AuditReceiver;
  const event: LoggedEvent = { id: 7, requestId: 1, at: T0, actor: 'U0BOB', type: 'approved' };
  const sink = (timeoutMs?: number) => new WebhookAuditSink({ url: receiver.url, secret: 'k', source: 'cache-access', timeoutMs });

  beforeEach(async () => {
    receiver = await startAuditReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  test('POSTs the event as a CloudEvent signed over the bytes it sent', async () => {
    const request = await approvedRequest();
    await sink().send(event, request);
    const [post] = receiver.posts;
    expect(post!.headers['x-cache-access-signature']).toBe(signatureOf(post!.body, 'k'));
    expect(JSON.parse(post!.body.toString())).toMatchObject({
      specversion: '1.0',
      id: '7',
      type: 'cache-access.request.approved',
      subject: '#1',
      time: T0.toISOString(),
      data: { requestId: 1, actor: 'U0BOB', request: { status: 'approved', cluster: 'orders-redis' } },
    });
    expect(JSON.parse(post!.body.toString()).data).not.toHaveProperty('detail');
  });

  test.each([
    ['refuses', async () => receiver.refuse(true), 'HTTP_503'],
    ['is down', () => receiver.down(), 'ECONNREFUSED'],
    ['does not answer in time', async () => receiver.answerAfter(1_000), 'TimeoutError'],
  ])('a receiver that %s fails the delivery with a retryable error', async (_, outage, code) => {
    await outage();
    const failure = await sink(200).send(event, await approvedRequest()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ service: 'audit-webhook', upstreamCode: code, retryable: true });
  });
});

describe.each<StoreEngine>(['sqlite', 'postgres'])('on %s', (engine) => {
  onFreshRecords(engine);

  describe('the store announcing its appends', () => {
    test('names the request after each committed append, and nothing after a write that failed', async () => {
      const announced: number[] = [];
      const announcing = announcingAppends(store, (id) => announced.push(id));
      const { request } = await announcing.create(requestDraft({ createdAt: T0 }), { at: T0, actor: 'U0ALICE', type: 'requested', detail: { durationSeconds: 60, reason: 'r' } });
      await announcing.recordEvent(request.id, { at: T0, actor: 'system', type: 'reminded', detail: { expiresAt: T0.toISOString() } });
      const { next } = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, T0);
      await announcing.save(next, [{ at: T0, actor: 'U0BOB', type: 'approved' }]);
      // A second save from the same version loses the race: nothing was written.
      await expect(Promise.resolve().then(() => announcing.save(next, [{ at: T0, actor: 'U0CAROL', type: 'approved' }]))).rejects.toThrow(ConflictError);
      await new Promise((resolve) => setImmediate(resolve));
      expect(announced).toEqual([request.id, request.id, request.id]);
      expect((await announcing.get(request.id))?.status).toBe('approved');
    });
  });

  describe('delivering a request’s events', () => {
    const clock = { now: () => T0 };

    test('a failure stops at that event; the retry starts from it, so nothing is skipped or reordered', async () => {
      const request = await approvedRequest();
      await store.recordEvent(request.id, { at: T0, actor: 'system', type: 'reminded', detail: { expiresAt: T0.toISOString() } });
      const sent: number[] = [];
      let failOn: number | undefined = (await outbox.undelivered(request.id, 10))[1]!.id;
      const sink: AuditSink = {
        async send(event) {
          if (event.id === failOn) throw new UpstreamError('audit-webhook', 'HTTP_503', 'refused', true);
          sent.push(event.id);
        },
      };
      const deps = { store, outbox, sink, clock };
      await expect(deliverAuditEvents(deps, request.id)).rejects.toThrow(UpstreamError);
      const ids = (await store.history(request.id)).length;
      expect(sent).toHaveLength(1);
      expect((await outbox.backlog()).undelivered).toBe(ids - 1);
      expect(await outbox.requestsWithUndelivered(10)).toEqual([request.id]);

      failOn = undefined;
      expect(await deliverAuditEvents(deps, request.id)).toBe(2);
      expect(sent).toEqual([...sent].sort((a, b) => a - b));
      expect(new Set(sent).size).toBe(3);
      expect(await outbox.backlog()).toEqual({ undelivered: 0 });
      expect(await outbox.requestsWithUndelivered(10)).toEqual([]);
    });

    test('the backlog names the time of the oldest waiting event, and the requests waiting longest come first', async () => {
      const first = await approvedRequest();
      const second = await approvedRequest();
      await outbox.markDelivered((await outbox.undelivered(first.id, 10))[0]!.id, T0);
      expect(await outbox.backlog()).toEqual({ undelivered: 3, oldestAt: T0 });
      expect(await outbox.requestsWithUndelivered(10)).toEqual([first.id, second.id]);
      expect(await outbox.requestsWithUndelivered(1)).toEqual([first.id]);
    });
  });
});
