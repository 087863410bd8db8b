/**
 * copy-records' password from PGPASSWORD, against a PostgreSQL server of this file's own that asks for a
 * password (the run's shared one trusts every connection, so any password would pass there). The CLI runs in
 * this process through runCli with an env argument, as src/cli.ts runs it: the pg driver would also read
 * PGPASSWORD from process.env itself, which a child process given the variable would hide.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openRecords } from '../../src/adapters/db/records.js';
import { runCli } from '../../src/cli/run.js';
import { populateRecords } from '../support/populated-records.js';
import { freshPostgresDatabase, type PostgresDatabase } from '../support/postgres-database.js';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server.js';

/** What a URL would have to percent-encode, and a '%' that must not be decoded on the way. */
const PASSWORD = 'pw s3cret@9f/2c:%41é';
const WRONG = 'not-the-pw-7d1e';

describe('cache-access copy-records with the password in PGPASSWORD', () => {
  let server: PostgresServer;
  let dir: string;
  let target: PostgresDatabase;
  /** The target's URL without a password. */
  let to: string;
  let databasePath: string;

  beforeAll(async () => {
    server = await startPostgresServer({ password: PASSWORD });
  }, 60_000);
  afterAll(() => server?.stop());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-cli-copy-pw-'));
    databasePath = join(dir, 'cache-access.db');
    const source = await openRecords({ databasePath });
    await populateRecords(source.store, source.auditOutbox);
    await source.close();
    target = await freshPostgresDatabase(withPassword(server.url, PASSWORD));
    to = withPassword(target.url, '');
  });
  afterEach(async () => {
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(args: string[], env: Record<string, string> = {}) {
    let stdout = '';
    let stderr = '';
    const exitCode = await runCli(args, {
      env: { DATABASE_PATH: databasePath, ...env },
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { exitCode, stdout, stderr, printed: stdout + stderr };
  }
  const copyRecords = (url: string, env?: Record<string, string>) => cli(['copy-records', '--to', url], env);

  it('says so in its --help', async () => {
    const help = await cli(['copy-records', '--help']);
    expect(help.stdout).toContain('Usage: cache-access copy-records --to postgres://user@host:5432/database');
    expect(help.stdout).toContain('Its password comes from PGPASSWORD when the URL');
  });

  it('connects with PGPASSWORD when the --to URL has no password, and prints it as ***', async () => {
    // Otherwise the driver could find the password on its own, and this would pass without the CLI passing it on.
    expect(process.env.PGPASSWORD).toBeUndefined();

    const run = await copyRecords(to, { PGPASSWORD: PASSWORD });

    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`Copied 36 rows from ${databasePath} to ${withPassword(target.url, '***')}; the counts match.`);
    expect(run.printed).not.toContain(PASSWORD);
    expect(run.printed).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('uses the password in the URL over PGPASSWORD, still printing neither', async () => {
    const run = await copyRecords(withPassword(to, PASSWORD), { PGPASSWORD: WRONG });

    expect(run.exitCode).toBe(0);
    expect(run.printed).not.toContain(PASSWORD);
    expect(run.printed).not.toContain(WRONG);
  });

  it('is refused by the server (exit 1) without a password, or with a wrong PGPASSWORD, which is not printed', async () => {
    const wrong = await copyRecords(to, { PGPASSWORD: WRONG });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('password authentication failed for user "postgres"');
    expect(wrong.printed).not.toContain(WRONG);

    const none = await copyRecords(to);
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toBe('');

    // Neither attempt left a record: the right password copies all of them.
    expect((await copyRecords(to, { PGPASSWORD: PASSWORD })).exitCode).toBe(0);
  });
});

/** `url` with `password` (percent-encoded), or with none when it is ''. */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}
