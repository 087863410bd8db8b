/**
 * copy-records between real engines: a SQLite file made and migrated as the bot makes it, populated through the
 * store, copied into a fresh PostgreSQL database that the bot's own code then reads.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { copyRecords } from '../../src/adapters/db/copy/copy-records.js';
import { RECORD_TABLES } from '../../src/adapters/db/copy/record-tables.js';
import { openDatabase } from '../../src/adapters/db/open.js';
import { openPostgres } from '../../src/adapters/db/postgres/open.js';
import { openRecords, type Records } from '../../src/adapters/db/records.js';
import { ConflictError, NotFoundError, UpstreamError } from '../../src/domain/errors.js';
import { populateRecords, at } from '../support/populated-records.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { readingsOf } from '../support/records-readings.js';
import { requestDraft } from '../support/request-fixtures.js';

describe('copyRecords from SQLite to PostgreSQL', () => {
  let dir: string;
  let sqlitePath: string;
  let source: Records;
  let target: PostgresDatabase;
  const opened: Records[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-copy-'));
    sqlitePath = join(dir, 'cache-access.db');
    source = await openRecords({ databasePath: sqlitePath });
    target = await freshPostgresDatabase(inject('postgresUrl'));
  });
  afterEach(async () => {
    for (const records of [source, ...opened.splice(0)]) await records.close();
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const targetRecords = async () => {
    const records = await openRecords({ databaseUrl: target.url, databasePath: join(dir, 'unused.db') });
    opened.push(records);
    return records;
  };
  const draft = (seconds: number) => requestDraft({ createdAt: at(seconds) });
  const requested = (seconds: number) => ({ at: at(seconds), actor: 'U0REQUESTER', type: 'requested' as const, detail: { durationSeconds: 7200, reason: 'r' } });

  /** Each table's rows as drizzle maps them (Dates, booleans, parsed JSON), in id order. */
  async function rowsOnBothSides() {
    const sqlite = openDatabase(sqlitePath);
    const postgres = await openPostgres(target.url);
    try {
      const read = async (table: (typeof RECORD_TABLES)[number]) => ({
        table: table.name,
        sqlite: sqlite.db.select().from(table.sqlite).orderBy(asc(table.sqlite.id)).all(),
        postgres: await postgres.db.select().from(table.postgres).orderBy(asc(table.postgres.id)),
      });
      return await Promise.all(RECORD_TABLES.map(read));
    } finally {
      sqlite.close();
      await postgres.close();
    }
  }

  it('copies every row of every table, and the bot reads the same records on PostgreSQL as on SQLite', async () => {
    const { requestIds, ruleIds } = await populateRecords(source.store, source.auditOutbox);

    const outcome = await copyRecords(sqlitePath, target.url);

    expect(outcome).toEqual({
      copied: true,
      counts: [
        { table: 'ingress_rules', sqlite: 3, postgres: 3 },
        { table: 'requests', sqlite: 6, postgres: 6 },
        { table: 'approvals', sqlite: 3, postgres: 3 },
        { table: 'slack_messages', sqlite: 2, postgres: 2 },
        { table: 'events', sqlite: 22, postgres: 22 },
      ],
      nextRequestId: Math.max(...requestIds) + 1,
    });
    for (const { table, sqlite, postgres } of await rowsOnBothSides()) expect(postgres, table).toEqual(sqlite);
    const copied = await targetRecords();
    expect(await readingsOf(copied, requestIds, ruleIds)).toEqual(await readingsOf(source, requestIds, ruleIds));
  });

  it('keeps every id, and ids continue after the highest the file handed out, also where its row is gone', async () => {
    await populateRecords(source.store, source.auditOutbox);
    const { request: last } = await source.store.create(draft(90), requested(90));
    // Rows are never deleted by the bot; a hand-made deletion must still not let #last be handed out twice.
    const sqlite = openDatabase(sqlitePath);
    sqlite.sqlite.prepare('DELETE FROM events WHERE request_id = ?').run(last.id);
    sqlite.sqlite.prepare('DELETE FROM requests WHERE id = ?').run(last.id);
    sqlite.close();

    const outcome = await copyRecords(sqlitePath, target.url);

    expect(outcome).toMatchObject({ copied: true, nextRequestId: last.id + 1 });
    const copied = await targetRecords();
    const { request: next } = await copied.store.create(draft(100), requested(100));
    expect(next.id).toBe(last.id + 1);
    const rules = (await rowsOnBothSides()).find((side) => side.table === 'ingress_rules')!.sqlite;
    const spec = { securityGroupId: next.targetGroupId, protocol: 'tcp' as const, port: next.port, source: next.source };
    const rule = await copied.store.recordRuleIntent({ ...next, version: next.version + 1 }, spec, []);
    expect(rule.id).toBe(Math.max(...rules.map((row) => row.id as number)) + 1);
    expect(await copied.store.history(next.id)).toHaveLength(1);
  });

  it('refuses a target that holds a record, naming its table, and leaves it as it was', async () => {
    await populateRecords(source.store, source.auditOutbox);
    const copied = await targetRecords();
    const { request: existing } = await copied.store.create(draft(0), requested(0));

    const refused = copyRecords(sqlitePath, target.url);

    await expect(refused).rejects.toThrow(ConflictError);
    await expect(refused).rejects.toThrow('table requests holds records');
    expect(await copied.reader.requestCountsByStatus()).toEqual({ pending: 1 });
    expect(await copied.store.get(existing.id)).toEqual(existing);
    expect(await copied.store.history(existing.id)).toHaveLength(1);
  });

  it('leaves the target without a record, its ids unmoved, when PostgreSQL refuses a row in the middle', async () => {
    const { requestIds } = await populateRecords(source.store, source.auditOutbox);
    // SQLite keeps a NUL character in text; PostgreSQL refuses it. Events are the last table copied.
    const sqlite = openDatabase(sqlitePath);
    sqlite.sqlite.prepare('INSERT INTO events (request_id, at, actor, type) VALUES (?, ?, ?, ?)').run(requestIds[0], at(99).getTime(), 'operator:\u0000', 'note');
    sqlite.close();

    const failed = copyRecords(sqlitePath, target.url);

    await expect(failed).rejects.toThrow(UpstreamError);
    await expect(failed).rejects.toThrow(/^PostgreSQL refused events rows with ids 1–23: .*\\u0000 cannot be converted to text/);
    for (const { table, postgres } of await rowsOnBothSides()) expect(postgres, table).toEqual([]);
    const copied = await targetRecords();
    expect((await copied.store.create(draft(0), requested(0))).request.id).toBe(1);
  });

  it('refuses a DATABASE_PATH where there is no file, creating none', async () => {
    const missing = join(dir, 'elsewhere', 'cache-access.db');
    await expect(copyRecords(missing, target.url)).rejects.toThrow(NotFoundError);
    expect(existsSync(missing)).toBe(false);
  });
});
