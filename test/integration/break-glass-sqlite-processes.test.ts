/**
 * Break-glass's perDay limit on SQLite with several processes at once (web, workers and the CLI each open the
 * file): each counts and inserts inside one IMMEDIATE transaction, so an attempt either waits for the write lock
 * and counts the others, or is counted by them. (In a deferred one, attempts that counted at the same time fail
 * with SQLITE_BUSY when they go to insert: a read turning into a write does not wait for the lock.) In one
 * process the calls could only run one after another (better-sqlite3 is synchronous), so here each attempt
 * comes from a process of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/db/open.js';
import { buildProgram, killAll, startProgram, type BuiltProgram, type RunningProgram } from '../fakes/built-program.js';

const PROCESSES = 8;
const ROUNDS = 20;
const PER_DAY = 2;
/** From the release to the first round: every process has read the instant long before. */
const LEAD_MS = 500;

describe('break-glass on SQLite, several processes at the same moment', () => {
  let program: BuiltProgram;
  let dir: string;
  const running: RunningProgram[] = [];

  beforeAll(async () => {
    program = await buildProgram(['test/fixtures/break-glass-attempts.ts']);
    dir = mkdtempSync(join(tmpdir(), 'cache-access-break-glass-race-'));
  }, 60_000);
  afterEach(() => killAll(running));
  afterAll(() => {
    program?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lets exactly perDay through each round and refuses the others, each refusal counting the perDay stored', async () => {
    const path = join(dir, 'records.db');
    // Migrated before the processes start: their start-up is not what is raced.
    openDatabase(path).close();
    const attempts = join(program.dist, 'break-glass-attempts.js');
    for (let i = 0; i < PROCESSES; i++) {
      running.push(startProgram(attempts, [path, String(i), String(ROUNDS), String(PER_DAY)], {}, { stdin: 'pipe' }));
    }
    // The barrier: all have opened the file and wait; then all are given the same instant to start at.
    await Promise.all(running.map((each) => each.logged('ready')));
    const instant = Date.now() + LEAD_MS;
    for (const each of running) each.child.stdin!.end(String(instant));
    const outcomes = (await Promise.all(running.map((each) => each.logged('attempted')))).map((line) => line.outcomes as string[]);

    const byRound = Array.from({ length: ROUNDS }, (_, round) => outcomes.map((ofProcess) => ofProcess[round]).sort());
    const expected = [...Array<string>(PER_DAY).fill('created'), ...Array<string>(PROCESSES - PER_DAY).fill(`refused ${PER_DAY}`)];
    expect(byRound).toEqual(Array(ROUNDS).fill(expected));
    const sqlite = new Database(path, { readonly: true });
    try {
      expect(sqlite.prepare('SELECT count(*) FROM requests').pluck().get()).toBe(ROUNDS * PER_DAY);
    } finally {
      sqlite.close();
    }
  }, 60_000);
});
