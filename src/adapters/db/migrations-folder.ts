import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A dialect's folder under migrations/ beside the code: three levels up from src/adapters/db (and its
 * tsc output), one up from the bundles dist/main.js and dist/cli.js. Found by drizzle's journal in it.
 */
export function migrationsFolder(dialect: 'sqlite' | 'postgres'): string {
  const here = fileURLToPath(import.meta.url);
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    const candidate = join(dir, 'migrations', dialect);
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`no migrations/${dialect}/meta/_journal.json above ${here}`);
  }
}
