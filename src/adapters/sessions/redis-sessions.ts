/**
 * LiveSessions on Redis OSS and Valkey nodes through ioredis: one short connection per node that signs
 * in (AUTH), lists the clients (CLIENT LIST) and closes some by id (CLIENT KILL ID).
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import type { CacheNode, LiveSessions, NodeCredentials, NodeSession } from '../../app/ports.js';
import { UpstreamError } from '../../domain/errors.js';
import type { ClientConnection } from '../../domain/sessions.js';

export interface RedisLiveSessionsOptions {
  /** How long connecting (TLS included) and each command may take. */
  timeoutMs?: number;
  /** Extra TLS settings, such as a private CA; ElastiCache's certificates need none. */
  tls?: ConnectionOptions;
}

const MAX_REASON_LENGTH = 200;

export class RedisLiveSessions implements LiveSessions {
  private readonly timeoutMs: number;

  constructor(private readonly options: RedisLiveSessionsOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
  }

  async open(node: CacheNode, { tls, credentials }: { tls: boolean; credentials: NodeCredentials }): Promise<NodeSession> {
    const redis = new Redis({
      host: node.host,
      port: node.port,
      // SNI takes host names only; a node given by address is checked against the address.
      tls: tls ? { ...(isIP(node.host) ? {} : { servername: node.host }), ...this.options.tls } : undefined,
      lazyConnect: true,
      // No INFO before we have signed in, no reconnects, no retries: a failure is reported, and the job retries.
      enableReadyCheck: false,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: this.timeoutMs,
      commandTimeout: this.timeoutMs,
    });
    // The socket's own error (ECONNREFUSED, a TLS failure) says more than the "Connection is closed" connect() gives.
    let socketError: unknown;
    redis.on('error', (error: unknown) => {
      socketError ??= error;
    });
    try {
      await redis.connect();
      await signIn(redis, credentials);
      const ownId = String(await redis.client('ID'));
      return new RedisNodeSession(redis, ownId);
    } catch (error) {
      redis.disconnect();
      throw nodeError(node, redis.status === 'end' && socketError ? socketError : error);
    }
  }
}

class RedisNodeSession implements NodeSession {
  constructor(
    private readonly redis: Redis,
    readonly ownId: string,
  ) {}

  async clients(): Promise<ClientConnection[]> {
    return parseClientList(String(await this.redis.client('LIST')));
  }

  async kill(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.client('KILL', 'ID', id);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    return results.reduce((sum, [, killed]) => sum + Number(killed), 0);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** AUTH sent by us rather than by ioredis, so a refusal fails here with the node's own words. */
async function signIn(redis: Redis, { username, password }: NodeCredentials): Promise<void> {
  if (password === undefined) return;
  await (username === undefined ? redis.auth(password) : redis.auth(username, password));
}

/**
 * The node's reason alone: ioredis's errors carry the command's arguments, and AUTH's are a password.
 * Every failure is retryable: a node restarting, failing over or behind a fixed ACL may answer later.
 */
function nodeError(node: CacheNode, error: unknown): UpstreamError {
  const raw = error instanceof Error ? error.message : String(error);
  const reason = raw.length > MAX_REASON_LENGTH ? `${raw.slice(0, MAX_REASON_LENGTH - 1)}…` : raw;
  const code = /^[A-Z]+\b/.exec(raw)?.[0] ?? (error as { code?: string }).code ?? 'UNREACHABLE';
  return new UpstreamError('cache', code, `${node.host}:${node.port}: ${reason}`, true);
}

/** CLIENT LIST's lines ("id=7 addr=10.0.0.5:53124 … flags=N …") as connections; IPv6 addresses come bracketed. */
export function parseClientList(text: string): ClientConnection[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const fields = new Map(line.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
      return { id: fields.get('id') ?? '', address: hostOf(fields.get('addr') ?? ''), flags: fields.get('flags') ?? '' };
    });
}

function hostOf(addr: string): string {
  const bracketed = /^\[(.+)\]:\d+$/.exec(addr);
  if (bracketed) return bracketed[1]!;
  const colon = addr.lastIndexOf(':');
  return colon < 0 ? addr : addr.slice(0, colon);
}
