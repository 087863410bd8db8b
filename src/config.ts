import * as z from 'zod';
import { parseDuration } from './domain/durations.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Digits only: Number() would read " " as 0 and "0x10" as 16.
const portNumber = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number')
  .transform(Number)
  .pipe(z.number().max(65_535, 'must be a port number'));

const WORKSPACE_ID = /^[TE][A-Z0-9]+$/;

const QUEUE_BACKENDS = ['redis', 'postgres'] as const;

const settingsSchema = z.object({
    SLACK_BOT_TOKEN: z.string({ error: 'is required (the bot token, xoxb-…)' }).min(1, 'is required (the bot token, xoxb-…)'),
    SLACK_SIGNING_SECRET: z.string().min(1).optional(),
    SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token starting with xapp-').optional(),
    SLACK_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://slack.com/api/' }).optional(),
    SLACK_ALLOWED_TEAMS: z
      .string()
      .transform((text, ctx) => {
        const ids = text.split(',').map((id) => id.trim()).filter((id) => id !== '');
        if (ids.length === 0 || !ids.every((id) => WORKSPACE_ID.test(id))) {
          ctx.addIssue({ code: 'custom', message: 'must be team ids (T…) and/or enterprise ids (E…), comma-separated' });
          return z.NEVER;
        }
        return Object.freeze(ids);
      })
      .optional(),
    PORT: portNumber.default(3000),
    OPS_PORT: portNumber.optional(),
    DATABASE_PATH: z.string().min(1).default('./data/cache-access.db'),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
    QUEUE_BACKEND: z.enum(QUEUE_BACKENDS, { error: `must be one of ${QUEUE_BACKENDS.join(', ')}` }).default('redis'),
    POLICY_FILE: z.string().min(1).default('./policy.yml'),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    RECONCILE_INTERVAL: z
      .string()
      .default('1m')
      .transform((text, ctx) => {
        try {
          return parseDuration(text);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30s or 1m' });
          return z.NEVER;
        }
      }),
    // Digits only, as for PORT. AWS's own bucket for mutating EC2 calls is shared by every tool in the account.
    EC2_RATE_LIMIT: z
      .string()
      .regex(/^\d{1,4}$/, 'must be a whole number of calls per second')
      .default('10')
      .transform(Number)
      .pipe(z.number().min(1, 'must be at least 1 call per second')),
    AUDIT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://siem.example.com/cache-access' }).optional(),
    AUDIT_WEBHOOK_SECRET: z.string().min(1).optional(),
    AUDIT_SOURCE: z.string().min(1).default('cache-access'),
  });

/** Read by the admin CLI only. */
const cliOnlySettings = {
  // libpq's variable: the password of a copy-records --to URL that has none, kept off the command line.
  PGPASSWORD: z.string().optional(),
};

/** Every environment variable the bot and the CLI read (deployment manifests are checked against it). */
export const SETTING_NAMES: readonly string[] = Object.freeze([...Object.keys(settingsSchema.shape), ...Object.keys(cliOnlySettings)]);

/** Events are signed: a webhook without a secret would send unverifiable ones. */
const auditSecretRequired = {
  when: (env: { AUDIT_WEBHOOK_URL?: string; AUDIT_WEBHOOK_SECRET?: string }) => !env.AUDIT_WEBHOOK_URL || env.AUDIT_WEBHOOK_SECRET,
  params: { path: ['AUDIT_WEBHOOK_SECRET'], message: 'is required when AUDIT_WEBHOOK_URL is set (events are signed with it)' },
};

/** Combinations that cannot work, for the bot and the CLI alike. */
function consistent<T extends z.ZodType<{ QUEUE_BACKEND: string; DATABASE_URL?: string; AUDIT_WEBHOOK_URL?: string; AUDIT_WEBHOOK_SECRET?: string }>>(schema: T) {
  // The jobs live in DATABASE_URL's PostgreSQL then; without one there is nowhere to keep them.
  return schema
    .refine((env) => env.QUEUE_BACKEND !== 'postgres' || env.DATABASE_URL !== undefined, {
      path: ['QUEUE_BACKEND'],
      message: 'postgres needs DATABASE_URL (postgres://…), the database that holds the jobs',
    })
    .refine(auditSecretRequired.when, auditSecretRequired.params);
}

const configSchema = consistent(settingsSchema).refine((env) => env.SLACK_APP_TOKEN || env.SLACK_SIGNING_SECRET, {
  path: ['SLACK_SIGNING_SECRET'],
  message: 'is required unless SLACK_APP_TOKEN is set (Socket Mode)',
});

/** The admin CLI reads the same settings; it needs Slack only for commands that notify people. */
const cliSettingsSchema = consistent(settingsSchema.partial({ SLACK_BOT_TOKEN: true }).extend(cliOnlySettings));

export interface Config {
  slack: {
    botToken: string;
    signingSecret?: string;
    appToken?: string;
    apiUrl?: string;
    /** Team and enterprise ids whose requests are served; unset, the bot token's own (auth.test). */
    allowedTeams?: readonly string[];
  };
  port: number;
  /** Where /readyz, /metrics (and /healthz) are served apart from Slack's traffic, when set. */
  opsPort?: number;
  databasePath: string;
  /** PostgreSQL (postgres:// or postgresql://): holds the records when set (else the SQLite file at databasePath), and BullMQ's jobs when queueBackend is postgres. */
  databaseUrl?: string;
  /** Where BullMQ keeps the jobs: Redis at redisUrl (unused otherwise), or PostgreSQL at databaseUrl. */
  queueBackend: (typeof QUEUE_BACKENDS)[number];
  redisUrl: string;
  policyFile: string;
  logLevel: (typeof LOG_LEVELS)[number];
  reconcileIntervalSeconds: number;
  /** EC2 calls that change rules (authorize, revoke) allowed per second. */
  ec2RateLimitPerSecond: number;
  /** Where every event of the event log is POSTed as a signed CloudEvent; unset, nothing is sent. */
  audit?: {
    webhookUrl: string;
    /** The HMAC-SHA256 key of the signature header. */
    secret: string;
    /** The CloudEvents `source` naming this install. */
    source: string;
  };
}

/** The admin CLI's settings: the bot's, with Slack present only when SLACK_BOT_TOKEN is set. */
export type CliConfig = Omit<Config, 'slack'> & {
  slack?: Config['slack'];
  /** PGPASSWORD: the password for a copy-records target URL that holds none. */
  copyTargetPassword?: string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses settings once, from the given environment; the only place that reads it. */
export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const s = parse(configSchema, env);
  return toConfig(s, slackOf(s));
}

/** The settings for the admin CLI (same names and rules), where Slack tokens are optional. */
export function loadCliConfig(env: Record<string, string | undefined>): Readonly<CliConfig> {
  const s = parse(cliSettingsSchema, env);
  const config = toConfig(s, s.SLACK_BOT_TOKEN === undefined ? undefined : slackOf({ ...s, SLACK_BOT_TOKEN: s.SLACK_BOT_TOKEN }));
  return Object.freeze({ ...config, copyTargetPassword: s.PGPASSWORD });
}

function parse<T>(schema: z.ZodType<T>, env: Record<string, string | undefined>): T {
  // Empty strings count as unset, as in most .env tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'settings'} ${issue.message}`);
    throw new ConfigError(`Invalid settings:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

type Settings = Omit<z.output<typeof settingsSchema>, 'SLACK_BOT_TOKEN'> & { SLACK_BOT_TOKEN?: string };

function slackOf(s: Settings & { SLACK_BOT_TOKEN: string }): Config['slack'] {
  return Object.freeze({
    botToken: s.SLACK_BOT_TOKEN,
    signingSecret: s.SLACK_SIGNING_SECRET,
    appToken: s.SLACK_APP_TOKEN,
    apiUrl: s.SLACK_API_URL,
    allowedTeams: s.SLACK_ALLOWED_TEAMS,
  });
}

function toConfig<S extends Config['slack'] | undefined>(s: Settings, slack: S) {
  return Object.freeze({
    slack,
    port: s.PORT,
    opsPort: s.OPS_PORT,
    databasePath: s.DATABASE_PATH,
    databaseUrl: s.DATABASE_URL,
    queueBackend: s.QUEUE_BACKEND,
    redisUrl: s.REDIS_URL,
    policyFile: s.POLICY_FILE,
    logLevel: s.LOG_LEVEL,
    reconcileIntervalSeconds: s.RECONCILE_INTERVAL,
    ec2RateLimitPerSecond: s.EC2_RATE_LIMIT,
    audit:
      s.AUDIT_WEBHOOK_URL === undefined
        ? undefined
        : Object.freeze({ webhookUrl: s.AUDIT_WEBHOOK_URL, secret: s.AUDIT_WEBHOOK_SECRET!, source: s.AUDIT_SOURCE }),
  });
}
