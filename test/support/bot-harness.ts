/**
 * Runs the real bot (startBot from src/main.ts) against a fake Slack Web API over HTTP, a stateful
 * fake AWS account at the SDK edge, real Redis (unique queue prefix per harness) and a real SQLite
 * file, and drives it only as Slack would: signed POSTs to /slack/events.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startBot, type RunningBot } from '../../src/main.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { startFakeSlack, type FakeSlack, type RecordedCall } from '../fakes/fake-slack-server.js';
import { blockActionBody, postToSlackEndpoint, slashCommandBody, type PostOptions } from './slack-request.js';

export const SIGNING_SECRET = 'test-signing-secret';

export interface BotHarness {
  slack: FakeSlack;
  aws: FakeAwsAccount;
  bot: RunningBot;
  eventsUrl: string;
  databasePath: string;
  /** Sends `/cache-access <text>` as `userId`; returns the HTTP reply and the name of its response_url. */
  command(text: string, userId: string, options?: PostOptions & { triggerId?: string }): Promise<{ status: number; text: string; responseName: string }>;
  /** Clicks Approve or Deny on the approval message of request `requestId` as `userId`. */
  click(action: 'approve' | 'deny', requestId: number, userId: string): Promise<{ status: number; responseName: string }>;
  /** The approval message posted for request `requestId` (first one when several). */
  approvalMessage(requestId: number): Promise<RecordedCall>;
  /** Read-only SQL against the bot's database file. */
  query<T>(sql: string, ...params: unknown[]): T[];
  /** Stops the bot as a crash or deploy would and starts a new one on the same database and Redis. */
  restart(options?: { before?: () => Promise<void> }): Promise<void>;
  /** Stops only the bot (for "down through an expiry"); `restart` brings it back. */
  stopBot(): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  usergroups?: Record<string, string[]>;
  /** Extra settings, e.g. RECONCILE_INTERVAL. */
  env?: Record<string, string>;
  /** A Redis of the test's own (for tests that FLUSHALL); the run's shared one otherwise. */
  redisUrl?: string;
}

export async function startHarness(policyYaml: string, options: HarnessOptions = {}): Promise<BotHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-test-'));
  const policyFile = join(dir, 'policy.yml');
  writeFileSync(policyFile, policyYaml);
  const databasePath = join(dir, 'cache-access.db');
  const slack = await startFakeSlack({ usergroups: options.usergroups });
  const aws = new FakeAwsAccount();
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    DATABASE_PATH: databasePath,
    REDIS_URL: options.redisUrl ?? inject('redisUrl'),
    POLICY_FILE: policyFile,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const queuePrefix = `test-${randomUUID()}`;
  const boot = () => startBot(config, { logger: pino({ level: 'silent' }), queuePrefix, shutdownTimeoutMs: 1_000 });
  let bot: RunningBot | undefined = await boot();
  let eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  const reader = new Database(databasePath, { readonly: true, fileMustExist: true });

  const approvalMessage = (requestId: number) =>
    slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        JSON.stringify(call.body.blocks ?? '').includes(`"value":"${requestId}"`),
    );

  return {
    slack,
    aws,
    get bot() {
      return bot!;
    },
    get eventsUrl() {
      return eventsUrl;
    },
    databasePath,
    async command(text, userId, options = {}) {
      const responseName = `cmd-${randomUUID()}`;
      const body = slashCommandBody({ text, userId, responseUrl: slack.responseUrl(responseName), triggerId: options.triggerId });
      const reply = await postToSlackEndpoint(eventsUrl, SIGNING_SECRET, body, options);
      return { ...reply, responseName };
    },
    async click(action, requestId, userId) {
      await approvalMessage(requestId);
      const stored = await waitUntil(() =>
        reader.prepare("select channel, ts from slack_messages where request_id = ? and kind = 'approval'").get(requestId) as
          | { channel: string; ts: string }
          | undefined,
      );
      const responseName = `click-${randomUUID()}`;
      const body = blockActionBody({
        userId,
        actionId: action,
        value: String(requestId),
        messageTs: stored.ts,
        channelId: stored.channel,
        responseUrl: slack.responseUrl(responseName),
      });
      const reply = await postToSlackEndpoint(eventsUrl, SIGNING_SECRET, body);
      return { status: reply.status, responseName };
    },
    approvalMessage,
    query<T>(sql: string, ...params: unknown[]) {
      return reader.prepare(sql).all(...params) as T[];
    },
    async stopBot() {
      await bot?.stop();
      bot = undefined;
    },
    async restart({ before } = {}) {
      await bot?.stop();
      bot = undefined;
      await before?.();
      bot = await boot();
      eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
    },
    async stop() {
      reader.close();
      await bot?.stop();
      aws.restore();
      await slack.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value (the bot works after acknowledging, so results arrive later). */
export async function waitUntil<T>(probe: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
