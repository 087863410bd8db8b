/**
 * ioredis connections for BullMQ. Producers and workers want opposite behaviour while Redis is down
 * (BullMQ, "Going to production: automatic reconnections"): a Queue used from a Slack handler should fail
 * at once, a Worker should wait and carry on when Redis returns.
 */
import { Redis } from 'ioredis';

/** Where to reach Redis: a URL (the adapter owns and closes the connection) or a caller-owned connection. */
export type RedisTarget = { url: string } | { connection: Redis };

/**
 * For a Queue: no offline queue, so a command issued while disconnected rejects instead of waiting for a
 * reconnect, and commands already sent are rejected after one failed reconnect attempt.
 */
export function createProducerConnection(url: string): Redis {
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
}

/** For a Worker: BullMQ requires maxRetriesPerRequest null so its blocking commands wait out outages. */
export function createWorkerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}
