/**
 * Ending live sessions: the time from a grant's rule being removed to the last of its open sessions being
 * closed. Three real redis-server nodes (a primary and two replicas) hold 300 sessions from the granted
 * range plus 30 from outside it; the revoke and end-sessions jobs run through the real BullMQ workers on a
 * real SQLite store, the AWS adapters over the tests' fake account at the SDK edge.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { AwsClientPool } from '../src/adapters/aws/client-pool.js';
import { AwsClusterNetwork } from '../src/adapters/aws/cluster-network.js';
import { Ec2Firewall } from '../src/adapters/aws/ec2-firewall.js';
import { ElastiCacheDirectory } from '../src/adapters/aws/elasticache-directory.js';
import { AwsSessionCredentials } from '../src/adapters/aws/session-credentials.js';
import { SqliteGrantStore } from '../src/adapters/db/grant-store.js';
import { openDatabase } from '../src/adapters/db/open.js';
import { withinMs } from '../src/adapters/deadline.js';
import { BullmqScheduler } from '../src/adapters/queue/bullmq-scheduler.js';
import { startWorkers } from '../src/adapters/queue/workers.js';
import { RedisLiveSessions } from '../src/adapters/sessions/redis-sessions.js';
import { activate } from '../src/app/activate.js';
import type { UseCaseDeps } from '../src/app/deps.js';
import { endSessions } from '../src/app/end-sessions.js';
import type { Firewall, Notifier } from '../src/app/ports.js';
import { revokeExpired } from '../src/app/revoke.js';
import { transition } from '../src/domain/lifecycle.js';
import { parsePolicy } from '../src/policy.js';
import { FakeAwsAccount } from '../test/fakes/aws-account.js';
import { ec2Client, elastiCacheClient } from '../test/fixtures/aws/sdk.js';
import { openSession, startCacheNode, type CacheNodeProcess, type OpenSession } from '../test/support/cache-nodes.js';
import { requestDraft } from '../test/support/request-fixtures.js';
import { summary } from './stats.js';

export interface EndSessionsResult {
  rounds: number;
  sessions: number;
  nodes: number;
  /** Rule removed (RevokeSecurityGroupIngress answered) → last granted session closed. */
  closing: ReturnType<typeof summary>;
  /** Sessions from outside the grant that were closed (must be 0). */
  wronglyClosed: number;
}

const TARGET_GROUP = 'sg-0c1a57000000000a1';
const GRANTED_FROM = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`); // inside 127.0.0.0/28
const OUTSIDE_FROM = ['127.0.1.2', '127.0.1.3', '127.0.1.4'];
const JOB_CONCURRENCY = 16; // as the bot runs its workers

export async function endSessionsRun(redisUrl: string, rounds: number, sessionsPerRound: number): Promise<EndSessionsResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-bench-sessions-'));
  const database = openDatabase(join(dir, 'db.sqlite'));
  const aws = new FakeAwsAccount();
  aws.addGroup(TARGET_GROUP);
  const primary = await startCacheNode();
  const nodes: CacheNodeProcess[] = [primary, await startCacheNode({ replicaOf: primary }), await startCacheNode({ replicaOf: primary })];
  aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [TARGET_GROUP], tls: false, nodes });
  const ec2 = ec2Client();
  const elasticache = elastiCacheClient();
  const clients = new AwsClientPool({ ec2, elasticache });
  const removedAt = new Map<string, number>();
  const real = new Ec2Firewall({ ec2, clients });
  // Notes when AWS answered the removal: the clock starts there.
  const firewall: Firewall = {
    authorize: (...args) => real.authorize(...args),
    ruleExists: (...args) => real.ruleExists(...args),
    listTaggedRules: (...args) => real.listTaggedRules(...args),
    revoke: async (groupId, ruleId, location) => {
      const outcome = await real.revoke(groupId, ruleId, location);
      removedAt.set(ruleId, performance.now());
      return outcome;
    },
  };
  const prefix = `bench-${randomUUID()}`;
  const scheduler = new BullmqScheduler({ url: redisUrl, prefix });
  const policy = parsePolicy('defaults:\n  minDuration: 1s\nclusters:\n  - match: "orders-*"\n    approvers: [U0BOB]\n    endSessions: { auth: none }\n');
  const quiet = new Proxy({} as Notifier, { get: () => async () => ({ requestId: 0, kind: 'requester', channel: 'D0', ts: '1.0' }) });
  const deps: UseCaseDeps = {
    store: new SqliteGrantStore(database.db),
    directory: new ElastiCacheDirectory({ ec2, elasticache, clients }),
    firewall,
    network: new AwsClusterNetwork(clients),
    sessionCredentials: new AwsSessionCredentials(clients, { now: () => new Date() }),
    liveSessions: new RedisLiveSessions(),
    people: { expandApprovers: async (principals) => principals },
    notifier: quiet,
    scheduler,
    clock: { now: () => new Date() },
    policy: () => policy,
    logger: pino({ level: 'silent' }),
  };
  const workers = startWorkers({
    url: redisUrl,
    prefix,
    concurrency: JOB_CONCURRENCY,
    logger: deps.logger,
    handlers: {
      grant: (id, attempt) => activate(deps, id, attempt),
      revoke: (id, attempt) => revokeExpired(deps, id, attempt),
      remind: async () => {},
      'end-sessions': (id, attempt) => endSessions(deps, id, attempt),
    },
  });
  const samples: number[] = [];
  let wronglyClosed = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const now = new Date();
      const { request } = await deps.store.create(
        requestDraft({ createdAt: now, targetGroupId: TARGET_GROUP, source: { kind: 'cidr', cidr: '127.0.0.0/28' }, durationSeconds: 1 }),
        { at: now, actor: 'U0REQUESTER', type: 'requested', detail: { durationSeconds: 1, reason: 'bench' } },
      );
      const { next } = transition(request, { type: 'approve', by: 'U0BOB', selfApproval: false }, now);
      await deps.store.save(next, [{ at: now, actor: 'U0BOB', type: 'approved' }]);
      await activate(deps, request.id, { attemptsMade: 0, finalAttempt: false });
      const granted = await openSessions(nodes, GRANTED_FROM, sessionsPerRound);
      const outside = await openSessions(nodes, OUTSIDE_FROM, sessionsPerRound / 10);
      const lastClosed = Promise.all(granted.map((s) => s.whenClosed.then(() => performance.now()))).then((times) => Math.max(...times));
      await scheduler.scheduleRevoke(request.id, (await deps.store.get(request.id))!.expiresAt!);
      const closedAt = await withinMs(lastClosed, 15_000, () => new Error('sessions still open 15 s after the rule was removed'));
      const rule = (await deps.store.getRule((await deps.store.get(request.id))!.ruleRecordId!))!;
      samples.push(closedAt - removedAt.get(rule.awsRuleId!)!);
      wronglyClosed += outside.filter((s) => s.closed).length;
      for (const session of outside) session.end();
    }
  } finally {
    await workers.close(5_000);
    await scheduler.close();
    await Promise.all(nodes.map((node) => node.stop()));
    aws.restore();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rounds, sessions: sessionsPerRound, nodes: nodes.length, closing: summary(samples), wronglyClosed };
}

/** `count` sessions spread evenly over the nodes and the source addresses. */
async function openSessions(nodes: CacheNodeProcess[], from: string[], count: number): Promise<OpenSession[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => openSession(nodes[i % nodes.length]!, from[i % from.length]!)));
}
