/** The --help texts of the admin CLI and of each of its commands. */
import { STATUSES } from '../domain/request.js';

export const COMMAND_NAMES = ['grants', 'show', 'revoke', 'reconcile', 'audit', 'policy', 'copy-records'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

const EXIT_CODES = [
  'Exit codes:',
  '  0  done',
  '  1  failed (database, Redis or AWS unreachable; a reconcile step that could not run; policy check --strict with warnings;',
  '     copy-records refused by PostgreSQL or counting different rows, and so rolled back)',
  '  2  usage error (unknown command or option, bad value, invalid settings)',
  '  3  not found (a request, a policy rule for the cluster, the SQLite file), or the request is in a state that forbids',
  '     the command, or copy-records\' target database is not empty',
].join('\n');

export const PROGRAM_HELP = [
  'Usage: cache-access <command> [options]',
  '',
  'Admin commands for cache-access, for when Slack is down or for audits. Settings come from the',
  "same environment variables as the bot (DATABASE_PATH, REDIS_URL, POLICY_FILE, AWS_*, …).",
  '',
  'Commands:',
  '  grants [--status S] [--cluster C] [--unreviewed]',
  '                                      list requests as a table',
  '  show <id>                           one request and its full event history',
  '  revoke <id> --reason "…"            end an active grant now (the bot\'s workers remove the rule)',
  '  reconcile                           run one reconcile pass and print what it did',
  '  audit --since 7d [--format csv] [--unreviewed]',
  '                                      the event log since then, as csv or json',
  '  policy check [file] [--strict]      validate a policy as start-up does, and warn about what cannot work',
  '  policy explain <cluster> [--requester U…]   which rule decides a cluster, who approves, what is allowed',
  '  copy-records --to postgres://…      copy every record from the SQLite file to an empty PostgreSQL database',
  '',
  'Run cache-access <command> --help for a command\'s options.',
  '',
  EXIT_CODES,
].join('\n');

export const COMMAND_HELP: Record<CommandName, string> = {
  grants: [
    'Usage: cache-access grants [--status <status>] [--cluster <cluster id>] [--unreviewed]',
    '',
    'Lists requests, oldest first, as a table: every request unless filtered.',
    `  --status      one of ${STATUSES.join(', ')}`,
    '  --cluster     only requests for this replication group or cache cluster id',
    '  --unreviewed  only break-glass grants no approver has reviewed yet',
  ].join('\n'),
  show: [
    'Usage: cache-access show <id>',
    '',
    'Prints request <id> (42 or #42) and its full event history.',
  ].join('\n'),
  revoke: [
    'Usage: cache-access revoke <id> --reason "<why>" [--operator <name>]',
    '',
    'Ends active grant <id> now: records who asked and why in its history, and enqueues its revoke',
    "job in Redis, due at once. The running bot's workers remove the rule; this needs Redis, not AWS.",
    '  --reason    why, for the audit trail (required)',
    '  --operator  who you are, recorded as operator:<name> (default: $USER)',
  ].join('\n'),
  reconcile: [
    'Usage: cache-access reconcile',
    '',
    'Runs one reconcile pass, as the bot does every RECONCILE_INTERVAL: requeues lost grant,',
    'revoke and reminder jobs, revokes overdue grants and orphan rules, records rules removed',
    'outside cache-access, times out pending requests. Needs the database, Redis, AWS and the policy.',
    'People are told in Slack when SLACK_BOT_TOKEN is set; otherwise nobody is notified.',
  ].join('\n'),
  audit: [
    'Usage: cache-access audit --since <duration> [--format csv|json] [--unreviewed]',
    '',
    'Prints the event log of every request from <duration> ago (e.g. 30m, 7d, 1d12h) until now.',
    '  --since       how far back (required)',
    '  --format      csv (default: a header row, RFC 4180 quoting) or json (an array); either way each',
    "                event's detail has its keys sorted, so SQLite and PostgreSQL records print the same",
    '  --unreviewed  only the events of break-glass grants no approver has reviewed yet',
  ].join('\n'),
  policy: [
    'Usage: cache-access policy check [<file>] [--strict]',
    '       cache-access policy explain <cluster id> [--requester <Slack user id>]',
    '',
    'check reads <file> (default: POLICY_FILE) exactly as start-up does; any error (bad YAML, an unknown key,',
    'a bad value, approvers that are not Slack ids) exits 2 with the file, line and key. Then it warns about',
    "what loads but cannot work as written: a rule no cluster id reaches because earlier globs match all of its",
    "ids, a roleArn docs/iam-policy.json would refuse to assume, autoApprove.maxDuration over the rule's",
    'maxDuration or under its minDuration, more approvals than the rule can find approvers for. Globs using',
    'negation, extglobs or POSIX classes are listed as not checked for shadowing. Warnings exit 0;',
    '  --strict   exit 1 when there is any warning',
    '',
    'explain shows, for the policy in POLICY_FILE, the globs tried for <cluster id> in order and the rule that',
    "decides: approvers (with user group members when SLACK_BOT_TOKEN is set, and the cluster's",
    'cache-access:approvers tag when the rule has approversFromTags and AWS answers; what could not be looked',
    'up is said), approvals needed, where the approval request goes, durations, reason and ticket rules,',
    'self-approval, auto-approval and break-glass. Exits 3 when no rule covers the cluster.',
    '  --requester  also say whether this user is an approver, may approve their own request, is auto-approved, may break glass',
  ].join('\n'),
  'copy-records': [
    'Usage: cache-access copy-records --to postgres://user@host:5432/database',
    '',
    'Copies every record (requests, rules, approvals, Slack message references, events with their audit',
    'delivery state) from the SQLite file at DATABASE_PATH (whatever DATABASE_URL says) to the PostgreSQL',
    'database at --to, keeping every id, so the bot can move to PostgreSQL (README, "Moving between them").',
    'Stop the bot first. The target gets the schema as the bot makes it at start-up and must hold no record',
    '(exit 3 otherwise). Everything goes in one transaction that commits only when each table counts as',
    "many rows as the file; the counts are printed. Each id sequence continues after the file's highest id.",
    '  --to  the PostgreSQL database to copy to (required). Its password comes from PGPASSWORD when the URL',
    '        has none, as with psql, keeping it out of the command line (ps, shell history); a password in the',
    '        URL (user:password@) is used instead. Neither is ever printed.',
  ].join('\n'),
};

export function commandHelp(name: CommandName): string {
  return `${COMMAND_HELP[name]}\n\n${EXIT_CODES}`;
}
