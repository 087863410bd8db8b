/**
 * Where BullMQ keeps the jobs: Redis (the default), or PostgreSQL through BullMQ 6's PostgreSQL backend.
 * The scheduler, the workers and the reconcile schedule open their queues and workers here, so they run
 * the same on both; what differs (connections, repairing them after a failure, cutting them off at
 * shutdown) stays in this file.
 */
import { createPostgresBackend, Queue, Worker, type IQueueBackend, type JobProgress, type Processor, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createProducerConnection, createWorkerConnection, reconnectIfStale, settled, type RedisTarget } from './connection.js';

export type { RedisTarget } from './connection.js';

/** BullMQ's queues in a PostgreSQL database (`DATABASE_URL`), in a schema of their own. */
export interface PostgresTarget {
  postgres: { url: string };
}

export type QueueTarget = RedisTarget | PostgresTarget;

export type QueueService = 'redis' | 'postgres';

/** For people reading logs and errors. */
export const SERVICE_NAMES: Readonly<Record<QueueService, string>> = { redis: 'Redis', postgres: 'PostgreSQL' };

/** A Queue or Worker on either backend; the bot uses only the API both implement. */
export type JobQueue<Data, Name extends string> = Queue<Data, void, Name, Data, void, Name, IQueueBackend, unknown>;
export type JobWorker<Data, Name extends string> = Worker<Data, void, Name, IQueueBackend, JobProgress, unknown>;

/** The schema when no namespace is given; BullMQ's own default (`bullmq`) says nothing about whose jobs they are. */
export const DEFAULT_POSTGRES_SCHEMA = 'cache_access_jobs';

export function serviceOf(target: QueueTarget): QueueService {
  return 'postgres' in target ? 'postgres' : 'redis';
}

/**
 * The schema for a namespace: BullMQ takes simple identifiers only, and a Redis key prefix such as
 * `test-<uuid>` is not one, so other characters become `_`.
 */
export function postgresSchemaOf(namespace: string | undefined): string {
  if (namespace === undefined) return DEFAULT_POSTGRES_SCHEMA;
  const schema = namespace.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(schema) ? schema : `q_${schema}`;
}

/**
 * node-postgres settings for one BullMQ queue or worker (each has a pool of its own plus, for a worker, one
 * LISTEN connection). `migrate` applies BullMQ's schema migrations on first use, under an advisory lock, so
 * replicas starting together migrate once. Time limits make a database that stopped answering fail calls
 * instead of hanging them.
 */
function postgresConnection(target: PostgresTarget, namespace: string | undefined, poolSize: number) {
  return {
    connectionString: target.postgres.url,
    schema: postgresSchemaOf(namespace),
    migrate: true,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    query_timeout: 15_000,
  };
}

export interface OpenedQueue<Data, Name extends string> {
  queue: JobQueue<Data, Name>;
  service: QueueService;
  /** After a failed call: a Redis connection left 'ready' on a dead socket is reconnected. */
  repair(): void;
  /** One cheap round trip to the store, for health checks. */
  ping(): Promise<void>;
  /** Closes the queue and the connection it opened, first letting a connection still being made finish (at most `ms`). */
  close(ms: number): Promise<void>;
  /** Instead of waiting longer for close(): drops the connection it opened at once. */
  cutOff(): void;
}

/**
 * A Queue for producers. On Redis, a connection of its own that fails calls at once while Redis is down
 * (see connection.ts), or the caller's connection, left open. On PostgreSQL, a small pool of its own.
 */
export function openQueue<Data, Name extends string>(name: string, target: QueueTarget, namespace?: string): OpenedQueue<Data, Name> {
  if ('postgres' in target) {
    const queue = new Queue(name, { connection: postgresConnection(target, namespace, 4) }, createPostgresBackend) as unknown as JobQueue<Data, Name>;
    return {
      queue,
      service: 'postgres',
      repair: () => {},
      // A read of BullMQ's job table: the database answers and the schema is there.
      ping: async () => void (await queue.getJobCountByTypes('waiting')),
      close: () => queue.close(),
      cutOff: () => void queue.disconnect().catch(() => {}),
    };
  }
  const owned: Redis | undefined = 'url' in target ? createProducerConnection(target.url) : undefined;
  owned?.on('error', () => {}); // outages reach callers as failed calls, not as unhandled events
  const connection = owned ?? (target as { connection: Redis }).connection;
  // skipVersionCheck: see createProducerConnection.
  const queue = new Queue<Data, void, Name>(name, { connection, prefix: namespace, skipVersionCheck: true });
  const repair = () => owned && reconnectIfStale(owned);
  return {
    queue: queue as unknown as JobQueue<Data, Name>,
    service: 'redis',
    repair,
    ping: () =>
      connection.ping().then(
        () => undefined,
        (error: unknown) => {
          repair();
          throw error;
        },
      ),
    async close(ms) {
      if (owned) await settled(owned, ms);
      await queue.close();
      await owned?.quit().catch(() => owned.disconnect());
    },
    cutOff: () => owned?.disconnect(),
  };
}

export interface OpenedWorker<Data, Name extends string> {
  worker: JobWorker<Data, Name>;
  service: QueueService;
  /** After worker.close() returned: releases the connection. */
  release(): Promise<void>;
  /** Instead of waiting longer for worker.close(): drops the connections at once. */
  cutOff(): void;
}

export interface WorkerSettings {
  concurrency: number;
  settings?: WorkerOptions['settings'];
  /** Redis only: the version check, without which delays are rounded up to whole seconds (workers.ts). */
  skipVersionCheck?: boolean;
}

/**
 * A Worker with a connection of its own (cutting off a stuck close means dropping it): on Redis one that
 * waits out outages (maxRetriesPerRequest null), on PostgreSQL a pool sized for its concurrency.
 */
export function openWorker<Data, Name extends string>(
  name: string,
  processor: Processor<Data, void, Name>,
  target: QueueTarget,
  namespace: string | undefined,
  options: WorkerSettings,
): OpenedWorker<Data, Name> {
  const common = { concurrency: options.concurrency, settings: options.settings };
  if ('postgres' in target) {
    // Each running job records its outcome through the pool; a few connections serve many jobs.
    const connection = postgresConnection(target, namespace, Math.min(options.concurrency + 1, 8));
    const worker = new Worker(name, processor, { ...common, connection }, createPostgresBackend) as unknown as JobWorker<Data, Name>;
    return { worker, service: 'postgres', release: async () => {}, cutOff: () => void worker.disconnect().catch(() => {}) };
  }
  const connection =
    'url' in target ? createWorkerConnection(target.url) : target.connection.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
  const worker = new Worker<Data, void, Name>(name, processor, { ...common, connection, prefix: namespace, skipVersionCheck: options.skipVersionCheck });
  return {
    worker: worker as unknown as JobWorker<Data, Name>,
    service: 'redis',
    // QUIT lets replies still in flight arrive; a hard disconnect rejects them unhandled inside BullMQ.
    release: () => connection.quit().then(() => undefined, () => connection.disconnect()),
    cutOff: () => connection.disconnect(),
  };
}
