import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';

const journal = JSON.parse(readFileSync(new URL('../../migrations/sqlite/meta/_journal.json', import.meta.url), 'utf8')) as {
  entries: unknown[];
};

describe('openDatabase', () => {
  let dir: string;
  let path: string;
  let opened: OpenedDatabase | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-db-'));
    path = join(dir, 'data', 'nested', 'cache-access.db');
  });
  afterEach(() => {
    opened?.close();
    opened = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  function schemaSnapshot(o: OpenedDatabase): unknown[] {
    return o.sqlite.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all();
  }

  it('creates the parent directories and the file', () => {
    opened = openDatabase(path);
    expect(existsSync(path)).toBe(true);
  });

  it('sets WAL, NORMAL sync, foreign keys and a busy timeout', () => {
    opened = openDatabase(path);
    expect(opened.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(opened.sqlite.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(opened.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(opened.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('applies every migration, creating the tables', () => {
    opened = openDatabase(path);
    const tables = opened.sqlite
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual(
      expect.arrayContaining(['approvals', 'events', 'ingress_rules', 'requests', 'slack_messages']),
    );
    const applied = opened.sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get();
    expect(applied).toBe(journal.entries.length);
  });

  it('leaves an up-to-date file alone when opened again', () => {
    opened = openDatabase(path);
    const before = schemaSnapshot(opened);
    opened.close();

    opened = openDatabase(path);
    expect(schemaSnapshot(opened)).toEqual(before);
    expect(opened.sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get()).toBe(journal.entries.length);
  });

  it('opens a file made when the migrations lay directly in migrations/ without applying any again', () => {
    // What such a database holds (read from one made by that version): drizzle applies only migrations
    // newer than the last row, so the files moved to migrations/sqlite/ must keep their hashes and times.
    const madeBeforeTheMove = [
      { hash: '744c1daa7f310ce8afa5622996a7f8c607cf9f18e7c77840c3e5d4afce72eaa3', created_at: 1795679269696 },
      { hash: 'bd039880ef47094a66bfef02257751551550adbe1fe5bfc6bfcc1986e0f561e6', created_at: 1795681242365 },
      { hash: 'af7027d4d8f19593fdc08c227ccd567bb02819aad3e02813b620b81d57e9a19f', created_at: 1795683221787 },
      { hash: '11a4c4c728bd3205d0123804472e9b6792f57c3c638556e2b63cca4ad7113766', created_at: 1796113211666 },
      { hash: 'fa29ce51651a0c6cb4cb46ec57f2e50c453ffa027ec9c0373555a6fa2bd41443', created_at: 1796121419040 },
      { hash: 'c84a97fe1a3347e7391c2084bd11ea99d5a4a30eb84d8ca0b657aafc6842e75e', created_at: 1796127851069 },
    ];
    opened = openDatabase(path);
    expect(opened.sqlite.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY id').all()).toEqual(madeBeforeTheMove);
  });

  it('enforces foreign keys', () => {
    opened = openDatabase(path);
    const insertOrphan = opened.sqlite.prepare(
      "INSERT INTO events (request_id, at, actor, type) VALUES (999, 0, 'system', 'created')",
    );
    expect(() => insertOrphan.run()).toThrow(/FOREIGN KEY/);
  });
});
