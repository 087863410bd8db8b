/**
 * ioredis connections for BullMQ. Producers and workers want opposite behaviour while Redis is down
 * (BullMQ, "Going to production: automatic reconnections"): a Queue used from a Slack handler should fail
 * at once, a Worker should wait and carry on when Redis returns.
 */
import { Redis } from 'ioredis';

/** Where to reach Redis: a URL (the adapter owns and closes the connection) or a caller-owned connection. */
export type RedisTarget = { url: string } | { connection: Redis };

/** Keep trying, at most 2 s apart, so work resumes within seconds of Redis coming back. */
function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 250, 2_000);
}

/**
 * For a Queue: no offline queue, so a command issued while disconnected rejects instead of waiting for a
 * reconnect, and commands already sent are rejected after one failed reconnect attempt.
 */
// Every Queue here sets `skipVersionCheck`: BullMQ's version check sends INFO during its connection
// handshake, and on a connection without an offline queue, racing a Redis outage, the rejection escapes
// unhandled. The jobs worker keeps the check (workers.ts): it needs the version for precise delays.
export function createProducerConnection(url: string): Redis {
  // No ready check: its INFO command, sent without an offline queue, rejects unhandled inside ioredis
  // when the connection is closed between connect and ready (a quick shutdown).
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableReadyCheck: false, retryStrategy: reconnectDelay });
}

/**
 * Reconnects a connection that says it is ready while its socket is gone. When Redis dies during the
 * connection handshake, ioredis can run its connect handler after its close handler: the connection is
 * then 'ready' on a destroyed socket, every command fails with "Stream isn't writeable", and nothing
 * reconnects it. Called where a command failed; ioredis has no public call for this, hence setStatus.
 */
export function reconnectIfStale(connection: Redis): void {
  if (connection.status !== 'ready' || !connection.stream?.destroyed) return;
  (connection as unknown as { setStatus(status: string): void }).setStatus('close');
  connection.connect().catch(() => {}); // failures go on through its retryStrategy
}

/** For a Worker: BullMQ requires maxRetriesPerRequest null so its blocking commands wait out outages. */
export function createWorkerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: reconnectDelay });
}

/**
 * Resolves once the connection is ready or closed, or after `ms`. Closing a connection while it is
 * still connecting flushes the commands BullMQ queued during start-up, and BullMQ leaves those
 * rejections unhandled; shutdown waits for the handshake first.
 */
export async function settled(connection: Redis, ms: number): Promise<void> {
  if (connection.status === 'ready' || connection.status === 'end') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      connection.off('ready', done);
      connection.off('end', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    connection.once('ready', done);
    connection.once('end', done);
  });
}
