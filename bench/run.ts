/**
 * `npm run bench`: starts a throwaway redis-server (and PostgreSQL cluster, for the backends part), runs
 * every scenario against the real bot in child processes, prints the results and writes them to
 * BENCHMARKS.md with the machine they were measured on.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgresServer, type PostgresServer } from '../test/support/postgres-server.js';
import { startRedisServer } from '../test/support/redis-global-setup.js';
import { BACKEND_NAMES, benchBackend, needsPostgres, type BackendName } from './backends.js';
import { backendsSection, NOTES_HEADING, renderReport, type Results } from './report.js';

// The compiled bench keeps src/ one level deeper than dist/ does; the migrations must sit where open.js looks.
cpSync(fileURLToPath(new URL('../../../migrations', import.meta.url)), fileURLToPath(new URL('../migrations', import.meta.url)), {
  recursive: true,
});
const { botLogging, botNodeArgs } = await import('./bot-process.js');
const { burstRun, flowRun, footprintRun, scaleRun, steadyRun } = await import('./scenarios.js');
const { endSessionsRun } = await import('./end-sessions.js');
const { copyRecordsRun } = await import('./copy-records.js');
const { BACKENDS_SCALES, backendsRun } = await import('./backend-runs.js');

// `npm run bench -- steady lag` runs only the named parts and prints them as JSON; the full run also writes
// BENCHMARKS.md. `--bot-node-arg=--cpu-prof` passes a Node option to each bot process (profiling);
// `--bot-log-level=warn` shows what the bots log (job failures and retries, for instance).
// `--backend sqlite-redis,pg` chooses the backends of the backends part (default all three), `--quick`
// runs it small, to check the harness; either alone runs only that part. Its section is printed as
// Markdown after the JSON, ready for BENCHMARKS.md.
const PARTS = ['steady', 'burst', 'lag', 'throughput', 'scale', 'footprint', 'end-sessions', 'copy-records', 'backends'] as const;
type Part = (typeof PARTS)[number];
const { values, positionals: named } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    'bot-node-arg': { type: 'string', multiple: true, default: [] },
    'bot-log-level': { type: 'string', default: 'silent' },
    backend: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
botNodeArgs.push(...values['bot-node-arg']);
const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
if (!(LOG_LEVELS as readonly string[]).includes(values['bot-log-level'])) {
  console.error(`--bot-log-level takes one of ${LOG_LEVELS.join(', ')}`);
  process.exit(2);
}
botLogging.level = values['bot-log-level'] as (typeof LOG_LEVELS)[number];
const unknown = named.filter((part) => !(PARTS as readonly string[]).includes(part));
const backendNames = (values.backend ?? BACKEND_NAMES.join(',')).split(',').filter((name) => name !== '');
const unknownBackends = backendNames.filter((name) => !(BACKEND_NAMES as readonly string[]).includes(name));
if (unknown.length > 0 || unknownBackends.length > 0 || backendNames.length === 0) {
  if (unknown.length > 0) console.error(`unknown bench part(s): ${unknown.join(', ')}; the parts are ${PARTS.join(', ')}`);
  else console.error(`--backend takes a comma-separated list of ${BACKEND_NAMES.join(', ')}`);
  process.exit(2);
}
const quick = values.quick;
const asked: string[] = named.length === 0 && (values.backend !== undefined || quick) ? ['backends'] : named;
const runs = (part: Part) => asked.length === 0 || asked.includes(part);
const chosenBackends = backendNames as BackendName[];

const redis = await startRedisServer();
let postgres: PostgresServer | undefined;
const step = (what: string) => console.error(`[bench] ${new Date().toISOString()} ${what}`);
try {
  const sqliteRedis = benchBackend('sqlite-redis', { redisUrl: redis.url });
  const results: Partial<Omit<Results, 'machine'>> = {};
  if (runs('steady')) {
    step('steady run, AWS 0 ms (ack latency, approve → Authorize)');
    const steady0 = await steadyRun(sqliteRedis, 0);
    step('steady run, AWS 50 ms');
    const steady50 = await steadyRun(sqliteRedis, 50);
    results.steady = [
      { latencyMs: 0, result: steady0 },
      { latencyMs: 50, result: steady50 },
    ];
  }
  if (runs('burst')) {
    step('1,000-grant burst at the default EC2 rate limit');
    results.burst = await burstRun(sqliteRedis, 1000);
  }
  if (runs('lag')) {
    // Expiries spread over 60 s, as the issue asks: 10 s + 0…59 s after activation.
    const spread = (i: number) => 10 + (i % 60);
    step('revocation lag, AWS 0 ms');
    const lag0 = await flowRun(sqliteRedis, { latencyMs: 0, rateLimit: 50, grants: 1000, durationOf: spread });
    step('revocation lag, AWS 50 ms');
    const lag50 = await flowRun(sqliteRedis, { latencyMs: 50, rateLimit: 50, grants: 1000, durationOf: spread });
    results.lag = [
      { latencyMs: 0, result: lag0 },
      { latencyMs: 50, result: lag50 },
    ];
  }
  if (runs('throughput')) {
    step('throughput, AWS 0 ms, limiter out of the way');
    results.throughput = await flowRun(sqliteRedis, { latencyMs: 0, rateLimit: 1000, grants: 1000, durationOf: () => 1 });
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

  if (runs('backends')) {
    if (needsPostgres(chosenBackends)) {
      step('starting a throwaway PostgreSQL cluster');
      postgres = await startPostgresServer();
    }
    const services = { redisUrl: redis.url, postgresUrl: postgres?.url };
    const scale = BACKENDS_SCALES[quick ? 'quick' : 'full'];
    results.backends = await backendsRun(chosenBackends.map((name) => benchBackend(name, services)), scale, step);
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
    if (results.backends) console.log(`\n${backendsSection(results.backends, machine).join('\n')}`);
  }
} finally {
  await postgres?.stop();
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
