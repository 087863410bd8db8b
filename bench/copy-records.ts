/**
 * copy-records over a long-running installation's SQLite file (every grant requested, approved, activated and
 * expired: five events, one approval and one rule each) into a fresh PostgreSQL database of a throwaway server,
 * several times; each time covers opening both sides, the migrations, the copy, the counts and the commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyRecords, type TableCount } from '../src/adapters/db/copy/copy-records.js';
import { SqliteGrantStore } from '../src/adapters/db/grant-store.js';
import { openDatabase } from '../src/adapters/db/open.js';
import { freshPostgresDatabase } from '../test/support/postgres-database.js';
import { startPostgresServer } from '../test/support/postgres-server.js';
import { InMemoryAws } from './in-memory-aws.js';
import { seedGrants } from './seed.js';
import { summary } from './stats.js';

export interface CopyRecordsResult {
  grants: number;
  counts: TableCount[];
  copyMs: ReturnType<typeof summary>;
}

export async function copyRecordsRun(grants: number, runs: number): Promise<CopyRecordsResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-bench-copy-'));
  const server = await startPostgresServer();
  try {
    const path = join(dir, 'cache-access.db');
    const seeded = openDatabase(path);
    await seedGrants(new SqliteGrantStore(seeded.db), new InMemoryAws({ latencyMs: 0 }), grants, 0);
    seeded.close();
    const times: number[] = [];
    let counts: TableCount[] = [];
    for (let run = 0; run < runs; run++) {
      const target = await freshPostgresDatabase(server.url);
      const started = performance.now();
      const outcome = await copyRecords(path, target.url);
      times.push(performance.now() - started);
      if (!outcome.copied) throw new Error(`copy-records counts differ: ${JSON.stringify(outcome.counts)}`);
      counts = outcome.counts;
      await target.drop();
    }
    return { grants, counts, copyMs: summary(times) };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
