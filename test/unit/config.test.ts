import { describe, expect, test, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const SOCKET_MODE = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_APP_TOKEN: 'xapp-test' };
const HTTP_MODE = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'shh' };

function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

test('everything but the Slack secrets has a default', () => {
  expect(loadConfig(HTTP_MODE)).toEqual({
    slack: { botToken: 'xoxb-test', signingSecret: 'shh' },
    port: 3000,
    databasePath: './data/cache-access.db',
    queueBackend: 'redis',
    redisUrl: 'redis://127.0.0.1:6379',
    policyFile: './policy.yml',
    logLevel: 'info',
    reconcileIntervalSeconds: 60,
    ec2RateLimitPerSecond: 10,
  });
});

test('every setting is read from the given environment', () => {
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-1',
    SLACK_SIGNING_SECRET: 'secret',
    SLACK_APP_TOKEN: 'xapp-1',
    SLACK_API_URL: 'http://127.0.0.1:4567/api/',
    SLACK_ALLOWED_TEAMS: 'T0AAA0001, E0ORG0001',
    PORT: '8080',
    OPS_PORT: '9090',
    DATABASE_PATH: '/var/lib/cache-access/db.sqlite',
    DATABASE_URL: 'postgresql://bot:pw@db.internal:5432/cache_access',
    QUEUE_BACKEND: 'postgres',
    REDIS_URL: 'rediss://cache.internal:6380/2',
    POLICY_FILE: '/etc/cache-access/policy.yml',
    LOG_LEVEL: 'debug',
    RECONCILE_INTERVAL: '5m',
    EC2_RATE_LIMIT: '25',
  });
  expect(config).toEqual({
    slack: {
      botToken: 'xoxb-1',
      signingSecret: 'secret',
      appToken: 'xapp-1',
      apiUrl: 'http://127.0.0.1:4567/api/',
      allowedTeams: ['T0AAA0001', 'E0ORG0001'],
    },
    port: 8080,
    opsPort: 9090,
    databasePath: '/var/lib/cache-access/db.sqlite',
    databaseUrl: 'postgresql://bot:pw@db.internal:5432/cache_access',
    queueBackend: 'postgres',
    redisUrl: 'rediss://cache.internal:6380/2',
    policyFile: '/etc/cache-access/policy.yml',
    logLevel: 'debug',
    reconcileIntervalSeconds: 300,
    ec2RateLimitPerSecond: 25,
  });
});

test('DATABASE_URL puts the records in PostgreSQL; unset, they stay in the SQLite file', () => {
  expect(loadConfig({ ...HTTP_MODE, DATABASE_URL: 'postgres://bot@db.internal:5432/cache_access' }).databaseUrl).toBe('postgres://bot@db.internal:5432/cache_access');
  expect(loadConfig({ ...HTTP_MODE, DATABASE_URL: 'postgresql://db.internal/cache_access' }).databaseUrl).toBe('postgresql://db.internal/cache_access');
  expect(loadConfig(HTTP_MODE).databaseUrl).toBeUndefined();
});

test('empty values count as unset', () => {
  expect(loadConfig({ ...HTTP_MODE, PORT: '', LOG_LEVEL: '', SLACK_APP_TOKEN: undefined })).toMatchObject({ port: 3000, logLevel: 'info' });
});

test('the audit webhook: its URL, secret and the source naming the install', () => {
  const env = { ...HTTP_MODE, AUDIT_WEBHOOK_URL: 'https://siem.example.com/in', AUDIT_WEBHOOK_SECRET: 'hmac-key' };
  expect(loadConfig(env).audit).toEqual({ webhookUrl: 'https://siem.example.com/in', secret: 'hmac-key', source: 'cache-access' });
  expect(loadConfig({ ...env, AUDIT_SOURCE: 'https://cache-access.example.com' }).audit?.source).toBe('https://cache-access.example.com');
  expect(loadConfig({ ...HTTP_MODE, AUDIT_WEBHOOK_SECRET: 'unused' }).audit).toBeUndefined();
});

test('an app token alone (Socket Mode) needs no signing secret', () => {
  expect(loadConfig(SOCKET_MODE).slack).toEqual({ botToken: 'xoxb-test', appToken: 'xapp-test' });
});

describe('refuses, naming the setting', () => {
  test.each([
    ['no bot token', { SLACK_SIGNING_SECRET: 'shh' }, 'SLACK_BOT_TOKEN is required'],
    ['neither signing secret nor app token', { SLACK_BOT_TOKEN: 'xoxb-test' }, 'SLACK_SIGNING_SECRET is required unless SLACK_APP_TOKEN'],
    ['an app token that is not one', { ...HTTP_MODE, SLACK_APP_TOKEN: 'xoxb-wrong' }, 'SLACK_APP_TOKEN must be an app-level token'],
    ['a PORT that is not a number', { ...HTTP_MODE, PORT: 'http' }, 'PORT must be a port number'],
    ['a PORT out of range', { ...HTTP_MODE, PORT: '65536' }, 'PORT must be a port number'],
    ['a negative PORT', { ...HTTP_MODE, PORT: '-1' }, 'PORT must be a port number'],
    ['a fractional PORT', { ...HTTP_MODE, PORT: '80.5' }, 'PORT must be a port number'],
    ['a blank PORT, which Number() would read as 0', { ...HTTP_MODE, PORT: ' ' }, 'PORT must be a port number'],
    ['a hex PORT', { ...HTTP_MODE, PORT: '0x50' }, 'PORT must be a port number'],
    ['an OPS_PORT that is not a number', { ...HTTP_MODE, OPS_PORT: 'ops' }, 'OPS_PORT must be a port number'],
    ['an OPS_PORT out of range', { ...HTTP_MODE, OPS_PORT: '70000' }, 'OPS_PORT must be a port number'],
    ['a SLACK_ALLOWED_TEAMS entry that is no team id', { ...HTTP_MODE, SLACK_ALLOWED_TEAMS: 'T0AAA0001,acme' }, 'SLACK_ALLOWED_TEAMS must be team ids (T…) and/or enterprise ids (E…)'],
    ['a SLACK_ALLOWED_TEAMS of commas only', { ...HTTP_MODE, SLACK_ALLOWED_TEAMS: ' , ' }, 'SLACK_ALLOWED_TEAMS must be team ids'],
    ['an unknown LOG_LEVEL', { ...HTTP_MODE, LOG_LEVEL: 'verbose' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
    ['a REDIS_URL without the redis scheme', { ...HTTP_MODE, REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL must be a redis:// or rediss:// URL'],
    ['a REDIS_URL that is a bare host', { ...HTTP_MODE, REDIS_URL: '127.0.0.1:6379' }, 'REDIS_URL must be a redis:// or rediss:// URL'],
    ['a DATABASE_URL that is not PostgreSQL', { ...HTTP_MODE, DATABASE_URL: 'mysql://db.internal/cache' }, 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
    ['a DATABASE_URL that is a file path', { ...HTTP_MODE, DATABASE_URL: './data/cache-access.db' }, 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
    ['an unknown QUEUE_BACKEND', { ...HTTP_MODE, QUEUE_BACKEND: 'kafka' }, 'QUEUE_BACKEND must be one of redis, postgres'],
    ['a postgres QUEUE_BACKEND without DATABASE_URL', { ...HTTP_MODE, QUEUE_BACKEND: 'postgres' }, 'QUEUE_BACKEND postgres needs DATABASE_URL'],
    ['a SLACK_API_URL that is not a URL', { ...HTTP_MODE, SLACK_API_URL: 'slack api' }, 'SLACK_API_URL must be an http(s) URL'],
    ['a SLACK_API_URL that is not http(s)', { ...HTTP_MODE, SLACK_API_URL: 'ftp://slack.com/api/' }, 'SLACK_API_URL must be an http(s) URL'],
    ['a RECONCILE_INTERVAL that is not a duration', { ...HTTP_MODE, RECONCILE_INTERVAL: 'often' }, 'RECONCILE_INTERVAL must be a duration'],
    ['an EC2_RATE_LIMIT of zero', { ...HTTP_MODE, EC2_RATE_LIMIT: '0' }, 'EC2_RATE_LIMIT must be at least 1'],
    ['an EC2_RATE_LIMIT that is not a whole number', { ...HTTP_MODE, EC2_RATE_LIMIT: '2.5' }, 'EC2_RATE_LIMIT must be a whole number'],
    ['an AUDIT_WEBHOOK_URL that is not http(s)', { ...HTTP_MODE, AUDIT_WEBHOOK_URL: 'ftp://siem/', AUDIT_WEBHOOK_SECRET: 's' }, 'AUDIT_WEBHOOK_URL must be an http(s) URL'],
    ['an AUDIT_WEBHOOK_URL without its secret', { ...HTTP_MODE, AUDIT_WEBHOOK_URL: 'https://siem.example.com/in' }, 'AUDIT_WEBHOOK_SECRET is required when AUDIT_WEBHOOK_URL is set'],
  ])('%s', (_, env, problem) => {
    expect(problemsOf(env)).toContain(problem);
  });

  test('all bad settings at once, one per line', () => {
    const message = problemsOf({ ...HTTP_MODE, PORT: 'x', LOG_LEVEL: 'loud', REDIS_URL: 'nope' });
    expect(message.split('\n').slice(1).map((line) => line.trim().split(' ')[0])).toEqual(['PORT', 'REDIS_URL', 'LOG_LEVEL']);
  });
});

test('a postgres QUEUE_BACKEND with a PostgreSQL DATABASE_URL needs no REDIS_URL', () => {
  const config = loadConfig({ ...HTTP_MODE, QUEUE_BACKEND: 'postgres', DATABASE_URL: 'postgres://db.internal/cache_access' });
  expect(config).toMatchObject({ queueBackend: 'postgres', databaseUrl: 'postgres://db.internal/cache_access' });
});

test('the result is frozen, Slack settings included', () => {
  const config = loadConfig(HTTP_MODE);
  expect(Object.isFrozen(config)).toBe(true);
  expect(Object.isFrozen(config.slack)).toBe(true);
  expect(() => {
    (config as { port: number }).port = 1;
  }).toThrow(TypeError);
});

test('reads only the environment it is given, not process.env', () => {
  vi.stubEnv('SLACK_BOT_TOKEN', 'xoxb-from-process-env');
  vi.stubEnv('PORT', '9999');
  try {
    expect(problemsOf({ SLACK_SIGNING_SECRET: 'shh' })).toContain('SLACK_BOT_TOKEN is required');
    expect(loadConfig(HTTP_MODE)).toMatchObject({ slack: { botToken: 'xoxb-test' }, port: 3000 });
  } finally {
    vi.unstubAllEnvs();
  }
});
