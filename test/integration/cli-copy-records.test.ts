/**
 * `cache-access copy-records` through the real bin (dist/cli.js run by node): a SQLite file populated through the
 * store, copied into a fresh PostgreSQL database, and the audit export read from each engine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { openRecords } from '../../src/adapters/db/records.js';
import { buildProgram, runProgram, testAwsEnv, type BuiltProgram, type ProgramRun } from '../fakes/built-program.js';
import { populateRecords } from '../support/populated-records.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';

/** The test server trusts every local connection, so any password is accepted: this one must never be printed. */
const PASSWORD = 'pw-s3cret-9f2c';

describe('cache-access copy-records', () => {
  let program: BuiltProgram;
  let dir: string;
  let target: PostgresDatabase;
  let to: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    program = await buildProgram();
  }, 180_000);
  afterAll(() => program?.remove());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-cli-copy-'));
    writeFileSync(join(dir, 'policy.yml'), 'clusters:\n  - match: "orders-*"\n    approvers: [U0APPROVER]\n');
    env = { DATABASE_PATH: join(dir, 'cache-access.db'), POLICY_FILE: join(dir, 'policy.yml'), ...testAwsEnv(dir) };
    const source = await openRecords({ databasePath: env.DATABASE_PATH! });
    await populateRecords(source.store, source.auditOutbox);
    await source.close();
    target = await freshPostgresDatabase(inject('postgresUrl'));
    to = withPassword(target.url, PASSWORD);
  });
  afterEach(async () => {
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runProgram(join(program.dist, 'cli.js'), args, env);
  const printed = (run: ProgramRun) => run.stdout + run.stderr;

  it('copies the records, prints the counts per table, and the audit export prints the same bytes from PostgreSQL', async () => {
    const audit = (format: 'csv' | 'json') => cli('audit', '--since', '3650d', '--format', format);
    const before = { csv: await audit('csv'), json: await audit('json') };
    expect(before.csv.exitCode).toBe(0);
    expect(before.json.exitCode).toBe(0);

    const copy = await cli('copy-records', '--to', to);

    expect(copy.stderr).toBe('');
    expect(copy.exitCode).toBe(0);
    expect(copy.stdout.split('\n').slice(0, 6)).toEqual([
      'TABLE           SQLITE  POSTGRESQL',
      'ingress_rules        3           3',
      'requests             6           6',
      'approvals            3           3',
      'slack_messages       2           2',
      'events              22          22',
    ]);
    expect(copy.stdout).toContain(`Copied 36 rows from ${env.DATABASE_PATH} to ${withPassword(target.url, '***')}; the counts match. The next request will be #7.`);
    expect(printed(copy)).not.toContain(PASSWORD);

    env.DATABASE_URL = to;
    // PostgreSQL's jsonb keeps a detail's keys in an order of its own (shortest first), not as written.
    const after = { csv: await audit('csv'), json: await audit('json') };
    expect(after.csv).toEqual(before.csv);
    expect(after.json).toEqual(before.json);
    expect(JSON.parse(after.json.stdout)).toHaveLength(22);
    expect(after.csv.stdout.split('\r\n')).toHaveLength(1 + 22 + 1);
  });

  it('refuses a target that holds records (exit 3), naming the table, and changes nothing', async () => {
    expect((await cli('copy-records', '--to', to)).exitCode).toBe(0);
    env.DATABASE_URL = to;
    const grants = await cli('grants');

    const again = await cli('copy-records', '--to', to);

    expect(again.exitCode).toBe(3);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('The target database is not empty: table ingress_rules holds records.');
    expect(printed(again)).not.toContain(PASSWORD);
    expect(await cli('grants')).toEqual(grants);
  });

  it('fails (exit 1) without printing the password when the target cannot be reached', async () => {
    const unreachable = `postgres://cache:${PASSWORD}@127.0.0.1:1/records`;
    const run = await cli('copy-records', '--to', unreachable);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('ECONNREFUSED');
    expect(printed(run)).not.toContain(PASSWORD);
  });

  it('is listed in --help, and a missing or malformed --to is a usage error (exit 2) that does not repeat it', async () => {
    const help = await cli('--help');
    expect(help.stdout).toContain('  copy-records --to postgres://');
    expect((await cli('copy-records', '--help')).stdout).toContain('Usage: cache-access copy-records --to postgres://');

    const missing = await cli('copy-records');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('copy-records needs --to postgres://');

    const malformed = await cli('copy-records', '--to', `mysql://cache:${PASSWORD}@db/records`);
    expect(malformed.exitCode).toBe(2);
    expect(malformed.stderr).toContain('--to must be a postgres:// or postgresql:// URL');
    expect(printed(malformed)).not.toContain(PASSWORD);
  });
});

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.username ||= 'postgres';
  parsed.password = password;
  return parsed.toString();
}
