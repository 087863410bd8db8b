/**
 * The benchmark's bot process: the real startBot with AWS swapped for the in-memory fake. Settings come
 * as one JSON argument (never from the environment); AWS calls and readiness go to stdout as JSON lines.
 */
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startBot } from '../src/main.js';
import { InMemoryAws } from './in-memory-aws.js';

export interface BotArguments {
  settings: Record<string, string>;
  awsLatencyMs: number;
  queuePrefix: string;
  /** The database already holds grants with rules in place: start with those rules in the fake AWS. */
  adoptRecordedRules?: boolean;
}

// Every static import above has loaded and run by now: the process's own clock since it started.
const modulesLoadedMs = performance.now();
const args = JSON.parse(process.argv[2] ?? '{}') as BotArguments;
const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const aws = new InMemoryAws({ latencyMs: args.awsLatencyMs, onCall: report });
if (args.adoptRecordedRules) adoptRecordedRules(args.settings.DATABASE_PATH!);
const bot = await startBot(loadConfig(args.settings), {
  logger: pino({ level: 'silent' }),
  queuePrefix: args.queuePrefix,
  shutdownTimeoutMs: 2_000,
  adapters: { firewall: aws.firewall, directory: aws.directory },
});
report({ type: 'started', port: bot.port, modulesLoadedMs });
process.once('SIGTERM', () => {
  void bot.stop().finally(() => process.exit(0));
});

function adoptRecordedRules(databasePath: string): void {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  const rows = db
    .prepare(
      `select r.aws_rule_id as awsRuleId, r.security_group_id as securityGroupId, r.port, r.source, q.id as grantId
       from ingress_rules r join requests q on q.rule_record_id = r.id where r.state = 'in-place' and r.source_kind = 'cidr'`,
    )
    .all() as Array<{ awsRuleId: string; securityGroupId: string; port: number; source: string; grantId: number }>;
  for (const row of rows) {
    aws.seedRule({ securityGroupId: row.securityGroupId, protocol: 'tcp', port: row.port, source: { kind: 'cidr', cidr: row.source } }, row.grantId, row.awsRuleId);
  }
  db.close();
}
