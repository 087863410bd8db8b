import { Redis } from 'ioredis';

/**
 * The run's Redis URL pointed at database `db`. Files that run the program with its default queue
 * prefix each take a database no other file uses (grep for redisDatabase to see which are taken).
 */
export function redisDatabase(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

/** Empties the database `url` names (a file's own, see redisDatabase), e.g. before a test runs the program on it. */
export async function flushRedis(url: string): Promise<void> {
  const client = new Redis(url);
  try {
    await client.flushdb();
  } finally {
    client.disconnect();
  }
}
