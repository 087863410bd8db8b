/**
 * The event log is typed by kind (EventDetails in src/app/ports.ts): writing a misspelt kind or a
 * payload of the wrong shape does not compile (the @ts-expect-error lines below fail `tsc` if it
 * would), and a kind another version wrote is still read back, narrowed to none of ours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import { extensionsIn } from '../../src/app/extension-log.js';
import { isEvent } from '../../src/app/history-events.js';
import type { HistoryEvent, NewHistoryEvent } from '../../src/app/ports.js';
import { requestDraft } from '../support/request-fixtures.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');

describe('writing an event', () => {
  it('takes each kind with its own payload, and only that', () => {
    const written: NewHistoryEvent[] = [
      { at: T0, actor: 'system', type: 'reminded', detail: { expiresAt: T0.toISOString() } },
      { at: T0, actor: 'U0ALICE', type: 'approved' },
      { at: T0, actor: 'U0ALICE', type: 'revoke-requested' },
      // @ts-expect-error a misspelt kind
      { at: T0, actor: 'system', type: 'remindd', detail: { expiresAt: T0.toISOString() } },
      // @ts-expect-error a payload field the kind does not have
      { at: T0, actor: 'system', type: 'reminded', detail: { expires: T0.toISOString() } },
      // @ts-expect-error a payload of the wrong type (times are ISO strings in the JSON log)
      { at: T0, actor: 'system', type: 'reminded', detail: { expiresAt: T0 } },
      // @ts-expect-error a kind that records a payload, without it
      { at: T0, actor: 'system', type: 'failed' },
    ];
    expect(written).toHaveLength(7);
  });
});

describe('reading the log', () => {
  let dir: string;
  let opened: OpenedDatabase;
  let store: SqliteGrantStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-events-'));
    opened = openDatabase(join(dir, 'events.db'));
    store = new SqliteGrantStore(opened.db);
  });
  afterEach(() => {
    opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const requested = async () =>
    (await store.create(requestDraft({ createdAt: T0 }), {
      at: T0,
      actor: 'U0REQUESTER',
      type: 'requested',
      detail: { durationSeconds: 7200, reason: 'checkout latency' },
    })).request;

  it('narrows an event to its kind, payload and all', async () => {
    const request = await requested();
    const [event] = await store.history(request.id);
    expect(isEvent(event!, 'requested') && event.detail.durationSeconds).toBe(7200);
    expect(isEvent(event!, 'reminded')).toBe(false);
  });

  it('keeps a kind another version wrote, which no reader of ours mistakes for its own', async () => {
    const request = await requested();
    opened.sqlite
      .prepare('INSERT INTO events (request_id, at, actor, type, detail) VALUES (?, ?, ?, ?, ?)')
      .run(request.id, T0.getTime() + 1000, 'U0ALICE', 'extension-escalated', JSON.stringify({ seconds: 600 }));

    const history: HistoryEvent[] = await store.history(request.id);
    expect(history.map((e) => [e.type, e.detail])).toEqual([
      ['requested', { durationSeconds: 7200, reason: 'checkout latency' }],
      ['extension-escalated', { seconds: 600 }],
    ]);
    expect(history.filter((e) => isEvent(e, 'extension-requested'))).toEqual([]);
    expect(extensionsIn(history)).toEqual([]);
  });
});
