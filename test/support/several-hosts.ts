/**
 * What the several-hosts tests share: web and worker processes of the built program (dist/main.js) around
 * one PostgreSQL for the records, with AWS (EC2 and ElastiCache over HTTP) and the Slack Web API faked, and
 * a burst of grants requested and approved as Slack sends them (signed slash commands, then signed Approve
 * clicks by the approver the policy names).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, inject, vi } from 'vitest';
import { PostgresGrantStore } from '../../src/adapters/db/postgres/grant-store.js';
import { openPostgres, type OpenedPostgres } from '../../src/adapters/db/postgres/open.js';
import { buildProgram, killAll, startProgram, testAwsEnv, type BuiltProgram, type RunningProgram } from '../fakes/built-program.js';
import { startFakeEc2, type FakeEc2 } from '../fakes/fake-ec2-server.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack-server.js';
import { freshPostgresDatabase } from './postgres-database.js';
import { blockActionBody, postToSlackEndpoint, slashCommandBody } from './slack-request.js';
import { waitForApprovalMessage } from './stored-status.js';

const SIGNING_SECRET = 'several-hosts-secret';
// Not shorter: the watchdog gives the queue min(interval, 5 s) to answer, and with eight processes on two
// cores a 2 s limit was once missed (a warning, and a pass run in-process).
export const RECONCILE_SECONDS = 5;
const TARGET_GROUP = 'sg-0aaaaaaaaaaaaaaaa';
const POLICY = `
defaults:
  minDuration: 1s
  ruleQuota: 1000
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    allowedCidrs: ["10.0.0.0/8"]
`;

/**
 * How late a job the killed worker held can run again. BullMQ's lock on it (lockDuration, 30 s by
 * default, which workers.ts keeps) runs out at most 30 s after the kill. A stalled-job check reclaims a job
 * only when an earlier check marked it and its lock is gone; the checks of all workers share one key that
 * lets a check run at most once per stalledInterval (30 s), so the live worker's first check after the kill
 * can be skipped because the dead one checked just before. Worst case: skipped, then a check that marks the
 * job (its lock still held), then one that reclaims it: up to lockDuration + 2 × stalledInterval, plus time
 * to run.
 */
export const RECOVERY_BOUND_MS = 30_000 + 2 * 30_000 + 10_000;

export interface Hosts {
  ec2: FakeEc2;
  slack: FakeSlack;
  /** The records, as the processes keep them. */
  store: PostgresGrantStore;
  /** The web processes' Slack endpoints, in the order of their names. */
  eventsUrls: string[];
  /** The worker processes, in the order of their names; each signs its AWS calls with its name as access key id. */
  workers: RunningProgram[];
  /** When each worker logged that it had started (epoch ms). */
  workersStartedAt: number[];
  /** Every process, web and worker. */
  processes: RunningProgram[];
  /** Kills what still runs and removes what start() made. */
  close(): Promise<void>;
}

export interface HostsOptions {
  web: string[];
  worker: string[];
  jobs: 'postgres' | 'redis';
  /** Without Redis, where nothing listens. */
  redisUrl: string;
}

/**
 * For the calling describe block: builds the program once, and closes each test's hosts after it. start()
 * runs the processes named in `options` (each with a key of its own for AWS) and waits until each has started.
 */
export function severalHostsSuite(): { start(options: HostsOptions): Promise<Hosts> } {
  let program: BuiltProgram;
  let hosts: Hosts | undefined;
  beforeAll(async () => {
    program = await buildProgram();
  }, 180_000);
  afterAll(() => program?.remove());
  afterEach(async () => {
    await hosts?.close();
    hosts = undefined;
  });
  return {
    async start(options) {
      hosts = await startHosts(program, options);
      return hosts;
    },
  };
}

async function startHosts(program: BuiltProgram, options: HostsOptions): Promise<Hosts> {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-hosts-'));
  writeFileSync(join(dir, 'policy.yml'), POLICY);
  const database = await freshPostgresDatabase(inject('postgresUrl'));
  const ec2 = await startFakeEc2({ cacheClusters: { 'orders-redis': { engine: 'redis', port: 6379, securityGroupId: TARGET_GROUP, vpcId: 'vpc-0123abcd' } } });
  const slack = await startFakeSlack();
  const processes: RunningProgram[] = [];
  let records: OpenedPostgres | undefined;
  const close = async () => {
    killAll([...processes]);
    await records?.close();
    await database.drop();
    await ec2.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  };

  const start = (name: string, role: 'web' | 'worker'): RunningProgram => {
    const running = startProgram(join(program.dist, 'main.js'), ['--role', role], {
      SLACK_BOT_TOKEN: 'xoxb-several-hosts',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DATABASE_URL: database.url,
      QUEUE_BACKEND: options.jobs,
      REDIS_URL: options.redisUrl,
      POLICY_FILE: join(dir, 'policy.yml'),
      // 'reconcile pass' is logged at debug level when it repaired nothing.
      LOG_LEVEL: role === 'worker' ? 'debug' : 'info',
      RECONCILE_INTERVAL: `${RECONCILE_SECONDS}s`,
      EC2_RATE_LIMIT: '1000',
      ...testAwsEnv(dir),
      // AWS tells the processes apart by the key they sign with.
      AWS_ACCESS_KEY_ID: name,
      AWS_ENDPOINT_URL: ec2.url,
    });
    processes.push(running);
    return running;
  };

  try {
    const webs = options.web.map((name) => start(name, 'web'));
    const workers = options.worker.map((name) => start(name, 'worker'));
    const [webStarts, workerStarts] = await Promise.all(
      [webs, workers].map((group) => Promise.all(group.map((running) => running.logged('cache-access started')))),
    );
    records = await openPostgres(database.url);
    return {
      ec2,
      slack,
      store: new PostgresGrantStore(records.db),
      eventsUrls: webStarts!.map((line) => `http://127.0.0.1:${Number(line.port)}/slack/events`),
      workers,
      workersStartedAt: workerStarts!.map((line) => Number(line.time)),
      processes,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * `count` grants of `seconds` each, #1 to #count, requested by U0ALICE and approved by U0BOB through the web
 * processes in turn; resolves once every click is answered (the grant jobs may still be running).
 */
export async function requestAndApprove(hosts: Hosts, count: number, seconds: number): Promise<void> {
  const { eventsUrls, slack, store } = hosts;
  const endpoint = (i: number) => eventsUrls[i % eventsUrls.length]!;
  const commands = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      postToSlackEndpoint(
        endpoint(i),
        SIGNING_SECRET,
        slashCommandBody({ text: `orders-redis 10.1.${i}.0/24 ${seconds}s burst ${i}`, userId: 'U0ALICE', responseUrl: slack.responseUrl(`cmd-${i}`) }),
      ),
    ),
  );
  expect(commands.map((reply) => reply.status)).toEqual(Array(count).fill(200));
  await vi.waitFor(async () => expect(await store.findByStatus('pending')).toHaveLength(count), { timeout: 30_000, interval: 200 });

  const clicks = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = i + 1;
      const message = await waitForApprovalMessage(store, id);
      const body = blockActionBody({ userId: 'U0BOB', actionId: 'approve', value: String(id), messageTs: message.ts, channelId: message.channel, responseUrl: slack.responseUrl(`click-${id}`) });
      return postToSlackEndpoint(endpoint(id), SIGNING_SECRET, body);
    }),
  );
  expect(clicks.map((reply) => reply.status)).toEqual(Array(count).fill(200));
}

/** The processes' log lines at warn level or above, as "msg: error message", but those `expected` matches. */
export function unexpectedWarnings(processes: RunningProgram[], expected: (line: Record<string, unknown>) => boolean): string[] {
  return processes.flatMap((running) =>
    running.lines
      .filter((line) => Number(line.level) >= 40 && !expected(line))
      .map((line) => `${String(line.msg)}: ${(line.err as { message?: string } | undefined)?.message ?? ''}`),
  );
}
