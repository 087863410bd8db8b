/** The audit export's reading of the event log, on each engine: every event since a time, or only unreviewed break-glass grants'. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { openRecords, type Records } from '../../src/adapters/db/records.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { requestDraft } from '../support/request-fixtures.js';
import type { StoreEngine } from '../support/store-engines.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe.each<StoreEngine>(['sqlite', 'postgres'])('RecordsReader.eventsSince on %s', (engine) => {
  let dir: string | undefined;
  let postgres: PostgresDatabase | undefined;
  let records: Records;

  beforeEach(async () => {
    if (engine === 'postgres') postgres = await freshPostgresDatabase(inject('postgresUrl'));
    else dir = mkdtempSync(join(tmpdir(), 'cache-access-reader-'));
    records = await openRecords({ databaseUrl: postgres?.url, databasePath: join(dir ?? '', 'db.sqlite') });
  });
  afterEach(async () => {
    await records.close();
    await postgres?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function requested(clusterId: string): Promise<AccessRequest> {
    const { request } = await records.store.create(requestDraft({ createdAt: T0, clusterId }), { at: T0, actor: 'U0ALICE', type: 'requested', detail: { durationSeconds: 3600, reason: 'r' } });
    return request;
  }

  async function brokenGlass(clusterId: string, seconds: number): Promise<AccessRequest> {
    const request = await requested(clusterId);
    const { next } = transition(request, { type: 'break-glass', by: request.requesterId }, at(seconds));
    await records.store.save(next, [{ at: at(seconds), actor: request.requesterId, type: 'break-glass', detail: { policyMatch: 'orders-*' } }]);
    return next;
  }

  it('returns the events since a time in the order recorded, and with the filter only those of unreviewed break-glass grants', async () => {
    await requested('orders-plain');
    const unreviewed = await brokenGlass('orders-open', 10);
    const reviewed = await brokenGlass('orders-reviewed', 20);
    const { next } = transition(reviewed, { type: 'review', by: 'U0BOB' }, at(30));
    await records.store.save(next, [{ at: at(30), actor: 'U0BOB', type: 'break-glass-reviewed' }]);

    const all = await records.reader.eventsSince(at(5));
    expect(all.map((e) => `${e.clusterId} ${e.type}`)).toEqual(['orders-open break-glass', 'orders-reviewed break-glass', 'orders-reviewed break-glass-reviewed']);
    const open = await records.reader.eventsSince(T0, { unreviewedBreakGlass: true });
    expect(open.map((e) => [e.requestId, e.type])).toEqual([
      [unreviewed.id, 'requested'],
      [unreviewed.id, 'break-glass'],
    ]);
  });
});
