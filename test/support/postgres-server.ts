/**
 * A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary folder, `pg_ctl start` on a free
 * loopback port, removed afterwards. PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to
 * the `postgres` user that Debian's package creates. Each test file takes a database of its own (freshDatabase).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** initdb and pg_ctl: on PATH, or in Debian's versioned folder (not on PATH by default), newest first. */
function serverBinaries(): { initdb: string; pgCtl: string } {
  const onPath = spawnSync('initdb', ['--version'], { stdio: 'ignore' });
  if (onPath.status === 0) return { initdb: 'initdb', pgCtl: 'pg_ctl' };
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'The tests need a PostgreSQL server: set TEST_DATABASE_URL to one (a user that may CREATE DATABASE), or ' +
        'install it (Debian/Ubuntu: apt-get install -y postgresql; macOS: brew install postgresql).',
    );
  }
  const bin = join(root, versions[0]!, 'bin');
  return { initdb: join(bin, 'initdb'), pgCtl: join(bin, 'pg_ctl') };
}

/** Under root, the uid/gid the cluster runs as; otherwise undefined (the current user). */
function unprivilegedOwner(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const found = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (found.status === 0) {
      const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim();
      return { uid: Number(found.stdout.trim()), gid: Number(gid) };
    }
  }
  throw new Error('Running as root, and neither a postgres nor a nobody user exists to own the test cluster.');
}

export interface PostgresServer {
  /** A superuser URL to the `postgres` database. */
  url: string;
  /** Kills the server (immediate shutdown, as a crash would) and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresServerOptions {
  /**
   * The superuser's password, which the server then asks for on every TCP connection (SCRAM); the URL does not
   * hold it. Without it, the server trusts every connection.
   */
  password?: string;
}

export async function startPostgresServer({ password }: PostgresServerOptions = {}): Promise<PostgresServer> {
  const { initdb, pgCtl } = serverBinaries();
  const owner = unprivilegedOwner();
  const port = await freePort();
  const dir = mkdtempSync('/tmp/cache-access-pg-');
  const data = join(dir, 'data');
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
  }
  const run = (file: string, args: string[]) =>
    execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], uid: owner?.uid, gid: owner?.gid, cwd: dir });
  run(initdb, ['-D', data, '-U', 'postgres', ...authentication(dir, password, owner), '--no-sync', '-E', 'UTF8', '--locale=C']);
  // fsync off: a throwaway cluster needs no durability, and tests run several times faster without it.
  // A client that gives up half-way through a password exchange (pg does when it has no password: brianc/node-postgres#2907)
  // leaves its connection open, which holds up DROP DATABASE until the server times the exchange out: after 1 s, not 60.
  const authTimeout = password === undefined ? '' : ' -c authentication_timeout=1s';
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300${authTimeout}`;
  const start = () => run(pgCtl, ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      // 'fast', not 'immediate': with synchronous_commit off, an immediate stop (a crash) loses the last
      // commits, BullMQ's schema migration among them, which a real server would have kept.
      run(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
      start();
    },
    async stop() {
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** initdb's authentication options; a password goes through a file of its own (initdb reads no other way unprompted). */
function authentication(dir: string, password: string | undefined, owner: { uid: number; gid: number } | undefined): string[] {
  if (password === undefined) return ['--auth=trust'];
  const file = join(dir, 'superuser-password');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(file, owner.uid, owner.gid);
  return ['--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${file}`];
}
