/**
 * The randomized fault test of issue 12: "access ends when it should, on every path".
 *
 * What it models: random sequences of requests (three clusters in three places, CIDR and security-group
 * sources, overlapping ones), approvals and denials by anyone (requester, approvers, strangers),
 * extensions asked for and decided, early revokes and cancels, policy reloads (a rule's role or region
 * changing, globs reordered, approvals changed), restarts (new scheduler and store, policy re-read, a
 * reconcile pass), Redis outages and FLUSHDB, AWS throttling and refusals, a database write failing at
 * any step, clock jumps, reconcile passes, due jobs run, and rules made by hand. It runs the real use
 * cases on a real SQLite file and real BullMQ queues in Redis; AWS is the stateful port-level fake of
 * test/fakes/aws-places.ts. Only `Date` is faked, so the use cases' clock and BullMQ's timestamps agree.
 * Jobs are taken one at a time with Worker.getNextJob when the test clock says they are due, through the
 * workers' own processor, and completed or failed as a worker would (attempts, backoff, removal).
 *
 * What it does not model: jobs delivered twice or in parallel, and two processes at once
 * (duplicate-delivery and queue-workers tests), Slack itself (workflow tests), rules removed or
 * tagged by hand (revocation-safety), records older than the location columns, and a Redis outage
 * seen by BullMQ's own connection (queue-outage): an outage here is the scheduler failing as it does.
 *
 * Break-glass grants (Bob on orders, Mallory and approver 3 on search) and their reviews are moves too.
 *
 * Invariants, after every move: a rule the records call removed is gone from AWS where it was made; no
 * rule made by hand was ever removed. After settling (faults cleared, the clock past every expiry by a
 * reconcile interval, one reconcile pass, due jobs run): no rule cache-access made is in AWS unless an
 * active grant not yet overdue holds it, and, settled further, none at all; every approval, denial and
 * extension came from approvers the policy then named, the requester only under selfApproval, and as
 * many distinct ones as the request needed, except a break-glass grant, which the policy alone lets its
 * requester open (within maxDuration and perDay), reviewed afterwards by someone else.
 *
 * FAULT_RUNS sets the number of sequences (default 200); FAULT_SEED (and FAULT_PATH, from a failure
 * report) replays one run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, test, vi } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import { BullmqScheduler } from '../../src/adapters/queue/bullmq-scheduler.js';
import { createProducerConnection, createWorkerConnection, settled } from '../../src/adapters/queue/connection.js';
import { QUEUE_NAME, type JobData, type JobName } from '../../src/adapters/queue/jobs.js';
import { jobProcessor, WORKER_SETTINGS } from '../../src/adapters/queue/workers.js';
import { activate } from '../../src/app/activate.js';
import { BREAK_GLASS, BREAK_GLASS_WINDOW_MS, breakGlass } from '../../src/app/break-glass.js';
import { REVIEW_REMINDED, REVIEWED, reviewBreakGlass } from '../../src/app/break-glass-review.js';
import { decide } from '../../src/app/decide.js';
import type { UseCaseDeps } from '../../src/app/deps.js';
import { endAccess } from '../../src/app/end-access.js';
import { decideExtension, requestExtension } from '../../src/app/extend.js';
import { EXTENSION_EVENTS } from '../../src/app/extension-log.js';
import type { HistoryEvent } from '../../src/app/ports.js';
import { reconcile } from '../../src/app/reconcile.js';
import { endSessions } from '../../src/app/end-sessions.js';
import { remind } from '../../src/app/remind.js';
import { requestAccess, type AccessRequestInput } from '../../src/app/request-access.js';
import { revokeExpired } from '../../src/app/revoke.js';
import type { AccessRequest, Source } from '../../src/domain/request.js';
import { parsePolicy, type ClusterPolicy, type Policy } from '../../src/policy.js';
import { FakeAwsPlaces } from '../fakes/aws-places.js';
import { faultyGrantStore, OutageScheduler } from '../fakes/faulty-ports.js';
import { noSessionEnding, RecordingNotifier } from '../fakes/recording-ports.js';
import { redisDatabase } from '../support/redis-database.js';

const RUNS = Number(process.env.FAULT_RUNS ?? 200);
const SEED = process.env.FAULT_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FAULT_SEED);
const PATH = process.env.FAULT_PATH;
/** The reconcile interval the invariants allow a revocation to be late by. */
const RECONCILE_INTERVAL_MS = 60_000;
const START = Date.UTC(2030, 0, 1);
/** A Redis database no other test file uses: FLUSHDB here loses only this file's jobs. */
const REDIS_DB = 9;

// ---------- the world ----------

const HOME_ACCOUNT = '111111111111';
const OTHER_ACCOUNT = '222222222222';
const ROLE = 'arn:aws:iam::222222222222:role/cache-access';
/** A second role into the same account: another location key for the same place. */
const OTHER_ROLE = 'arn:aws:iam::222222222222:role/cache-access-ops';

interface ClusterSite {
  id: string;
  accountId: string;
  region: string;
  /** Where a person making a rule by hand reaches it. */
  location: { region: string; roleArn?: string };
  targetGroup: string;
  sourceGroup: string;
  vpcId: string;
}

const CLUSTERS: readonly ClusterSite[] = [
  { id: 'orders-redis', accountId: HOME_ACCOUNT, region: 'eu-west-1', location: { region: 'eu-west-1' }, targetGroup: 'sg-0000000000000a001', sourceGroup: 'sg-0000000000000a002', vpcId: 'vpc-0000000000000000a' },
  { id: 'billing-redis', accountId: OTHER_ACCOUNT, region: 'eu-west-1', location: { region: 'eu-west-1', roleArn: ROLE }, targetGroup: 'sg-0000000000000b001', sourceGroup: 'sg-0000000000000b002', vpcId: 'vpc-0000000000000000b' },
  { id: 'search-valkey', accountId: OTHER_ACCOUNT, region: 'us-east-1', location: { region: 'us-east-1', roleArn: ROLE }, targetGroup: 'sg-0000000000000c001', sourceGroup: 'sg-0000000000000c002', vpcId: 'vpc-0000000000000000c' },
];
const CIDRS = ['10.1.2.0/24', '10.1.2.0/25', '10.1.3.0/24'];

/** The sources a request for `site` may name: overlapping CIDRs, its own source group, another VPC's group. */
function sourcesFor(site: ClusterSite): Source[] {
  const foreign = CLUSTERS.find((other) => other !== site)!.sourceGroup;
  return [...CIDRS.map((cidr) => ({ kind: 'cidr' as const, cidr })), { kind: 'security-group', groupId: site.sourceGroup }, { kind: 'security-group', groupId: foreign }];
}

function newAws(): FakeAwsPlaces {
  const aws = new FakeAwsPlaces(HOME_ACCOUNT, { [ROLE]: OTHER_ACCOUNT, [OTHER_ROLE]: OTHER_ACCOUNT });
  for (const site of CLUSTERS) {
    aws.addGroup(site.accountId, site.region, site.targetGroup, site.vpcId);
    aws.addGroup(site.accountId, site.region, site.sourceGroup, site.vpcId);
    aws.addCluster(site.accountId, site.region, {
      id: site.id,
      kind: 'replication-group',
      engine: 'redis',
      endpoint: `${site.id}.cache.amazonaws.com`,
      port: 6379,
      vpcId: site.vpcId,
      securityGroupIds: [site.targetGroup],
      memberIds: [`${site.id}-001`],
      connection: { tls: true, auth: 'none', clusterMode: false },
    });
  }
  return aws;
}

const USERS = ['U0ALICE', 'U0BOB', 'U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3', 'U0MALLORY'] as const;

const DEFAULTS = `
defaults:
  minDuration: 1m
  duration: 20m
  maxDuration: 2h
  maxTotal: 3h
  remindBefore: 5m
  pendingTimeout: 4h
clusters:`;
const ORDERS = `
  - match: "orders-*"
    approvers: [U0APPROVER1, U0APPROVER2]
    allowedCidrs: [10.1.0.0/16]
    autoApprove: { maxDuration: 30m, requesters: [U0ALICE] }
    breakGlass: { maxDuration: 1h, requesters: [U0BOB], perDay: 2 }`;
const billing = (region: string, role: string, approvers = '[U0APPROVER2, U0APPROVER3, U0ALICE]', selfApproval = true) => `
  - match: "billing-*"
    approvers: ${approvers}
    approvals: 2
    selfApproval: ${selfApproval}
    allowedCidrs: [10.1.0.0/16]
    region: ${region}
    roleArn: ${role}`;
const search = (region: string, role: string) => `
  - match: "search-*"
    approvers: [U0APPROVER3, U0APPROVER1]
    allowedCidrs: [10.1.0.0/16]
    region: ${region}
    roleArn: ${role}
    breakGlass: { maxDuration: 30m, requesters: [U0MALLORY, U0APPROVER3], perDay: 1 }`;

/** The policy files a reload may switch between. */
const POLICIES = {
  base: DEFAULTS + ORDERS + billing('eu-west-1', ROLE) + search('us-east-1', ROLE),
  // Same places, reached through another role: new grants record the new location key.
  'role-changed': DEFAULTS + ORDERS + billing('eu-west-1', OTHER_ROLE) + search('us-east-1', OTHER_ROLE),
  // Wrong regions: new requests find nothing there; grants made before must still end where they were made.
  'region-changed': DEFAULTS + ORDERS + billing('us-east-1', ROLE) + search('eu-west-1', ROLE),
  // A catch-all rule first: billing-redis is now looked for with the bot's own credentials, by other approvers.
  reordered: `${DEFAULTS}
  - match: "*-redis"
    approvers: [U0APPROVER3, U0BOB]
    allowedCidrs: [10.1.0.0/16]${ORDERS}${billing('eu-west-1', ROLE)}${search('us-east-1', ROLE)}`,
  stricter:
    DEFAULTS +
    ORDERS.replace('autoApprove: { maxDuration: 30m, requesters: [U0ALICE] }', 'approvals: 2') +
    billing('eu-west-1', ROLE, '[U0APPROVER1, U0APPROVER2]', false) +
    search('us-east-1', ROLE),
} as const;
type PolicyName = keyof typeof POLICIES;
const PARSED = Object.fromEntries(Object.entries(POLICIES).map(([name, text]) => [name, parsePolicy(text, name)])) as Record<PolicyName, Policy>;

// ---------- moves ----------

type Move =
  | { kind: 'request'; user: string; cluster: number; source: number; minutes: number }
  | { kind: 'break-glass'; user: string; cluster: number; source: number; minutes: number }
  | { kind: 'review'; user: string | number; pick: number }
  | { kind: 'decide'; user: string | number; pick: number; approve: boolean }
  | { kind: 'extend'; asRequester: boolean; user: string; pick: number; minutes: number }
  | { kind: 'decide-extension'; user: string | number; pick: number; approve: boolean }
  | { kind: 'end'; user: string; pick: number; mode: 'cancel' | 'revoke' }
  | { kind: 'reload'; policy: PolicyName }
  | { kind: 'restart' }
  | { kind: 'redis'; up: boolean }
  | { kind: 'flush' }
  | { kind: 'aws-fault'; action: 'authorize' | 'revoke' | 'ruleExists' | 'listTaggedRules' | 'findCluster'; count: number; fault: 'throttling' | 'refusal' }
  | { kind: 'db-fault'; nth: number }
  | { kind: 'clock'; seconds: number }
  | { kind: 'reconcile' }
  | { kind: 'run-jobs' }
  | { kind: 'hand-made'; cluster: number; source: number };

const user = fc.constantFrom(...USERS);
/**
 * Who decides: mostly one of the approvers the policy in force names for the request's cluster (a number:
 * which one), else anyone. Approvals come more often than denials, so that grants happen.
 */
const decider = fc.oneof({ weight: 3, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: user });
const approve = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
/** Which request a move is about, counted back from the newest: moves gather on the last few. */
const pick = fc.nat(5);
const requestMove = fc.record({ kind: fc.constant('request' as const), user, cluster: fc.nat(2), source: fc.nat(4), minutes: fc.constantFrom(1, 10, 30, 90) });
/** Mostly by a requester on a cluster whose rule lets them break glass (Bob on orders, Mallory and approver 3 on search). */
const breakGlassMove = fc
  .record({
    who: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom({ user: 'U0BOB', cluster: 0 }, { user: 'U0MALLORY', cluster: 2 }, { user: 'U0APPROVER3', cluster: 2 }) },
      { weight: 1, arbitrary: fc.record({ user: user as fc.Arbitrary<string>, cluster: fc.nat(2) }) },
    ),
    source: fc.nat(4),
    minutes: fc.constantFrom(1, 10, 30, 90),
  })
  .map(({ who, source, minutes }) => ({ kind: 'break-glass' as const, ...who, source, minutes }));
const move: fc.Arbitrary<Move> = fc.oneof(
  { weight: 5, arbitrary: requestMove },
  { weight: 3, arbitrary: breakGlassMove },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('review' as const), user: decider, pick }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('decide' as const), user: decider, pick, approve }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('extend' as const), asRequester: approve, user, pick, minutes: fc.constantFrom(10, 60) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('decide-extension' as const), user: decider, pick, approve }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('end' as const), user, pick, mode: fc.constantFrom('cancel' as const, 'revoke' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const), policy: fc.constantFrom(...(Object.keys(POLICIES) as PolicyName[])) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redis' as const), up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('aws-fault' as const),
      action: fc.constantFrom('authorize' as const, 'revoke' as const, 'ruleExists' as const, 'listTaggedRules' as const, 'findCluster' as const),
      count: fc.integer({ min: 1, max: 3 }),
      fault: fc.constantFrom('throttling' as const, 'refusal' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('db-fault' as const), nth: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('clock' as const), seconds: fc.constantFrom(1, 30, 61, 600, 1_800, 7_200, 90_000) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'reconcile' as const }) },
  { weight: 5, arbitrary: fc.constant({ kind: 'run-jobs' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hand-made' as const), cluster: fc.nat(2), source: fc.nat(3) }) },
);

/** A few requests first, so that the moves after them have something to act on. */
const sequenceOfMoves = fc
  .tuple(fc.array(requestMove, { minLength: 1, maxLength: 3 }), fc.array(move, { minLength: 10, maxLength: 50, size: 'max' }))
  .map(([requests, rest]) => [...requests, ...rest]);

// ---------- one sequence ----------

const logger = pino({ level: 'silent' });
const TOKEN = 'lifecycle-faults';
let redisUrl: string;
let producer: Redis;
let workerConnection: Redis;
let sequence = 0;

interface Run {
  dir: string;
  prefix: string;
  database: OpenedDatabase;
  store: ReturnType<typeof faultyGrantStore>;
  aws: FakeAwsPlaces;
  bullmq: BullmqScheduler;
  scheduler: OutageScheduler;
  worker: Worker<JobData, void, JobName>;
  policyName: PolicyName;
  /** Which policy was in force from when (test clock, ms), oldest first. */
  policyLog: Array<{ from: number; policy: Policy }>;
  deps: UseCaseDeps;
}

function openRun(): Run {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-faults-'));
  const prefix = `faults-${process.pid}-${++sequence}`;
  const aws = newAws();
  const bullmq = new BullmqScheduler({ connection: producer, prefix });
  const run = {
    dir,
    prefix,
    aws,
    bullmq,
    scheduler: new OutageScheduler(bullmq),
    policyName: 'base' as PolicyName,
    policyLog: [{ from: Date.now(), policy: PARSED.base }],
  } as Run;
  openStoreAndWorker(run);
  return run;
}

/** What a (re)started process opens: the database file, a worker connection, the use cases' deps. */
function openStoreAndWorker(run: Run): void {
  run.database = openDatabase(join(run.dir, 'cache-access.db'));
  run.store = faultyGrantStore(new SqliteGrantStore(run.database.db));
  run.worker = new Worker<JobData, void, JobName>(QUEUE_NAME, null, { connection: workerConnection, prefix: run.prefix, autorun: false, settings: WORKER_SETTINGS });
  run.deps = {
    store: run.store,
    directory: run.aws,
    firewall: run.aws,
    ...noSessionEnding(),
    people: { expandApprovers: async (principals) => principals },
    notifier: new RecordingNotifier(),
    scheduler: run.scheduler,
    clock: { now: () => new Date() },
    policy: () => PARSED[run.policyName],
    logger,
  };
}

/** Closing a worker still in its connection handshake leaves BullMQ's rejected INFO unhandled: let it finish. */
async function closeWorker(run: Run): Promise<void> {
  await run.worker.waitUntilReady().catch(() => {});
  await run.worker.close();
}

async function closeRun(run: Run): Promise<void> {
  await closeWorker(run);
  await run.bullmq.close();
  run.database.close();
  rmSync(run.dir, { recursive: true, force: true });
}

async function restart(run: Run): Promise<void> {
  await closeWorker(run);
  await run.bullmq.close();
  run.database.close();
  run.bullmq = new BullmqScheduler({ connection: producer, prefix: run.prefix });
  // Redis stays down through a restart if it was down.
  run.scheduler = Object.assign(new OutageScheduler(run.bullmq), { down: run.scheduler.down });
  openStoreAndWorker(run);
  await reconcile(run.deps);
}

const requestCount = (run: Run) =>
  (run.database.sqlite.prepare('select coalesce(max(id), 0) as n from requests').get() as { n: number }).n;
const picked = (run: Run, back: number) => Math.max(1, requestCount(run) - back);
/** Extensions are about active grants: one of those when there are any. */
async function pickedActive(run: Run, index: number): Promise<number> {
  const active = await run.store.findByStatus('active');
  return active.length > 0 ? active[index % active.length]!.id : picked(run, index);
}

/** Reviews are about break-glass grants: one still unreviewed when there are any. */
async function pickedUnreviewed(run: Run, index: number): Promise<number> {
  const unreviewed = await run.store.unreviewedBreakGlass();
  return unreviewed.length > 0 ? unreviewed[index % unreviewed.length]!.id : picked(run, index);
}

/** A user id as is; a number picks among the approvers the policy in force names for the request's cluster. */
async function deciderOf(run: Run, requestId: number, who: string | number): Promise<string> {
  if (typeof who === 'string') return who;
  const clusterId = (await run.store.get(requestId))?.clusterId;
  const approvers = (clusterId && PARSED[run.policyName].ruleFor(clusterId)?.approvers) || USERS;
  return approvers[who % approvers.length]!;
}

function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

/** Refusals, upstream failures and the injected database error are outcomes; a TypeError is a bug. */
async function outcomeOf(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError) throw error;
  }
}

/** What a request or break-glass move asks for. */
function inputOf(m: { user: string; cluster: number; source: number; minutes: number }, reason: string): AccessRequestInput {
  const site = CLUSTERS[m.cluster]!;
  return { requesterId: m.user, requesterName: m.user.toLowerCase(), clusterId: site.id, source: sourcesFor(site)[m.source]!, durationSeconds: m.minutes * 60, reason };
}

async function step(run: Run, m: Move): Promise<void> {
  advance(1); // every move at its own instant, so the policy in force at any event is known
  const deps = run.deps;
  switch (m.kind) {
    case 'request':
      return outcomeOf(() => requestAccess(deps, inputOf(m, 'fault test')));
    case 'break-glass':
      return outcomeOf(() => breakGlass(deps, inputOf(m, 'fault test, break-glass')));
    case 'review': {
      const requestId = await pickedUnreviewed(run, m.pick);
      return outcomeOf(async () => reviewBreakGlass(deps, { requestId, userId: await deciderOf(run, requestId, m.user) }));
    }
    case 'decide': {
      const requestId = picked(run, m.pick);
      return outcomeOf(async () => decide(deps, { requestId, userId: await deciderOf(run, requestId, m.user), decision: m.approve ? 'approve' : 'deny' }));
    }
    case 'extend': {
      const requestId = await pickedActive(run, m.pick);
      const userId = m.asRequester ? ((await run.store.get(requestId))?.requesterId ?? m.user) : m.user;
      return outcomeOf(() => requestExtension(deps, { requestId, userId, seconds: m.minutes * 60 }));
    }
    case 'decide-extension': {
      const requestId = await pickedActive(run, m.pick);
      return outcomeOf(async () => decideExtension(deps, { requestId, userId: await deciderOf(run, requestId, m.user), decision: m.approve ? 'approve' : 'deny' }));
    }
    case 'end':
      return outcomeOf(() => endAccess(deps, { requestId: picked(run, m.pick), userId: m.user, mode: m.mode }));
    case 'reload':
      run.policyName = m.policy;
      run.policyLog.push({ from: Date.now(), policy: PARSED[m.policy] });
      return;
    case 'restart':
      return restart(run);
    case 'redis':
      run.scheduler.down = !m.up;
      return;
    case 'flush':
      await producer.flushdb();
      return;
    case 'aws-fault':
      run.aws.failNext(m.action, m.count, m.fault);
      return;
    case 'db-fault':
      run.store.failWrite(m.nth);
      return;
    case 'clock':
      advance(m.seconds * 1000);
      return;
    case 'reconcile':
      await reconcile(deps);
      return;
    case 'run-jobs':
      return runDueJobs(run);
    case 'hand-made': {
      const site = CLUSTERS[m.cluster]!;
      run.aws.addHandMadeRule(site.location, { securityGroupId: site.targetGroup, protocol: 'tcp', port: 6379, source: sourcesFor(site)[m.source]! });
      return;
    }
  }
}

/**
 * Runs every job due by the test clock, one at a time, as a worker would: completed jobs are removed,
 * failed ones retried with their backoff (later by the clock) or dropped after their last attempt.
 */
async function runDueJobs(run: Run): Promise<void> {
  if (run.scheduler.down) return; // the workers cannot reach Redis either
  const processJob = jobProcessor({
    grant: (requestId, attempt) => activate(run.deps, requestId, attempt),
    revoke: (requestId, attempt) => revokeExpired(run.deps, requestId, attempt),
    remind: (requestId) => remind(run.deps, requestId),
    'end-sessions': (requestId, attempt) => endSessions(run.deps, requestId, attempt),
  });
  for (let taken = 0; taken < 200; taken++) {
    const job = await run.worker.getNextJob(TOKEN, { block: false });
    if (!job) return;
    try {
      await processJob(job);
    } catch (error) {
      if (error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError) throw error;
      await job.moveToFailed(error instanceof Error ? error : new UnrecoverableError(String(error)), TOKEN, false);
      continue;
    }
    await job.moveToCompleted(undefined, TOKEN, false);
  }
  throw new Error('more than 200 jobs due at one instant: a job keeps re-enqueueing itself');
}

// ---------- invariants ----------

interface RuleRow {
  id: number;
  aws_rule_id: string | null;
  aws_region: string | null;
  aws_role_arn: string | null;
  state: string;
}

/** A rule the records call removed is gone from AWS where it was made; no hand-made rule was ever removed. */
function checkAfterEveryMove(run: Run): void {
  const removed = run.database.sqlite
    .prepare("select id, aws_rule_id, aws_region, aws_role_arn, state from ingress_rules where state = 'removed' and aws_rule_id is not null")
    .all() as RuleRow[];
  for (const rule of removed) {
    const location = { region: rule.aws_region ?? undefined, roleArn: rule.aws_role_arn ?? undefined };
    expect(run.aws.hasRule(location, rule.aws_rule_id!), `rule record ${rule.id} (${rule.aws_rule_id}) is 'removed' but AWS still has it`).toBe(false);
  }
  const handMadeRemoved = run.aws.removals.filter((removal) => !removal.rule.tags);
  expect(handMadeRemoved, 'a rule made by hand was removed').toEqual([]);
}

/**
 * Clears every fault, then moves the clock a reconcile interval past the last expiry and runs one
 * reconcile pass and the due jobs, checking after each round that no rule cache-access made is left
 * for a grant that is over or never became active. Rounds repeat for grants activated meanwhile.
 */
async function settle(run: Run): Promise<void> {
  run.aws.clearFaults();
  run.store.clearFault();
  run.scheduler.down = false;
  for (let round = 0; round < 4; round++) {
    const ends = (await run.store.findByStatus('active')).map((grant) => grant.expiresAt!.getTime());
    vi.setSystemTime(Math.max(Date.now(), ...ends) + RECONCILE_INTERVAL_MS);
    await reconcile(run.deps);
    await runDueJobs(run);
    checkAfterEveryMove(run);
    await checkNoRuleOutlivesItsGrant(run);
  }
  expect((await run.store.findByStatus('approved')).map((r) => r.id), 'approved grants left after settling').toEqual([]);
  expect((await run.store.findByStatus('active')).map((r) => r.id), 'active grants left after settling').toEqual([]);
  expect(run.aws.allRules().filter(({ rule }) => rule.tags), "cache-access's rules left after settling").toEqual([]);
}

/** Every rule cache-access made that AWS still has is held by an active grant whose end is not a reconcile interval past. */
async function checkNoRuleOutlivesItsGrant(run: Run): Promise<void> {
  const now = Date.now();
  const active = await run.store.findByStatus('active');
  for (const { place, rule } of run.aws.allRules()) {
    if (!rule.tags) continue;
    const holders: AccessRequest[] = [];
    for (const grant of active) if ((await run.store.getRule(grant.ruleRecordId!))?.awsRuleId === rule.awsRuleId) holders.push(grant);
    const current = holders.filter((grant) => grant.expiresAt!.getTime() > now - RECONCILE_INTERVAL_MS);
    expect(current.map((g) => g.id), `rule ${rule.awsRuleId} in ${place} (tagged for #${rule.tags.grantId}) has no active grant in time; holders ${JSON.stringify(holders.map((g) => g.id))}`).not.toEqual([]);
  }
}

const EXTENSION_APPROVALS: ReadonlySet<string> = new Set(
  Object.values(EXTENSION_EVENTS).filter((type) => ![EXTENSION_EVENTS.requested, EXTENSION_EVENTS.denied, EXTENSION_EVENTS.void].includes(type as never)),
);

/** Every decision on a request or extension came from enough distinct approvers named by the policy then in force. */
async function checkDecisions(run: Run): Promise<void> {
  const ruleAt = (at: Date, clusterId: string) => run.policyLog.filter((entry) => entry.from <= at.getTime()).at(-1)!.policy.ruleFor(clusterId);
  for (let id = 1; id <= requestCount(run); id++) {
    const request = (await run.store.get(id))!;
    const history = await run.store.history(id);
    const createdUnder = ruleAt(request.createdAt, request.clusterId)!;
    const auto = history.some((e) => e.type === 'auto-approved');
    const opened = history.find((e) => e.type === BREAK_GLASS);
    if (request.breakGlass) await checkBreakGlass(run, request, history, createdUnder);
    if (auto) {
      expect(createdUnder.autoApprove?.requesters, `#${id} auto-approved`).toContain(request.requesterId);
      expect(request.durationSeconds).toBeLessThanOrEqual(createdUnder.autoApprove!.maxDuration);
    } else {
      expect(request.approvalsRequired, `#${id} approvals required`).toBe(createdUnder.approvals);
    }
    const mayDecide = (event: HistoryEvent, approving: boolean) => {
      const rule: ClusterPolicy | undefined = ruleAt(event.at, request.clusterId);
      const what = `#${id} ${event.type} by ${event.actor}`;
      expect(rule?.approvers, `${what}: not an approver then`).toContain(event.actor);
      if (approving && event.actor === request.requesterId) expect(rule?.selfApproval, `${what}: the requester`).toBe(true);
    };
    const approvers = new Set<string>();
    let extensionApprovers = new Set<string>();
    let extensionNeeds = 0;
    for (const event of history) {
      if (event.type === 'approved' || event.type === 'denied') mayDecide(event, event.type === 'approved');
      if (event.type === REVIEWED) mayDecide(event, false);
      if (event.type === 'approved') approvers.add(event.actor);
      if (event.type === EXTENSION_EVENTS.requested) {
        extensionApprovers = new Set();
        // As many as the request needed; an auto-approved one needed only cache-access, so the rule's.
        extensionNeeds = auto ? ruleAt(event.at, request.clusterId)!.approvals : request.approvalsRequired;
      }
      if (event.type === EXTENSION_EVENTS.denied) mayDecide(event, false);
      if (EXTENSION_APPROVALS.has(event.type)) {
        mayDecide(event, true);
        extensionApprovers.add(event.actor);
      }
      if (event.type === EXTENSION_EVENTS.approved) {
        expect(extensionApprovers.size, `#${id} extension approved by ${[...extensionApprovers].join(', ')}`).toBeGreaterThanOrEqual(extensionNeeds);
      }
    }
    // A break-glass grant is approved by the policy alone; an approver reviews it afterwards instead.
    if (request.approvedAt && !auto && !opened) {
      expect(approvers.size, `#${id} approved by ${[...approvers].join(', ')}`).toBeGreaterThanOrEqual(request.approvalsRequired);
    }
  }
}

/**
 * A break-glass grant was opened by its requester, whom the rule then in force lets break glass, for no longer
 * than its maxDuration, within its perDay (counting every break-glass request of theirs in the 24 h before,
 * whatever became of them), without approvals; it was reviewed at most once, by someone else (mayDecide checks
 * the reviewer was an approver then).
 */
async function checkBreakGlass(run: Run, request: AccessRequest, history: HistoryEvent[], createdUnder: ClusterPolicy): Promise<void> {
  const what = `#${request.id} by break-glass (${request.requesterId} on ${request.clusterId})`;
  const policy = createdUnder.breakGlass;
  expect(policy?.requesters, `${what}: not a break-glass requester then`).toContain(request.requesterId);
  expect(request.durationSeconds, `${what}: duration`).toBeLessThanOrEqual(policy!.maxDuration);
  const all = await Promise.all(Array.from({ length: requestCount(run) }, (_, i) => run.store.get(i + 1)));
  const sameWindow = all.filter(
    (other): other is AccessRequest =>
      other !== undefined &&
      other.breakGlass !== undefined &&
      other.requesterId === request.requesterId &&
      other.createdAt.getTime() >= request.createdAt.getTime() - BREAK_GLASS_WINDOW_MS &&
      other.createdAt <= request.createdAt,
  );
  expect(sameWindow.length, `${what}: break-glass requests in the 24 h up to it`).toBeLessThanOrEqual(policy!.perDay);
  const opened = history.filter((e) => e.type === BREAK_GLASS);
  // Opened once, by its requester: never stored without its opening (a write failing half way through).
  expect(opened.map((e) => e.actor), `${what}: opened`).toEqual([request.requesterId]);
  expect(history.filter((e) => e.type === 'approved').map((e) => e.actor), `${what}: approvals`).toEqual([]);
  const reviews = history.filter((e) => e.type === REVIEWED);
  expect(reviews.length, `${what}: reviews`).toBeLessThanOrEqual(1);
  for (const review of reviews) expect(review.actor, `${what}: reviewed by its requester`).not.toBe(request.requesterId);
  expect(request.breakGlass?.reviewedBy?.userId, `${what}: reviewer recorded`).toBe(reviews[0]?.actor);
}

// ---------- the property ----------

/** How often each outcome was reached over all sequences, so a run shows it exercised them. */
const reached = new Map<string, number>();
const OUTCOMES = [BREAK_GLASS, REVIEWED, REVIEW_REMINDED, 'activated', 'expired', 'revoked', 'revoked-externally', 'failed', 'auto-approved', 'timed-out', EXTENSION_EVENTS.approved, 'orphan-rule-revoked'];

function count(run: Run): void {
  const rows = run.database.sqlite.prepare('select type, count(*) as n from events group by type').all() as Array<{ type: string; n: number }>;
  for (const { type, n } of rows) if (OUTCOMES.includes(type)) reached.set(type, (reached.get(type) ?? 0) + n);
  reached.set('rules removed', (reached.get('rules removed') ?? 0) + run.aws.removals.length);
}

beforeAll(async () => {
  redisUrl = redisDatabase(inject('redisUrl'), REDIS_DB);
  producer = createProducerConnection(redisUrl);
  workerConnection = createWorkerConnection(redisUrl);
  // The producer has no offline queue: a 'flush' move made before its handshake ends would fail with
  // "Stream isn't writeable" (it did, in CI, on a loaded machine). Sequences start on a connected Redis.
  await settled(producer, 10_000);
  expect(producer.status).toBe('ready');
  vi.useFakeTimers({ toFake: ['Date'] });
});

afterAll(async () => {
  vi.useRealTimers();
  await producer.flushdb().catch(() => {});
  await producer.quit();
  await workerConnection.quit();
});

test(`access ends when it should under random faults (${RUNS} sequences)`, { timeout: Math.max(120_000, RUNS * 2_000) }, async () => {
  console.log(`lifecycle-faults: seed ${SEED}, ${RUNS} sequences; replay with FAULT_SEED=${SEED}${PATH ? ` FAULT_PATH=${PATH}` : ''}`);
  await fc.assert(
    fc.asyncProperty(sequenceOfMoves, async (moves) => {
      vi.setSystemTime(START);
      const run = openRun();
      try {
        for (const m of moves) {
          await step(run, m);
          checkAfterEveryMove(run);
        }
        await settle(run);
        await checkDecisions(run);
        count(run);
      } finally {
        await closeRun(run);
      }
    }),
    { numRuns: RUNS, seed: SEED, ...(PATH ? { path: PATH } : {}), endOnFailure: false },
  );
  console.log(`lifecycle-faults: reached ${JSON.stringify(Object.fromEntries(reached))}`);
});
