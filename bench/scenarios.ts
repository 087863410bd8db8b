/** The measured runs. Each starts its own bot process on a fresh database and queue prefix. */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { SqliteGrantStore } from '../src/adapters/db/grant-store.js';
import { openDatabase } from '../src/adapters/db/open.js';
import { openRecords } from '../src/adapters/db/records.js';
import { BullmqScheduler } from '../src/adapters/queue/bullmq-scheduler.js';
import type { UseCaseDeps } from '../src/app/deps.js';
import type { ClusterNetwork, LiveSessions, Notifier, PeopleDirectory, SessionCredentials } from '../src/app/ports.js';
import { reconcile } from '../src/app/reconcile.js';
import { loadPolicy } from '../src/policy.js';
import { startAwsProcess } from './aws-process.js';
import { benchBackend, type BenchBackend, type PreparedBackend } from './backends.js';
import { startBotProcess, type BotBuild, type BotProcess } from './bot-process.js';
import type { CallLog } from './call-log.js';
import { InMemoryAws } from './in-memory-aws.js';
import { cpuWindow, loadAverage } from './machine.js';
import { openRecordsView, type RecordsView } from './records-view.js';
import { seedGrants } from './seed.js';
import { startFloorServer } from './floor-server.js';
import { SignedPoster } from './signed-poster.js';
import { startSlackProcess, type SlackProcess } from './slack-process.js';
import { BENCH_POLICY, SIGNING_SECRET, SlackDriver, type Submitted } from './slack-driver.js';
import { busiestWindow, percentile, ratePerSecond, runPool, summary } from './stats.js';

export type Summary = ReturnType<typeof summary>;

interface Session {
  dir: string;
  policyFile: string;
  slack: SlackProcess;
  /** The process Slack's requests go to: role all, or the web process when there are workers. */
  bot: BotProcess;
  /** Every bot process of the run. */
  bots: BotProcess[];
  /** The mutating AWS calls of the run, from the bot's own AWS or the shared one. */
  aws: CallLog;
  records: RecordsView;
  driver: SlackDriver;
  close(): Promise<void>;
}

interface SessionOptions {
  latencyMs: number;
  rateLimit: number;
  dir?: string;
  adoptRecordedRules?: boolean;
  build?: BotBuild;
  /**
   * Run Slack traffic in a `--role web` process and the jobs in this many `--role worker` processes, all
   * on one shared in-memory AWS (bench/aws-process.ts); without it, one process runs everything.
   */
  workers?: number;
}

async function openSession(backend: BenchBackend, options: SessionOptions): Promise<Session> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cache-access-bench-'));
  const policyFile = join(dir, 'policy.yml');
  writeFileSync(policyFile, BENCH_POLICY);
  const prepared = await backend.prepare(dir);
  const slack = await startSlackProcess();
  const sharedAws = options.workers === undefined ? undefined : await startAwsProcess(options.latencyMs);
  const common = {
    settings: {
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      ...prepared.settings,
      POLICY_FILE: policyFile,
      LOG_LEVEL: 'silent',
      EC2_RATE_LIMIT: String(options.rateLimit),
    },
    awsLatencyMs: options.latencyMs,
    queuePrefix: `bench-${randomUUID()}`,
    adoptRecordedRules: options.adoptRecordedRules,
    awsUrl: sharedAws?.url,
  };
  const bot = await startBotProcess({ ...common, role: sharedAws ? 'web' : 'all' }, options.build);
  const workers: BotProcess[] = [];
  for (let i = 0; i < (options.workers ?? 0); i++) workers.push(await startBotProcess({ ...common, role: 'worker' }, options.build));
  const records = openRecordsView(prepared.records);
  const driver = new SlackDriver(slack, bot.eventsUrl, records);
  return {
    dir,
    policyFile,
    slack,
    bot,
    bots: [bot, ...workers],
    aws: sharedAws?.calls ?? bot.awsCalls,
    records,
    driver,
    async close() {
      driver.close();
      await records.close();
      for (const running of [bot, ...workers]) await running.stop();
      await sharedAws?.close();
      await slack.close();
      await prepared.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SteadyResult {
  startupMs: number;
  idleRssMb: number;
  ack: Array<{ concurrency: number; summary: Summary }>;
  /** The same bursts against a server that does nothing (floor-server.ts). */
  floor: Array<{ concurrency: number; summary: Summary }>;
  approveToAuthorize: Summary;
  peakRssMb: number;
}

export interface AckLevel {
  concurrency: number;
  rounds: number;
}

/**
 * `concurrency` commands sent at once, in rounds, each round after the previous one's work is done:
 * Slack delivers bursts of simultaneous commands, and each must be acknowledged within 3 s.
 */
export const ACK_LEVELS: readonly AckLevel[] = [
  { concurrency: 1, rounds: 200 },
  { concurrency: 10, rounds: 30 },
  { concurrency: 50, rounds: 4 },
  { concurrency: 200, rounds: 2 },
];

/**
 * Per ACK_LEVELS level, rounds of `concurrency` calls of `send` (each giving its time) at once. Each level
 * starts with one round that is not counted: it opens the generator's connections for that concurrency, as
 * a sender that keeps connections alive would already have them.
 */
async function ackBursts(
  ackLevels: readonly AckLevel[],
  send: () => Promise<number>,
  afterRound: () => Promise<void> = async () => {},
): Promise<Array<{ concurrency: number; summary: Summary }>> {
  const levels = [];
  for (const level of ackLevels) {
    const samples: number[] = [];
    for (let round = -1; round < level.rounds; round++) {
      const times = await Promise.all(Array.from({ length: level.concurrency }, send));
      if (round >= 0) samples.push(...times);
      await afterRound();
    }
    levels.push({ concurrency: level.concurrency, summary: summary(samples) });
  }
  return levels;
}

/**
 * Start-up, idle memory, acknowledgement latency per concurrency level, and approve → Authorize one at
 * a time (`approvals` grants).
 */
export async function steadyRun(
  backend: BenchBackend,
  latencyMs: number,
  options: { levels?: readonly AckLevel[]; approvals?: number } = {},
): Promise<SteadyResult> {
  const rateLimit = 10;
  const levels = options.levels ?? ACK_LEVELS;
  const session = await openSession(backend, { latencyMs, rateLimit });
  const { bot, aws, driver } = session;
  try {
    await sleep(2_000);
    const idleRssMb = bot.memory().rssMb;

    const pending: Submitted[] = [];
    const ack = await ackBursts(levels, async () => {
      const submitted = await driver.command('1h');
      pending.push(submitted);
      return submitted.ackMs;
    }, () => driver.drain(pending.length)); // the work after each ack must not spill into the next round

    const oneAtATime: number[] = [];
    for (const submitted of pending.splice(0, options.approvals ?? 100)) {
      const [requestId, click] = [...(await driver.approveAll([submitted], 1))][0]!;
      await aws.waitForCalls('authorize', oneAtATime.length + 1, 10_000);
      const call = aws.calls.find((c) => c.type === 'authorize' && c.grantId === requestId)!;
      oneAtATime.push(call.at - click.clickedAt);
      // Leave the limiter's token to refill, so this measures the bot rather than the queue behind it.
      await sleep(1000 / rateLimit + 10);
    }

    return {
      startupMs: bot.startupMs,
      idleRssMb,
      ack,
      floor: await floorRun(levels),
      approveToAuthorize: summary(oneAtATime),
      peakRssMb: bot.memory().peakRssMb,
    };
  } finally {
    await session.close();
  }
}

/** The ack bursts, same client and sizes, against a server that answers at once. */
async function floorRun(levels: readonly AckLevel[]): Promise<SteadyResult['floor']> {
  const server = await startFloorServer();
  const poster = new SignedPoster(server.url, SIGNING_SECRET);
  try {
    return await ackBursts(levels, async () => (await poster.post('text=floor')).ms);
  } finally {
    poster.close();
    await server.stop();
  }
}

export interface BurstResult {
  grants: number;
  rateLimit: number;
  busiestSecond: number;
  activatedPerSecond: number;
}

/** `grants` grants requested and approved 50 at a time against the default EC2 rate limit. */
export async function burstRun(backend: BenchBackend, grants: number): Promise<BurstResult> {
  const rateLimit = 10;
  const session = await openSession(backend, { latencyMs: 0, rateLimit });
  const { aws, driver } = session;
  try {
    await runPool(grants, 50, async () => {
      await driver.approveWhenPosted(await driver.command('1h'));
    });
    await aws.waitForCalls('authorize', grants, 300_000);
    const times = aws.calls.filter((c) => c.type === 'authorize').map((c) => c.at);
    return { grants, rateLimit, busiestSecond: busiestWindow(times, 1000), activatedPerSecond: ratePerSecond(times) };
  } finally {
    await session.close();
  }
}

export interface FlowResult {
  grants: number;
  rateLimit: number;
  /** Per stage, per second: commands fully processed, clicks acknowledged, Authorize calls, Revoke calls. */
  requestedPerSecond: number;
  approvedPerSecond: number;
  activatedPerSecond: number;
  revokedPerSecond: number;
  /** First command sent to last Revoke issued. */
  endToEndPerSecond: number;
  revocationLag: Summary;
  /** Lag of the revocations issued after the last grant was added: no new grants competing. */
  revocationLagAfterGrants: Summary;
  busiestSecond: number;
  peakRssMb: number;
  /** Absent from results made before they were recorded. */
  machine?: RunMachine;
}

/** What the run's processes and the whole machine spent, to tell what bounded it. */
export interface RunMachine {
  /** 1-minute load average when the run started and when it ended. */
  loadAverage: { start: number; end: number };
  /** Share of all cores' time that was busy during the run (every process on the machine), 0–1. */
  busy: number;
  /** CPU seconds each bot process used during the run. */
  processes: Array<{ role: 'all' | 'web' | 'worker'; cpuSeconds: number }>;
  seconds: number;
}

/**
 * `grants` grants through the whole flow: requested, approved, activated, and revoked at expiry, with
 * `durationOf(i)` seconds each. Revocation lag = Revoke issued minus the stored expiry.
 */
export async function flowRun(
  backend: BenchBackend,
  options: { latencyMs: number; rateLimit: number; grants: number; durationOf: (i: number) => number; workers?: number },
): Promise<FlowResult> {
  const session = await openSession(backend, options);
  const { bots, aws, driver } = session;
  try {
    const loadAtStart = loadAverage()[0];
    const machineBusy = cpuWindow();
    const cpuAtStart = bots.map((bot) => bot.cpuMs());
    const clicks = new Map<number, { clickedAt: number; ackMs: number }>();
    const firstSent = Date.now();
    // Each lane requests a grant and approves it as soon as its approval message is posted, as a busy
    // team would; a pile of pending requests would instead measure the approvers' Home tabs.
    await runPool(options.grants, 50, async (i) => {
      const { requestId, ...click } = await driver.approveWhenPosted(await driver.command(`${options.durationOf(i)}s`));
      clicks.set(requestId, click);
    });
    const requestedSpan = (Date.now() - firstSent) / 1000;
    await aws.waitForCalls('revoke', options.grants, 300_000);
    const machine: RunMachine = {
      loadAverage: { start: loadAtStart, end: loadAverage()[0] },
      busy: machineBusy(),
      processes: bots.map((bot, i) => ({ role: options.workers === undefined ? 'all' : i === 0 ? 'web' : 'worker', cpuSeconds: (bot.cpuMs() - cpuAtStart[i]!) / 1000 })),
      seconds: (Date.now() - firstSent) / 1000,
    };

    const requestIds = [...clicks.keys()];
    const expiries = await driver.expiries(requestIds);
    const revokes = new Map(aws.calls.filter((c) => c.type === 'revoke').map((c) => [c.grantId!, c.at]));
    const lags = requestIds.map((id) => revokes.get(id)! - expiries.get(id)!);
    const lastAuthorize = Math.max(...aws.calls.filter((c) => c.type === 'authorize').map((c) => c.at));
    const lagsAfterGrants = requestIds.filter((id) => revokes.get(id)! > lastAuthorize).map((id) => revokes.get(id)! - expiries.get(id)!);
    const mutating = aws.calls.map((c) => c.at);
    const clickTimes = [...clicks.values()].map((c) => c.clickedAt + c.ackMs);
    return {
      grants: options.grants,
      rateLimit: options.rateLimit,
      requestedPerSecond: options.grants / requestedSpan,
      approvedPerSecond: ratePerSecond(clickTimes),
      activatedPerSecond: ratePerSecond(aws.calls.filter((c) => c.type === 'authorize').map((c) => c.at)),
      revokedPerSecond: ratePerSecond([...revokes.values()]),
      endToEndPerSecond: options.grants / ((Math.max(...revokes.values()) - firstSent) / 1000),
      revocationLag: summary(lags),
      revocationLagAfterGrants: summary(lagsAfterGrants),
      busiestSecond: busiestWindow(mutating, 1000),
      peakRssMb: Math.max(...bots.map((bot) => bot.memory().peakRssMb)),
      machine,
    };
  } finally {
    await session.close();
  }
}

export interface ScaleResult {
  grants: number;
  active: number;
  seedSeconds: number;
  /** First pass (creates the revoke and remind jobs of the active grants) and a second, steady one. */
  reconcileFirstMs: number;
  reconcileSteadyMs: number;
  rssMb: number;
  peakRssMb: number;
  startupMs: number;
}

/** Reconciler pass time over a database of `grants` grants, and the bot's memory running on it (SQLite + Redis). */
export async function scaleRun(redisUrl: string, grants: number, active: number): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-bench-'));
  const backend = benchBackend('sqlite-redis', { redisUrl });
  const { reconcileFirstMs, reconcileSteadyMs, seedSeconds } = await reconcilePasses(await backend.prepare(dir), dir, grants, active);
  const session = await openSession(backend, { latencyMs: 0, rateLimit: 10, dir, adoptRecordedRules: true });
  try {
    // Let the start-up reconcile pass over the recorded grants finish.
    await sleep(5_000);
    const { rssMb, peakRssMb } = session.bot.memory();
    return { grants, active, seedSeconds, reconcileFirstMs, reconcileSteadyMs, rssMb, peakRssMb, startupMs: session.bot.startupMs };
  } finally {
    await session.close();
  }
}

export interface ReconcileResult {
  grants: number;
  active: number;
  seedSeconds: number;
  /** First pass (creates the revoke and remind jobs of the active grants) and a second, steady one. */
  reconcileFirstMs: number;
  reconcileSteadyMs: number;
}

/**
 * Seeds `grants` grants (`active` of them active) through the GrantStore of a fresh database (`prepared`
 * in `dir`), and times two reconcile passes over them with the real BullMQ scheduler on its queue. The
 * records stay, for a bot to start on.
 */
export async function reconcilePasses(prepared: PreparedBackend, dir: string, grants: number, active: number): Promise<ReconcileResult> {
  const policyFile = join(dir, 'policy.yml');
  writeFileSync(policyFile, BENCH_POLICY);
  const records = await openRecords({ databasePath: join(dir, 'cache-access.db'), ...prepared.records });
  const { store } = records;
  const aws = new InMemoryAws({ latencyMs: 0 });
  const seedStarted = performance.now();
  await seedGrants(store, aws, grants, active);
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const scheduler = new BullmqScheduler({ ...prepared.queue, prefix: `bench-${randomUUID()}` });
  // A clean pass over consistent data tells no one anything: any Slack call fails the run.
  const refuse = () => () => Promise.reject(new Error('a clean reconcile pass talks to no one'));
  const policy = loadPolicy(policyFile);
  const deps: UseCaseDeps = {
    store,
    directory: aws.directory,
    firewall: aws.firewall,
    network: new Proxy({} as ClusterNetwork, { get: refuse }),
    sessionCredentials: new Proxy({} as SessionCredentials, { get: refuse }),
    liveSessions: new Proxy({} as LiveSessions, { get: refuse }),
    people: new Proxy({} as PeopleDirectory, { get: refuse }),
    notifier: new Proxy({} as Notifier, { get: refuse }),
    scheduler,
    clock: { now: () => new Date() },
    policy: () => policy,
    logger: pino({ level: 'silent' }),
  };
  const timedPass = async () => {
    const started = performance.now();
    const report = await reconcile(deps);
    // Every seeded active grant lasts an hour from now, so each also has a reminder still to come.
    if (report.errors.length > 0 || report.revokesEnsured.length !== active || report.remindersEnsured.length !== active) {
      const counted = { ...report, revokesEnsured: report.revokesEnsured.length, remindersEnsured: report.remindersEnsured.length };
      throw new Error(`unexpected reconcile report: ${JSON.stringify(counted)}`);
    }
    return performance.now() - started;
  };
  try {
    const reconcileFirstMs = await timedPass();
    const reconcileSteadyMs = await timedPass();
    return { grants, active, seedSeconds, reconcileFirstMs, reconcileSteadyMs };
  } finally {
    await scheduler.close();
    await records.close();
  }
}

/** Median and range of repeated measurements. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(samples: number[]): Spread {
  return { median: percentile(samples, 50), min: Math.min(...samples), max: Math.max(...samples) };
}

export interface FootprintResult {
  build: BotBuild;
  /** How many times each figure was measured (a fresh bot process each time). */
  runs: number;
  startupMs: Spread;
  startupCpuMs: Spread;
  modulesLoadedMs: Spread;
  idleRssMb: Spread;
  /** The highest RSS of the empty-database run, by 2 s after ready (start-up allocates most). */
  idlePeakRssMb: Spread;
  /** Started on a database of `grants` recorded grants, after its start-up reconcile pass. */
  grants: number;
  active: number;
  grantsRssMb: Spread;
  grantsStartupMs: Spread;
}

interface FootprintSample {
  startupMs: number;
  startupCpuMs: number;
  modulesLoadedMs: number;
  idleRssMb: number;
  idlePeakRssMb: number;
  grantsRssMb: number;
  grantsStartupMs: number;
}

/**
 * The same bot tsc-compiled and bundled, alternating `runs` times so both builds see the same machine:
 * start-up and idle memory on an empty database, then on one copy each of a database of `grants` recorded
 * grants (`active` of them active).
 */
export async function footprintRun(redisUrl: string, grants: number, active: number, runs: number): Promise<FootprintResult[]> {
  const seeded = mkdtempSync(join(tmpdir(), 'cache-access-bench-'));
  const database = openDatabase(join(seeded, 'cache-access.db'));
  await seedGrants(new SqliteGrantStore(database.db), new InMemoryAws({ latencyMs: 0 }), grants, active);
  database.close();
  const builds = ['unbundled', 'bundled'] as const;
  const samples = new Map<BotBuild, FootprintSample[]>(builds.map((build) => [build, []]));
  try {
    for (let run = 0; run < runs; run++) {
      for (const build of builds) samples.get(build)!.push(await footprintSample(redisUrl, seeded, build));
    }
    return builds.map((build) => {
      const of = (key: keyof FootprintSample) => spread(samples.get(build)!.map((sample) => sample[key]));
      return {
        build,
        runs,
        startupMs: of('startupMs'),
        startupCpuMs: of('startupCpuMs'),
        modulesLoadedMs: of('modulesLoadedMs'),
        idleRssMb: of('idleRssMb'),
        idlePeakRssMb: of('idlePeakRssMb'),
        grants,
        active,
        grantsRssMb: of('grantsRssMb'),
        grantsStartupMs: of('grantsStartupMs'),
      };
    });
  } finally {
    rmSync(seeded, { recursive: true, force: true });
  }
}

async function footprintSample(redisUrl: string, seeded: string, build: BotBuild): Promise<FootprintSample> {
  const backend = benchBackend('sqlite-redis', { redisUrl });
  const empty = await openSession(backend, { latencyMs: 0, rateLimit: 10, build });
  let idle: Omit<FootprintSample, 'grantsRssMb' | 'grantsStartupMs'>;
  try {
    await sleep(2_000);
    const { rssMb, peakRssMb } = empty.bot.memory();
    const { startupMs, startupCpuMs, modulesLoadedMs } = empty.bot;
    idle = { startupMs, startupCpuMs, modulesLoadedMs, idleRssMb: rssMb, idlePeakRssMb: peakRssMb };
  } finally {
    await empty.close();
  }
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-bench-'));
  copyFileSync(join(seeded, 'cache-access.db'), join(dir, 'cache-access.db'));
  const recorded = await openSession(backend, { latencyMs: 0, rateLimit: 10, dir, adoptRecordedRules: true, build });
  try {
    // Let the start-up reconcile pass over the recorded grants finish.
    await sleep(5_000);
    return { ...idle, grantsRssMb: recorded.bot.memory().rssMb, grantsStartupMs: recorded.bot.startupMs };
  } finally {
    await recorded.close();
  }
}
