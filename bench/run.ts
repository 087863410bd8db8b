/**
 * `npm run bench`: starts a throwaway redis-server, runs every scenario against the real bot in a child
 * process, prints the results and writes them to BENCHMARKS.md with the machine they were measured on.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from '../test/support/redis-global-setup.js';
import { NOTES_HEADING, renderReport, type Results } from './report.js';

// The compiled bench keeps src/ one level deeper than dist/ does; the migrations must sit where open.js looks.
cpSync(fileURLToPath(new URL('../../../migrations', import.meta.url)), fileURLToPath(new URL('../migrations', import.meta.url)), {
  recursive: true,
});
const { botNodeArgs } = await import('./bot-process.js');
const { burstRun, flowRun, footprintRun, scaleRun, steadyRun } = await import('./scenarios.js');
const { endSessionsRun } = await import('./end-sessions.js');
const { copyRecordsRun } = await import('./copy-records.js');

// `npm run bench -- steady lag` runs only the named parts and prints them as JSON; the full run also writes
// BENCHMARKS.md. `--bot-node-arg=--cpu-prof` passes a Node option to each bot process (profiling).
const PARTS = ['steady', 'burst', 'lag', 'throughput', 'scale', 'footprint', 'end-sessions', 'copy-records'] as const;
type Part = (typeof PARTS)[number];
const BOT_NODE_ARG = '--bot-node-arg=';
const asked = process.argv.slice(2).filter((arg) => !arg.startsWith(BOT_NODE_ARG));
botNodeArgs.push(...process.argv.slice(2).filter((arg) => arg.startsWith(BOT_NODE_ARG)).map((arg) => arg.slice(BOT_NODE_ARG.length)));
const unknown = asked.filter((part) => !(PARTS as readonly string[]).includes(part));
if (unknown.length > 0) {
  console.error(`unknown bench part(s): ${unknown.join(', ')}; the parts are ${PARTS.join(', ')}`);
  process.exit(2);
}
const runs = (part: Part) => asked.length === 0 || asked.includes(part);

const redis = await startRedisServer();
const step = (what: string) => console.error(`[bench] ${new Date().toISOString()} ${what}`);
try {
  const results: Partial<Omit<Results, 'machine'>> = {};
  if (runs('steady')) {
    step('steady run, AWS 0 ms (ack latency, approve → Authorize)');
    const steady0 = await steadyRun(redis.url, 0);
    step('steady run, AWS 50 ms');
    const steady50 = await steadyRun(redis.url, 50);
    results.steady = [
      { latencyMs: 0, result: steady0 },
      { latencyMs: 50, result: steady50 },
    ];
  }
  if (runs('burst')) {
    step('1,000-grant burst at the default EC2 rate limit');
    results.burst = await burstRun(redis.url, 1000);
  }
  if (runs('lag')) {
    // Expiries spread over 60 s, as the issue asks: 10 s + 0…59 s after activation.
    const spread = (i: number) => 10 + (i % 60);
    step('revocation lag, AWS 0 ms');
    const lag0 = await flowRun(redis.url, { latencyMs: 0, rateLimit: 50, grants: 1000, durationOf: spread });
    step('revocation lag, AWS 50 ms');
    const lag50 = await flowRun(redis.url, { latencyMs: 50, rateLimit: 50, grants: 1000, durationOf: spread });
    results.lag = [
      { latencyMs: 0, result: lag0 },
      { latencyMs: 50, result: lag50 },
    ];
  }
  if (runs('throughput')) {
    step('throughput, AWS 0 ms, limiter out of the way');
    results.throughput = await flowRun(redis.url, { latencyMs: 0, rateLimit: 1000, grants: 1000, durationOf: () => 1 });
  }
  if (runs('scale')) {
    step('reconciler and memory over 10,000 recorded grants');
    results.scale = await scaleRun(redis.url, 10_000, 1_000);
  }
  if (runs('footprint')) {
    step('footprint: the bot unbundled and bundled, empty and over 10,000 recorded grants, 5 times each');
    results.footprint = await footprintRun(redis.url, 10_000, 1_000, 5);
  }

  if (runs('end-sessions')) {
    step('ending 300 open sessions over 3 nodes after the rule is removed, 20 rounds');
    results.endSessions = await endSessionsRun(redis.url, 20, 300);
  }
  if (runs('copy-records')) {
    step('copy-records: a SQLite file of 10,000 ended grants into an empty PostgreSQL database, 5 times');
    results.copyRecords = await copyRecordsRun(10_000, 5);
  }

  const cpu = cpus();
  const machine = { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, node: process.version, date: new Date().toISOString().slice(0, 10) };
  if (asked.length === 0) {
    const report = renderReport({ machine, ...(results as Omit<Results, 'machine'>) });
    console.log(report);
    const target = new URL('../../../BENCHMARKS.md', import.meta.url);
    writeFileSync(target, `${report}\n${readNotes(target)}`);
  } else {
    console.log(JSON.stringify({ machine, ...results }, null, 2));
  }
} finally {
  await redis.stop();
}

/** The hand-written analysis below the generated tables survives a re-run. */
function readNotes(file: URL): string {
  try {
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf(NOTES_HEADING);
    return at >= 0 ? text.slice(at) : `${NOTES_HEADING}\n`;
  } catch {
    return `${NOTES_HEADING}\n`;
  }
}
