/**
 * Several processes (web, workers, a CLI run) starting together on one fresh database file: each
 * migrates at start-up, and every one of them must come up with the schema applied exactly once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, runProgram, type BuiltProgram } from '../fakes/built-program.js';

const PROCESSES = 10;
/** How long the test holds the write lock once the children have started opening. */
const HOLD_MS = 1_000;

const journal = JSON.parse(readFileSync(new URL('../../migrations/sqlite/meta/_journal.json', import.meta.url), 'utf8')) as {
  entries: unknown[];
};

describe('openDatabase from many processes at once', () => {
  let program: BuiltProgram;
  let dir: string;
  let opener: string;

  beforeAll(async () => {
    // Each child waits for a common instant, so their opens overlap despite uneven start-up times.
    program = await buildProgram(['test/fixtures/open-at.ts']);
    dir = mkdtempSync(join(tmpdir(), 'cache-access-db-race-'));
    opener = join(program.dist, 'open-at.js');
  }, 60_000);
  afterAll(() => {
    program?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every process opens a fresh file and the migrations are applied once', async () => {
    const path = join(dir, 'fresh.db');
    // The file as the first process to arrive leaves it (WAL, drizzle's empty bookkeeping table), with a
    // write lock held while the others start: what a slow peer's migration looks like, made certain.
    const peer = new Database(path);
    peer.pragma('journal_mode = WAL');
    peer.exec('CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
    peer.exec('BEGIN IMMEDIATE');
    const at = Date.now() + 1_500;
    const running = Promise.all(Array.from({ length: PROCESSES }, () => runProgram(opener, [path, String(at)], {})));
    await new Promise((resolve) => setTimeout(resolve, at + HOLD_MS - Date.now()));
    peer.exec('ROLLBACK');
    peer.close();
    const runs = await running;

    expect(runs.map((run) => (run.exitCode === 0 ? 'ok' : (/SqliteError: .*/.exec(run.stderr) ?? [run.stderr])[0]))).toEqual(
      Array(PROCESSES).fill('ok'),
    );
    const sqlite = new Database(path, { readonly: true });
    try {
      expect(sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get()).toBe(journal.entries.length);
    } finally {
      sqlite.close();
    }
  }, 60_000);
});
