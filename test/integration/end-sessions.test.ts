/**
 * Ending the sessions a revoked grant leaves open, against real redis-server nodes (a primary and its
 * replica) with sessions opened from distinct loopback addresses, the real AWS adapters over the fake
 * account, a real SQLite store, and the grant and revoke jobs' own use cases.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AwsClientPool } from '../../src/adapters/aws/client-pool.js';
import { AwsClusterNetwork } from '../../src/adapters/aws/cluster-network.js';
import { Ec2Firewall } from '../../src/adapters/aws/ec2-firewall.js';
import { ElastiCacheDirectory } from '../../src/adapters/aws/elasticache-directory.js';
import { AwsSessionCredentials } from '../../src/adapters/aws/session-credentials.js';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import { RedisLiveSessions } from '../../src/adapters/sessions/redis-sessions.js';
import { activate } from '../../src/app/activate.js';
import type { UseCaseDeps } from '../../src/app/deps.js';
import { endSessions, type NodeRetry } from '../../src/app/end-sessions.js';
import type { HistoryEvent, LiveSessions, NodeCredentials } from '../../src/app/ports.js';
import { revokeExpired } from '../../src/app/revoke.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { Source } from '../../src/domain/request.js';
import { parsePolicy } from '../../src/policy.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { RecordingNotifier, RecordingScheduler } from '../fakes/recording-ports.js';
import { ec2Client, elastiCacheClient } from '../fixtures/aws/sdk.js';
import {
  openSession,
  startCacheNode,
  throwawayCertificates,
  type CacheNodeProcess,
  type NodeOptions,
  type OpenSession,
} from '../support/cache-nodes.js';
import { requestDraft } from '../support/request-fixtures.js';

const T0 = new Date('2026-12-01T09:00:00Z');
const TARGET_GROUP = 'sg-0c1a57000000000a1';
const SOURCE_GROUP = 'sg-0a1b2c3d4e5f60789';
/** A group a hand-made rule lets in: its addresses keep their sessions. */
const OTHER_GROUP = 'sg-0d0d0d0d0d0d0d0d1';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-access-AbCdEf';
/** What the README asks for: list, kill, and its own id; nothing else, no keys. */
const ACL_USER = 'cache-access on >right-password -@all +client|list +client|kill +client|id';
/** The default user may only PING: closing anything proves the job signed in as cache-access. */
const DEFAULT_USER = 'default on nopass -@all +ping';
const FAST: NodeRetry = { attempts: 4, firstDelayMs: 500 };
const firstAttempt = { attemptsMade: 0, finalAttempt: false };

let dir: string;
let database: OpenedDatabase;
let aws: FakeAwsAccount;
let nodes: CacheNodeProcess[];
let sessions: OpenSession[];
let notifier: RecordingNotifier;
let scheduler: RecordingScheduler;
let clock: { now: Date };
let deps: UseCaseDeps;
let logged: Array<{ level: number; msg: string }>;
let opened: Array<{ node: string; credentials: NodeCredentials }>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cache-access-sessions-'));
  database = openDatabase(join(dir, 'db.sqlite'));
  aws = new FakeAwsAccount();
  for (const group of [TARGET_GROUP, SOURCE_GROUP, OTHER_GROUP]) aws.addGroup(group);
  nodes = [];
  sessions = [];
  notifier = new RecordingNotifier();
  scheduler = new RecordingScheduler();
  clock = { now: T0 };
  logged = [];
  opened = [];
});

afterEach(async () => {
  for (const session of sessions) session.end();
  await Promise.all(nodes.map((node) => node.stop()));
  aws.restore();
  database.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A primary and its replica as orders-redis's two nodes, and the bot's deps with `endSessions` as given. */
async function cluster(endSessionsYaml: string, options: NodeOptions = {}, engine: 'redis' | 'memcached' = 'redis'): Promise<void> {
  const tls = options.tls !== undefined;
  const primary = await startCacheNode(options);
  const replica = await startCacheNode({ ...options, replicaOf: primary });
  nodes.push(primary, replica);
  aws.addReplicationGroup({
    id: 'orders-redis',
    engine,
    port: 6379,
    securityGroupIds: [TARGET_GROUP],
    tls,
    nodes: nodes.map(({ host, port }) => ({ host, port })),
  });
  const policy = parsePolicy(`clusters:\n  - match: "orders-*"\n    approvers: [U0BOB]\n    endSessions: ${endSessionsYaml}\n`);
  const ec2 = ec2Client();
  const elasticache = elastiCacheClient();
  const clients = new AwsClientPool({ ec2, elasticache });
  const real = new RedisLiveSessions({ timeoutMs: 1_000, tls: options.tls && { ca: readFileSync(options.tls.ca) } });
  // A port fake around the real adapter: it only notes what was asked, the nodes do the rest.
  const liveSessions: LiveSessions = {
    open: (node, how) => {
      opened.push({ node: node.id, credentials: how.credentials });
      return real.open(node, how);
    },
  };
  const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  deps = {
    store: new SqliteGrantStore(database.db),
    directory: new ElastiCacheDirectory({ ec2, elasticache, clients }),
    firewall: new Ec2Firewall({ ec2, clients }),
    network: new AwsClusterNetwork(clients),
    sessionCredentials: new AwsSessionCredentials(clients, { now: () => clock.now }),
    liveSessions,
    people: { expandApprovers: async (principals) => principals },
    notifier,
    scheduler,
    clock: { now: () => clock.now },
    policy: () => policy,
    logger,
  };
}

/** An active grant of orders-redis from `source`, made by the grant job. */
async function activeGrant(source: Source, engine: 'redis' | 'memcached' = 'redis'): Promise<number> {
  const { request } = await deps.store.create(requestDraft({ createdAt: clock.now, targetGroupId: TARGET_GROUP, source, durationSeconds: 600, engine }), {
    at: clock.now,
    actor: 'U0REQUESTER',
    type: 'requested',
    detail: { durationSeconds: 600, reason: 'test' },
  });
  const { next } = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, clock.now);
  await deps.store.save(next, [{ at: clock.now, actor: 'U0BOB', type: 'approved' }]);
  await activate(deps, request.id, firstAttempt);
  expect((await deps.store.get(request.id))!.status).toBe('active');
  return request.id;
}

/** The revoke job at expiry; returns whether it enqueued end-sessions. */
async function expire(id: number): Promise<boolean> {
  clock.now = (await deps.store.get(id))!.expiresAt!;
  await revokeExpired(deps, id, firstAttempt);
  expect((await deps.store.get(id))!.status).toBe('expired');
  return scheduler.calls.includes(`end-sessions-${id}`);
}

async function sessionsFrom(addresses: string[], on: CacheNodeProcess[] = nodes): Promise<Record<string, OpenSession[]>> {
  const opened: Record<string, OpenSession[]> = {};
  for (const from of addresses) {
    opened[from] = await Promise.all(on.map((node) => openSession(node, from)));
    sessions.push(...opened[from]!);
  }
  return opened;
}

async function eventsOf(id: number, type: string): Promise<HistoryEvent[]> {
  return (await deps.store.history(id)).filter((event) => event.type === type);
}

describe('a security-group source', () => {
  test("closes the granted source's sessions on every node; other sources and addresses still allowed keep theirs", async () => {
    await cluster('{ auth: none }');
    aws.addNetworkInterface('eni-0laptop', [SOURCE_GROUP], 'laptop', ['127.0.0.2']);
    aws.addNetworkInterface('eni-0shared', [SOURCE_GROUP, OTHER_GROUP], 'build host', ['127.0.0.4']);
    aws.addNetworkInterface('eni-0gone', [SOURCE_GROUP], 'instance terminated during the grant', ['127.0.0.5']);
    aws.addManualRule(TARGET_GROUP, 6379, OTHER_GROUP);
    const id = await activeGrant({ kind: 'security-group', groupId: SOURCE_GROUP });
    const open = await sessionsFrom(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
    aws.interfaces.delete('eni-0gone'); // read at activation, so its sessions still count as the grant's

    expect(await expire(id)).toBe(true);
    expect(aws.rules.size).toBe(1); // only the hand-made rule is left
    await endSessions(deps, id, firstAttempt, FAST);

    await Promise.all([...open['127.0.0.2']!, ...open['127.0.0.5']!].map((s) => s.whenClosed));
    expect([...open['127.0.0.3']!, ...open['127.0.0.4']!].map((s) => s.closed)).toEqual([false, false, false, false]);
    expect((await eventsOf(id, 'sessions-ended')).map((e) => e.detail)).toEqual([
      { closed: 4, nodes: [{ node: 'orders-redis-001', closed: 2 }, { node: 'orders-redis-002', closed: 2 }] },
    ]);
    expect((await eventsOf(id, 'sessions-not-ended'))).toEqual([]);
    expect(notifier.threadPosts.at(-1)!.text).toContain('closed 4 open connections');
    expect(notifier.told.at(-1)!.note).toContain('4 open connections you had to `orders-redis` were closed');

    // A second delivery of the job finds the work done.
    await endSessions(deps, id, firstAttempt, FAST);
    expect((await eventsOf(id, 'sessions-ended'))).toHaveLength(1);
  });

  test('a shared rule closes nothing: the other grant still holds it', async () => {
    await cluster('{ auth: none }');
    aws.addNetworkInterface('eni-0laptop', [SOURCE_GROUP], 'laptop', ['127.0.0.2']);
    const first = await activeGrant({ kind: 'security-group', groupId: SOURCE_GROUP });
    const second = await activeGrant({ kind: 'security-group', groupId: SOURCE_GROUP });
    expect((await deps.store.get(second))!.ruleRecordId).toBe((await deps.store.get(first))!.ruleRecordId);
    const open = await sessionsFrom(['127.0.0.2']);

    expect(await expire(first)).toBe(false);
    expect(aws.rules.size).toBe(1);
    // Even a stray delivery closes nothing while the rule is held.
    await endSessions(deps, first, firstAttempt, FAST);
    expect(opened).toEqual([]);
    expect(open['127.0.0.2']!.map((s) => s.closed)).toEqual([false, false]);
  });
});

describe('a CIDR source', () => {
  test('closes every session from inside it, but never the replication link nor its own connection', async () => {
    await cluster('{ auth: none }');
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.0/29' });
    const open = await sessionsFrom(['127.0.0.2', '127.0.0.3', '127.0.0.9']);
    const replicaLink = await replicationClientId(nodes[0]!);

    expect(await expire(id)).toBe(true);
    await endSessions(deps, id, firstAttempt, FAST);

    await Promise.all([...open['127.0.0.2']!, ...open['127.0.0.3']!].map((s) => s.whenClosed));
    expect(open['127.0.0.9']!.map((s) => s.closed)).toEqual([false, false]);
    expect(await replicationClientId(nodes[0]!)).toBe(replicaLink);
    expect((await eventsOf(id, 'sessions-ended')).map((e) => e.detail)).toEqual([
      { closed: 4, nodes: [{ node: 'orders-redis-001', closed: 2 }, { node: 'orders-redis-002', closed: 2 }] },
    ]);
  });
});

describe('nodes that cannot be reached or refuse', () => {
  test('a node down is retried; back up within the tries, its sessions are closed and recorded', async () => {
    await cluster('{ auth: none }');
    const [, replica] = nodes;
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.2/32' });
    await sessionsFrom(['127.0.0.2'], [nodes[0]!]);
    expect(await expire(id)).toBe(true);
    await replica!.kill();

    const job = endSessions(deps, id, firstAttempt, FAST);
    await until(() => opened.some((o) => o.node === 'orders-redis-002'));
    await replica!.start();
    const [late] = (await sessionsFrom(['127.0.0.2'], [replica!]))['127.0.0.2']!;
    await job;

    await late!.whenClosed;
    expect(opened.filter((o) => o.node === 'orders-redis-002').length).toBeGreaterThan(1);
    expect((await eventsOf(id, 'sessions-ended')).map((e) => e.detail)).toEqual([
      { closed: 2, nodes: [{ node: 'orders-redis-001', closed: 1 }, { node: 'orders-redis-002', closed: 1 }] },
    ]);
  });

  test('a node down through every try is recorded as not ended, logged at warn and said in the thread', async () => {
    await cluster('{ auth: none }');
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.2/32' });
    const open = await sessionsFrom(['127.0.0.2'], [nodes[0]!]);
    expect(await expire(id)).toBe(true);
    await nodes[1]!.kill();

    await endSessions(deps, id, firstAttempt, { attempts: 2, firstDelayMs: 50 });

    await open['127.0.0.2']![0]!.whenClosed;
    expect(opened.filter((o) => o.node === 'orders-redis-002')).toHaveLength(2);
    expect((await eventsOf(id, 'sessions-ended')).map((e) => e.detail)).toEqual([{ closed: 1, nodes: [{ node: 'orders-redis-001', closed: 1 }] }]);
    const [notEnded] = (await eventsOf(id, 'sessions-not-ended'));
    expect(notEnded!.detail).toEqual({ nodes: [{ node: 'orders-redis-002', code: 'ECONNREFUSED', reason: expect.stringContaining('ECONNREFUSED') }] });
    expect(logged.some((line) => line.level === 40 && line.msg === 'open sessions not ended on some nodes')).toBe(true);
    expect(notifier.threadPosts.at(-1)!.text).toContain('Could not close connections on `orders-redis-002` (ECONNREFUSED)');
  });
});

describe('signing in', () => {
  test('with the secret from Secrets Manager, as its user under the least-privilege ACL', async () => {
    await cluster(`{ auth: secret, secretArn: "${SECRET_ARN}" }`, { users: [DEFAULT_USER, ACL_USER] });
    aws.secrets.set(SECRET_ARN, JSON.stringify({ username: 'cache-access', password: 'right-password' }));
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.2/32' });
    const open = await sessionsFrom(['127.0.0.2']);
    expect(await expire(id)).toBe(true);

    await endSessions(deps, id, firstAttempt, FAST);

    await Promise.all(open['127.0.0.2']!.map((s) => s.whenClosed));
    expect((await eventsOf(id, 'sessions-ended')).map((e) => e.detail)).toEqual([
      { closed: 2, nodes: [{ node: 'orders-redis-001', closed: 1 }, { node: 'orders-redis-002', closed: 1 }] },
    ]);
    // Read once for both nodes, then kept.
    expect(aws.origins.filter((o) => o.action === 'GetSecretValue')).toHaveLength(1);
  });

  test('wrong credentials are recorded per node, never logged, and the rule was still removed on time', async () => {
    await cluster(`{ auth: secret, secretArn: "${SECRET_ARN}" }`, { users: [DEFAULT_USER, ACL_USER] });
    aws.secrets.set(SECRET_ARN, JSON.stringify({ username: 'cache-access', password: 'stale-password' }));
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.2/32' });
    const open = await sessionsFrom(['127.0.0.2']);
    const expiry = (await deps.store.get(id))!.expiresAt!;
    expect(await expire(id)).toBe(true);
    expect((await deps.store.get(id))!.endedAt).toEqual(expiry);
    expect(aws.rules.size).toBe(0);

    await endSessions(deps, id, firstAttempt, { attempts: 2, firstDelayMs: 50 });

    expect((await eventsOf(id, 'sessions-not-ended')).map((e) => e.detail)).toEqual([
      {
        nodes: [
          { node: 'orders-redis-001', code: 'WRONGPASS', reason: expect.stringContaining('WRONGPASS') },
          { node: 'orders-redis-002', code: 'WRONGPASS', reason: expect.stringContaining('WRONGPASS') },
        ],
      },
    ]);
    expect((await eventsOf(id, 'sessions-ended'))).toEqual([]);
    expect(open['127.0.0.2']!.map((s) => s.closed)).toEqual([false, false]);
    expect(JSON.stringify(logged)).not.toContain('stale-password');
    expect(JSON.stringify(await deps.store.history(id))).not.toContain('stale-password');
  });

  test('IAM: AUTH as the policy user with a token for the replication group', async () => {
    // redis-server cannot check a SigV4 token: the user takes any password, and only it may list and kill.
    await cluster('{ auth: iam, user: cache-access }', { users: [DEFAULT_USER, 'cache-access on nopass -@all +client|list +client|kill +client|id'] });
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.2/32' });
    const open = await sessionsFrom(['127.0.0.2']);
    expect(await expire(id)).toBe(true);

    await endSessions(deps, id, firstAttempt, FAST);

    await Promise.all(open['127.0.0.2']!.map((s) => s.whenClosed));
    expect(opened.map((o) => o.credentials.username)).toEqual(['cache-access', 'cache-access']);
    const token = new URL(`http://${opened[0]!.credentials.password}`);
    expect(token.host).toBe('orders-redis');
    expect(token.searchParams.get('Action')).toBe('connect');
    expect(token.searchParams.get('User')).toBe('cache-access');
  });
});

describe('in-transit encryption', () => {
  test('reaches every node over TLS and closes the sessions there', async () => {
    const certificates = throwawayCertificates(dir);
    await cluster('{ auth: none }', { tls: certificates });
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.2/32' });
    const open = await Promise.all(nodes.map((node) => openSession(node, '127.0.0.2', { tls: { ca: readFileSync(certificates.ca, 'utf8') } })));
    sessions.push(...open);
    expect(await expire(id)).toBe(true);

    await endSessions(deps, id, firstAttempt, FAST);

    await Promise.all(open.map((s) => s.whenClosed));
    expect((await eventsOf(id, 'sessions-ended')).map((e) => e.detail)).toEqual([
      { closed: 2, nodes: [{ node: 'orders-redis-001', closed: 1 }, { node: 'orders-redis-002', closed: 1 }] },
    ]);
  });
});

describe('Memcached', () => {
  test('nothing is attempted, and the thread says open connections stay open', async () => {
    await cluster('{ auth: none }', {}, 'memcached');
    const id = await activeGrant({ kind: 'cidr', cidr: '127.0.0.2/32' }, 'memcached');

    expect(await expire(id)).toBe(false);
    await endSessions(deps, id, firstAttempt, FAST);

    expect(opened).toEqual([]);
    expect((await eventsOf(id, 'sessions-ended'))).toEqual([]);
    expect(notifier.threadPosts.at(-1)!.text).toContain('Memcached cannot close a client connection');
  });
});

/** The id of the replica's link on the primary (flags S). */
async function replicationClientId(primary: CacheNodeProcess): Promise<string> {
  const redis = new Redis({ host: primary.host, port: primary.port, lazyConnect: true });
  await redis.connect();
  try {
    for (let tries = 0; tries < 100; tries++) {
      const line = String(await redis.client('LIST')).split('\n').find((l) => / flags=S /.test(l));
      if (line) return /id=(\d+)/.exec(line)![1]!;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the replica never connected');
  } finally {
    redis.disconnect();
  }
}

async function until(probe: () => boolean): Promise<void> {
  for (let waited = 0; !probe(); waited += 10) {
    if (waited > 5_000) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
