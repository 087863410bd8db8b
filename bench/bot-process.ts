/**
 * Runs bench/bot.js as a child process, so start-up time and memory are the bot's own, and collects
 * the AWS calls it reports.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BotArguments } from './bot.js';
import { CallLog } from './call-log.js';
import type { AwsCall } from './in-memory-aws.js';

export interface BotProcess {
  pid: number;
  port: number;
  eventsUrl: string;
  /** Spawn to the first 200 from /readyz (or /healthz where there is no /readyz). */
  startupMs: number;
  /**
   * CPU time (user + system) the bot had used when it was first ready: on a shared machine the wall-clock
   * start-up also counts the time other processes held the cores.
   */
  startupCpuMs: number;
  /** When the bot's modules had all loaded and run, by its own clock (from the process's start). */
  modulesLoadedMs: number;
  /** The calls of its own in-memory AWS (none when it was given a shared one, BotArguments.awsUrl). */
  awsCalls: CallLog;
  /** CPU time (user + system) the process has used so far. */
  cpuMs(): number;
  memory(): { rssMb: number; peakRssMb: number };
  stop(): Promise<void>;
}

/**
 * Node's options for the bundle, as the image's CMD and `npm start` run the program: stack traces through
 * the source maps, and the young generation capped (README, Footprint).
 */
export const BUNDLED_NODE_ARGS = ['--enable-source-maps', '--max-semi-space-size=2'];

/**
 * The bench bot as tsc compiles it (a module per source file, packages loaded from node_modules) and as
 * `npm run bench` bundles it with scripts/build.mjs, the options `npm run build` bundles the program with.
 * The bundle runs with BUNDLED_NODE_ARGS, as `npm start` and the image run the program. src/main.ts is
 * bundled as an entry of its own: it runs as the program when its own URL is the script node was given,
 * which would be true of the bench bot's file if main.ts were inlined into it.
 */
const BOT_BUILDS = {
  unbundled: { entry: new URL('./bot.js', import.meta.url), nodeArgs: [] },
  bundled: { entry: new URL('../bundle/bot.js', import.meta.url), nodeArgs: BUNDLED_NODE_ARGS },
};
export type BotBuild = keyof typeof BOT_BUILDS;

/** Node options for every bot process, e.g. `--cpu-prof` from `npm run bench -- --bot-node-arg=--cpu-prof`. */
export const botNodeArgs: string[] = [];

/** The bots' log level (`npm run bench -- --bot-log-level=warn`); they log to stderr, which the bench passes on. */
export const botLogging: { level: NonNullable<BotArguments['logLevel']> } = { level: 'silent' };

export async function startBotProcess(args: BotArguments, build: BotBuild = 'unbundled'): Promise<BotProcess> {
  const { entry, nodeArgs } = BOT_BUILDS[build];
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, ...botNodeArgs, entry.pathname, JSON.stringify({ logLevel: botLogging.level, ...args })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const awsCalls = new CallLog();
  let port: number | undefined;
  let modulesLoadedMs = NaN;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as AwsCall | { type: 'started'; port: number; modulesLoadedMs: number };
    if (message.type === 'started') ({ port, modulesLoadedMs } = message);
    else awsCalls.add(message);
  });

  const deadline = Date.now() + 30_000;
  let startupMs: number | undefined;
  let startupCpuMs = NaN;
  while (startupMs === undefined) {
    if (child.exitCode !== null) throw new Error(`bench bot exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('bench bot was not ready within 30 s');
    if (port !== undefined && (await isReady(port))) {
      startupMs = performance.now() - started;
      startupCpuMs = cpuTimeOf(child.pid!);
    } else await sleep(5);
  }
  const readyPort = port!;

  return {
    pid: child.pid!,
    port: readyPort,
    eventsUrl: `http://127.0.0.1:${readyPort}/slack/events`,
    startupMs,
    startupCpuMs,
    modulesLoadedMs,
    awsCalls,
    cpuMs: () => cpuTimeOf(child.pid!),
    memory: () => memoryOf(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The bot's health port is only known once it reports it; until then, and before /healthz, the bot is not
 * ready. /readyz is preferred when the bot has one (404 means it does not).
 */
async function isReady(port: number): Promise<boolean> {
  for (const path of ['/readyz', '/healthz']) {
    const status = await fetch(`http://127.0.0.1:${port}${path}`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 404) continue;
    return status === 200;
  }
  return false;
}

/**
 * User plus system CPU time of the process so far, from /proc/<pid>/stat (fields 14 and 15, after the
 * parenthesised command name), in clock ticks of 10 ms (USER_HZ is 100 on Linux).
 */
export function cpuTimeOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Resident set size now and at its peak, from /proc (Linux). */
function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}
