/**
 * The benchmark's bot process: the real startBot with AWS swapped for the in-memory fake. Settings come
 * as one JSON argument (never from the environment); AWS calls and readiness go to stdout as JSON lines.
 */
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startBot, type Role } from '../src/main.js';
import { InMemoryAws } from './in-memory-aws.js';
import { openRecordsView } from './records-view.js';
import { remoteAws } from './remote-aws.js';

export interface BotArguments {
  settings: Record<string, string>;
  awsLatencyMs: number;
  queuePrefix: string;
  /** The database already holds grants with rules in place: start with those rules in the fake AWS. */
  adoptRecordedRules?: boolean;
  /** What the process runs (default all), as `--role` does for the program. */
  role?: Role;
  /** A shared in-memory AWS (bench/aws-process.ts) instead of one of its own; it reports the calls then. */
  awsUrl?: string;
  /** Logged to stderr (stdout carries the calls); default silent. */
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

// Every static import above has loaded and run by now: the process's own clock since it started.
const modulesLoadedMs = performance.now();
const args = JSON.parse(process.argv[2] ?? '{}') as BotArguments;
const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const aws = new InMemoryAws({ latencyMs: args.awsLatencyMs, onCall: report });
const config = loadConfig(args.settings);
if (args.adoptRecordedRules) await adoptRecordedRules();
const { firewall, directory } = args.awsUrl ? remoteAws(args.awsUrl) : aws;
const bot = await startBot(config, {
  logger: pino({ level: args.logLevel ?? 'silent' }, pino.destination(2)),
  queuePrefix: args.queuePrefix,
  shutdownTimeoutMs: 2_000,
  role: args.role,
  adapters: { firewall, directory },
});
report({ type: 'started', port: bot.port, modulesLoadedMs });
process.once('SIGTERM', () => {
  void bot.stop().finally(() => process.exit(0));
});

async function adoptRecordedRules(): Promise<void> {
  const records = openRecordsView(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { databasePath: config.databasePath });
  for (const row of await records.rulesInPlace()) {
    aws.seedRule({ securityGroupId: row.securityGroupId, protocol: 'tcp', port: row.port, source: { kind: 'cidr', cidr: row.source } }, row.grantId, row.awsRuleId);
  }
  await records.close();
}
