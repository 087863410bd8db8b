import { expect, test } from 'vitest';
import { ConfigError, loadCliConfig, loadConfig, SETTING_NAMES } from '../../src/config.js';

test('the CLI reads the bot settings without requiring Slack tokens', () => {
  const config = loadCliConfig({ DATABASE_PATH: '/var/lib/cache-access/db.sqlite', REDIS_URL: 'redis://queue:6379' });
  expect(config.slack).toBeUndefined();
  expect(config.databasePath).toBe('/var/lib/cache-access/db.sqlite');
  expect(config.redisUrl).toBe('redis://queue:6379');
  // No signing secret needed either: the CLI receives nothing from Slack.
  expect(loadCliConfig({ SLACK_BOT_TOKEN: 'xoxb-1' }).slack).toEqual({ botToken: 'xoxb-1' });
});

test('the CLI applies the same rules and defaults as the bot', () => {
  const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', RECONCILE_INTERVAL: '30s' };
  expect(loadCliConfig(env)).toEqual(loadConfig(env));
  expect(() => loadCliConfig({ REDIS_URL: 'http://nope' })).toThrow(ConfigError);
  expect(() => loadCliConfig({ REDIS_URL: 'http://nope' })).toThrow(/REDIS_URL must be a redis/);
  expect(() => loadCliConfig({ QUEUE_BACKEND: 'postgres' })).toThrow(/QUEUE_BACKEND postgres needs DATABASE_URL/);
});

test('the CLI also refuses an audit webhook without its secret', () => {
  expect(() => loadCliConfig({ AUDIT_WEBHOOK_URL: 'https://siem.example.com/in' })).toThrow(/AUDIT_WEBHOOK_SECRET is required/);
});

test('the CLI reads PGPASSWORD, for copy-records; the bot does not, and an empty one is unset', () => {
  expect(loadCliConfig({ PGPASSWORD: 's3cret' }).copyTargetPassword).toBe('s3cret');
  expect(loadCliConfig({ PGPASSWORD: '' }).copyTargetPassword).toBeUndefined();
  expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', PGPASSWORD: 's3cret' })).not.toHaveProperty('copyTargetPassword');
  expect(SETTING_NAMES).toContain('PGPASSWORD');
});
