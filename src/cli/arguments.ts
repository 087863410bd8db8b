/** Reads the admin CLI's command line into a command. Pure: the caller supplies $USER. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../domain/durations.js';
import { InvalidInputError } from '../domain/errors.js';
import { STATUSES, type Status } from '../domain/request.js';
import { COMMAND_NAMES, type CommandName } from './help.js';

export const AUDIT_FORMATS = ['csv', 'json'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

export type CliCommand =
  | { kind: 'help'; command?: CommandName }
  | { kind: 'grants'; status?: Status; clusterId?: string; unreviewed: boolean }
  | { kind: 'show'; requestId: number }
  | { kind: 'revoke'; requestId: number; reason: string; operator: string }
  | { kind: 'reconcile' }
  | { kind: 'audit'; sinceSeconds: number; format: AuditFormat; unreviewed: boolean }
  | { kind: 'policy-check'; file?: string; strict: boolean }
  | { kind: 'policy-explain'; clusterId: string; requesterId?: string }
  | { kind: 'copy-records'; to: string };

type Options = NonNullable<ParseArgsConfig['options']>;

const HELP: Options = { help: { type: 'boolean', short: 'h' } };
const OPTIONS: Record<CommandName, Options> = {
  grants: { ...HELP, status: { type: 'string' }, cluster: { type: 'string' }, unreviewed: { type: 'boolean' } },
  show: HELP,
  revoke: { ...HELP, reason: { type: 'string' }, operator: { type: 'string' } },
  reconcile: HELP,
  audit: { ...HELP, since: { type: 'string' }, format: { type: 'string', default: 'csv' }, unreviewed: { type: 'boolean' } },
  policy: { ...HELP, strict: { type: 'boolean' }, requester: { type: 'string' } },
  'copy-records': { ...HELP, to: { type: 'string' } },
};
const POSITIONALS: Record<Exclude<CommandName, 'policy'>, number> = { grants: 0, show: 1, revoke: 1, reconcile: 0, audit: 0, 'copy-records': 0 };

const REQUEST_ID = /^#?(\d{1,15})$/;

/** Throws InvalidInputError (a usage error) for anything it cannot read. */
export function parseCliArgs(argv: string[], user: string | undefined): CliCommand {
  const [name, ...rest] = argv;
  if (name === undefined) throw new InvalidInputError('A command is required: run cache-access --help.');
  if (name === '--help' || name === '-h') return { kind: 'help' };
  if (!isCommandName(name)) throw new InvalidInputError(`Unknown command "${name}": run cache-access --help.`);

  const { values, positionals } = readOptions(name, rest);
  if (values.help) return { kind: 'help', command: name };
  if (name === 'policy') return policyCommand(positionals, values);
  const expected = POSITIONALS[name];
  if (positionals.length !== expected) {
    throw new InvalidInputError(
      expected === 0
        ? `${name} takes no arguments, got "${positionals.join(' ')}": run cache-access ${name} --help.`
        : `${name} needs exactly one request id: run cache-access ${name} --help.`,
    );
  }
  switch (name) {
    case 'grants':
      return { kind: 'grants', status: statusOf(values.status), clusterId: nonEmpty(values.cluster, '--cluster'), unreviewed: values.unreviewed === true };
    case 'show':
      return { kind: 'show', requestId: requestIdOf(positionals[0]!) };
    case 'revoke': {
      const reason = nonEmpty(values.reason, '--reason');
      if (reason === undefined) throw new InvalidInputError('revoke needs --reason "<why>", for the audit trail.');
      const operator = nonEmpty(values.operator, '--operator') ?? nonEmpty(user, '$USER');
      if (operator === undefined) throw new InvalidInputError('revoke needs --operator <name> when $USER is not set.');
      return { kind: 'revoke', requestId: requestIdOf(positionals[0]!), reason, operator };
    }
    case 'reconcile':
      return { kind: 'reconcile' };
    case 'audit': {
      const since = nonEmpty(values.since, '--since');
      if (since === undefined) throw new InvalidInputError('audit needs --since <duration>, e.g. --since 7d.');
      return { kind: 'audit', sinceSeconds: parseDuration(since), format: formatOf(values.format), unreviewed: values.unreviewed === true };
    }
    case 'copy-records':
      return { kind: 'copy-records', to: postgresUrlOf(values.to) };
  }
}

/** --to: where copy-records copies to. The message never repeats the value: it may hold a password. */
function postgresUrlOf(value: string | boolean | undefined): string {
  const url = nonEmpty(value, '--to');
  if (url === undefined) throw new InvalidInputError('copy-records needs --to postgres://…, the empty PostgreSQL database to copy to.');
  if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url)) {
    throw new InvalidInputError('--to must be a postgres:// or postgresql:// URL, e.g. postgres://user@host:5432/cache_access (with the password in PGPASSWORD).');
  }
  return url;
}

/** `policy check [file] [--strict]` or `policy explain <cluster> [--requester U…]`. */
function policyCommand(positionals: string[], values: Record<string, string | boolean | undefined>): CliCommand {
  const [action, ...rest] = positionals;
  const misplaced = (option: string) => {
    if (values[option] !== undefined) throw new InvalidInputError(`--${option} belongs to another policy action: run cache-access policy --help.`);
  };
  if (action === 'check' && rest.length <= 1) {
    misplaced('requester');
    return { kind: 'policy-check', file: rest[0], strict: values.strict === true };
  }
  if (action === 'explain' && rest.length === 1) {
    misplaced('strict');
    const requesterId = nonEmpty(values.requester, '--requester');
    if (requesterId !== undefined && !SLACK_USER_ID.test(requesterId)) {
      throw new InvalidInputError(`--requester must be a Slack user id (U… or W…); got "${requesterId}".`);
    }
    return { kind: 'policy-explain', clusterId: rest[0]!, requesterId };
  }
  throw new InvalidInputError('policy needs "check [file]" or "explain <cluster>": run cache-access policy --help.');
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

function readOptions(name: CommandName, args: string[]) {
  try {
    const { values, positionals } = parseArgs({ args, options: OPTIONS[name], allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    // node's ERR_PARSE_ARGS_* messages name the option; add where to look.
    throw new InvalidInputError(`${(error as Error).message}\nRun cache-access ${name} --help.`);
  }
}

function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

function nonEmpty(value: string | boolean | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (text === '') throw new InvalidInputError(`${what} must not be empty.`);
  return text;
}

function requestIdOf(text: string): number {
  const match = REQUEST_ID.exec(text);
  if (!match) throw new InvalidInputError(`"${text}" is not a request id: use a number such as 42 or #42.`);
  return Number(match[1]);
}

function statusOf(value: string | boolean | undefined): Status | undefined {
  const text = nonEmpty(value, '--status');
  if (text === undefined) return undefined;
  if (!(STATUSES as readonly string[]).includes(text)) {
    throw new InvalidInputError(`--status must be one of ${STATUSES.join(', ')}; got "${text}".`);
  }
  return text as Status;
}

function formatOf(value: string | boolean | undefined): AuditFormat {
  const text = String(value);
  if (!(AUDIT_FORMATS as readonly string[]).includes(text)) {
    throw new InvalidInputError(`--format must be csv or json; got "${text}".`);
  }
  return text as AuditFormat;
}
