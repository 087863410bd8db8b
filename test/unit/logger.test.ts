import { Writable } from 'node:stream';
import { expect, test } from 'vitest';
import { createLogger } from '../../src/adapters/logger.js';
import { boltLogger } from '../../src/adapters/slack/bolt-logger.js';
import { loadConfig } from '../../src/config.js';

const BOT_TOKEN = 'xoxb-1111-2222-abcdefSECRET';
const APP_TOKEN = 'xapp-1-A111-222-ffffSECRET';
const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger('debug', stream), lines, text: () => lines.join('\n') };
}

function expectNoSecret(text: string) {
  for (const secret of [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, 'abcdefSECRET', 'ffffSECRET']) expect(text).not.toContain(secret);
}

test('a logged config, environment and error carrying tokens shows none of them', () => {
  const { logger, lines, text } = capture();
  const env = { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET };
  logger.info({ config: loadConfig(env) }, 'starting');
  logger.info({ env }, 'environment');
  const error = Object.assign(new Error(`An API error occurred: invalid_auth for token ${BOT_TOKEN}`), {
    request: { headers: { Authorization: `Bearer ${BOT_TOKEN}` } },
    cause: new Error(`retry with ${APP_TOKEN}`),
  });
  logger.error({ err: error, requestId: 42 }, `call failed using ${BOT_TOKEN}`);

  expect(lines).toHaveLength(3);
  expectNoSecret(text());
  const [config, , failure] = lines.map((line) => JSON.parse(line));
  // Redacted, not dropped: what is there stays visible.
  expect(config.config.slack.botToken).toBe('[redacted]');
  expect(config.config.databasePath).toBe('./data/cache-access.db');
  expect(failure.requestId).toBe(42);
  expect(failure.err.message).toContain('invalid_auth');
  expect(failure.err.request.headers.Authorization).toBe('[redacted]');
  expect(failure.err.type).toBe('Error');
  expect(failure.err.stack).toContain('logger.test.ts');
  expect(failure.msg).toBe('call failed using [redacted]');
});

test('child loggers keep their ids on every line and are scrubbed too', () => {
  const { logger, lines, text } = capture();
  const job = logger.child({ requestId: 7, jobId: 'grant-7' });
  job.info({ headers: { authorization: `Bearer ${BOT_TOKEN}` } }, 'calling');
  job.warn('done');
  expect(lines.map((line) => JSON.parse(line))).toEqual([
    expect.objectContaining({ requestId: 7, jobId: 'grant-7', msg: 'calling', headers: { authorization: '[redacted]' } }),
    expect.objectContaining({ requestId: 7, jobId: 'grant-7', msg: 'done' }),
  ]);
  expectNoSecret(text());
});

test('Bolt and Web API log lines routed through the bolt logger cannot print a token', () => {
  const { logger, text } = capture();
  const slack = boltLogger(logger);
  slack.debug(`http request headers: {"Authorization":"Bearer ${BOT_TOKEN}"}`);
  slack.warn('socket mode', { appToken: APP_TOKEN, url: `wss://example.test/?ticket=${APP_TOKEN}` });
  slack.error(new Error(`failed for ${BOT_TOKEN}`));
  expectNoSecret(text());
  expect(text()).toContain('http request headers');
});
