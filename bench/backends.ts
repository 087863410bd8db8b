/**
 * The three ways to keep records and jobs (README, topologies): SQLite + Redis, PostgreSQL + Redis, and
 * PostgreSQL alone (BullMQ's PostgreSQL backend). Each run gets a fresh database and queue namespace.
 */
import { join } from 'node:path';
import type { QueueTarget } from '../src/adapters/queue/backend.js';
import { freshPostgresDatabase } from '../test/support/postgres-database.js';
import type { RecordsLocation } from './records-view.js';

export const BACKEND_NAMES = ['sqlite-redis', 'pg-redis', 'pg'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const BACKEND_LABELS: Readonly<Record<BackendName, string>> = {
  'sqlite-redis': 'SQLite + Redis',
  'pg-redis': 'PostgreSQL + Redis',
  pg: 'PostgreSQL only',
};

/** The servers the bench started: Redis always, PostgreSQL when a backend needs it. */
export interface Services {
  redisUrl: string;
  postgresUrl?: string;
}

/** A database and queue namespace for one run. */
export interface PreparedBackend {
  /** DATABASE_PATH or DATABASE_URL, REDIS_URL, QUEUE_BACKEND, as the bot reads them. */
  settings: Record<string, string>;
  records: RecordsLocation;
  queue: QueueTarget;
  /** For a PostgreSQL database: its name, to copy it (`template` of prepare). */
  databaseName?: string;
  drop(): Promise<void>;
}

export interface BenchBackend {
  name: BackendName;
  /**
   * A fresh database (SQLite in `dir`, or a new PostgreSQL database, a copy of `template` when given) and
   * where the jobs go.
   */
  prepare(dir: string, template?: string): Promise<PreparedBackend>;
}

export function benchBackend(name: BackendName, services: Services): BenchBackend {
  const redis = { REDIS_URL: services.redisUrl };
  if (name === 'sqlite-redis') {
    return {
      name,
      async prepare(dir) {
        const databasePath = join(dir, 'cache-access.db');
        return { settings: { DATABASE_PATH: databasePath, ...redis }, records: { databasePath }, queue: { url: services.redisUrl }, drop: async () => {} };
      },
    };
  }
  const postgresUrl = services.postgresUrl;
  if (postgresUrl === undefined) throw new Error(`the ${name} backend needs the bench's PostgreSQL server`);
  return {
    name,
    async prepare(_dir, template) {
      const database = await freshPostgresDatabase(postgresUrl, { template });
      const settings = { DATABASE_URL: database.url, ...(name === 'pg' ? { QUEUE_BACKEND: 'postgres' } : redis) };
      const queue: QueueTarget = name === 'pg' ? { postgres: { url: database.url } } : { url: services.redisUrl };
      return { settings, records: { databaseUrl: database.url }, queue, databaseName: database.name, drop: database.drop };
    },
  };
}

export function needsPostgres(names: readonly BackendName[]): boolean {
  return names.some((name) => name !== 'sqlite-redis');
}
