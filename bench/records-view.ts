/**
 * What the bench reads of the bot's records, read-only, on either engine: the approval messages the bot
 * posted (to click them), stored expiries (to time revocations) and the rules in place (to seed the fake AWS).
 */
import Database from 'better-sqlite3';
import pg from 'pg';

export interface ApprovalMessage {
  requestId: number;
  dedupeKey: string;
  channel: string;
  ts: string;
}

export interface RecordedRule {
  awsRuleId: string;
  securityGroupId: string;
  port: number;
  source: string;
  grantId: number;
}

export interface RecordsView {
  /** The approval messages of requests still pending. */
  pendingApprovalMessages(): Promise<ApprovalMessage[]>;
  /** How many approval messages the bot has posted in all. */
  countApprovalMessages(): Promise<number>;
  /** Stored expiry (ms) of each request that has one. */
  expiries(requestIds: number[]): Promise<Map<number, number>>;
  /** Rules from a CIDR the bot recorded as in place, with their grant. */
  rulesInPlace(): Promise<RecordedRule[]>;
  close(): Promise<void>;
}

/** Where the records are: DATABASE_PATH's SQLite file, or DATABASE_URL's PostgreSQL database. */
export type RecordsLocation = { databasePath: string } | { databaseUrl: string };

const PENDING_APPROVALS = `select r.id as "requestId", r.dedupe_key as "dedupeKey", m.channel, m.ts from requests r
  join slack_messages m on m.request_id = r.id and m.kind = 'approval' where r.status = 'pending'`;
const APPROVAL_COUNT = `select count(*) as n from slack_messages where kind = 'approval'`;
const RULES_IN_PLACE = `select r.aws_rule_id as "awsRuleId", r.security_group_id as "securityGroupId", r.port, r.source, q.id as "grantId"
  from ingress_rules r join requests q on q.rule_record_id = r.id where r.state = 'in-place' and r.source_kind = 'cidr'`;

export function openRecordsView(location: RecordsLocation): RecordsView {
  return 'databaseUrl' in location ? postgresView(location.databaseUrl) : sqliteView(location.databasePath);
}

function sqliteView(databasePath: string): RecordsView {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  const pending = db.prepare(PENDING_APPROVALS);
  const count = db.prepare(APPROVAL_COUNT);
  return {
    pendingApprovalMessages: async () => pending.all() as ApprovalMessage[],
    countApprovalMessages: async () => (count.get() as { n: number }).n,
    async expiries(requestIds) {
      const rows = db
        .prepare(`select id, expires_at as "expiresAt" from requests where id in (${requestIds.map(() => '?').join(',')})`)
        .all(...requestIds) as Array<{ id: number; expiresAt: number | null }>;
      return new Map(rows.filter((r) => r.expiresAt !== null).map((r) => [r.id, r.expiresAt!]));
    },
    rulesInPlace: async () => db.prepare(RULES_IN_PLACE).all() as RecordedRule[],
    close: async () => void db.close(),
  };
}

function postgresView(databaseUrl: string): RecordsView {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  return {
    pendingApprovalMessages: async () => (await pool.query<ApprovalMessage>(PENDING_APPROVALS)).rows,
    countApprovalMessages: async () => Number((await pool.query<{ n: string }>(APPROVAL_COUNT)).rows[0]!.n),
    async expiries(requestIds) {
      const { rows } = await pool.query<{ id: number; expiresAt: Date | null }>(
        `select id, expires_at as "expiresAt" from requests where id = any($1::int[])`,
        [requestIds],
      );
      return new Map(rows.filter((r) => r.expiresAt !== null).map((r) => [r.id, r.expiresAt!.getTime()]));
    },
    rulesInPlace: async () => (await pool.query<RecordedRule>(RULES_IN_PLACE)).rows,
    close: () => pool.end(),
  };
}
