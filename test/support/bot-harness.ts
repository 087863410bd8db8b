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
import { pino, type Logger } from 'pino';
import { inject } from 'vitest';
import type { Clock } from '../../src/app/ports.js';
import { PostgresGrantStore } from '../../src/adapters/db/postgres/grant-store.js';
import { openPostgres } from '../../src/adapters/db/postgres/open.js';
import { loadConfig } from '../../src/config.js';
import { startBot, type RunningBot } from '../../src/main.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { startFakeSlack, type FakeSlack, type RecordedCall } from '../fakes/fake-slack-server.js';
import {
  blockActionBody,
  eventCallbackBody,
  postToSlackEndpoint,
  slashCommandBody,
  viewActionBody,
  viewSubmissionBody,
  type PostOptions,
  type ViewSubmissionInput,
} from './slack-request.js';
import { waitForApprovalMessage } from './stored-status.js';

export const SIGNING_SECRET = 'test-signing-secret';

export interface BotHarness {
  slack: FakeSlack;
  aws: FakeAwsAccount;
  bot: RunningBot;
  eventsUrl: string;
  databasePath: string;
  /** The BullMQ key prefix of this bot's queue, for tests that inspect jobs in Redis. */
  queuePrefix: string;
  /** Sends `/cache-access <text>` as `userId`; returns the HTTP reply and the name of its response_url. */
  command(text: string, userId: string, options?: PostOptions & { triggerId?: string }): Promise<{ status: number; text: string; responseName: string }>;
  /** Clicks Approve or Deny on the approval message of request `requestId` as `userId`. */
  click(action: 'approve' | 'deny', requestId: number, userId: string): Promise<{ status: number; responseName: string }>;
  /** The approval message posted for request `requestId` (first one when several). */
  approvalMessage(requestId: number): Promise<RecordedCall>;
  /** Sends `/cache-access` with no text as `userId` and returns the modal views.open stored. */
  openModal(userId: string): Promise<Record<string, unknown>>;
  /** Submits `view` with these field states; returns the HTTP status and the parsed acknowledgement (undefined when empty). */
  submitModal(userId: string, view: Record<string, unknown>, values: ViewSubmissionInput['values']): Promise<{ status: number; body?: any }>;
  /** Delivers app_home_opened for `userId` and returns the Home view published for them in answer. */
  openHome(userId: string): Promise<Record<string, unknown>>;
  /** Clicks a button of the Home tab `view` (no response_url, as Slack sends it) and returns the next published Home view. */
  clickInHome(actionId: string, requestId: number, userId: string, view: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Replaces the policy file's text (the bot reads it again on reloadPolicy). */
  writePolicy(policyYaml: string): void;
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
  /** The bot's logger, for tests that check what it logs; silent otherwise. */
  logger?: Logger;
  /** The use cases' clock (e.g. one a test moves ahead); the system clock otherwise. Redis and Slack keep real time. */
  clock?: Clock;
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
  const boot = () =>
    startBot(config, { logger: options.logger ?? pino({ level: 'silent' }), queuePrefix, shutdownTimeoutMs: 1_000, clock: options.clock });
  let bot: RunningBot | undefined = await boot();
  let eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  // With DATABASE_URL the records are in PostgreSQL: the harness reads them through a store of its own there.
  const postgres = config.databaseUrl ? await openPostgres(config.databaseUrl) : undefined;
  const reader = postgres ? undefined : new Database(databasePath, { readonly: true, fileMustExist: true });
  const approvalRef = async (requestId: number): Promise<{ channel: string; ts: string }> => {
    if (reader) {
      return waitUntil(() =>
        reader.prepare("select channel, ts from slack_messages where request_id = ? and kind = 'approval'").get(requestId) as { channel: string; ts: string } | undefined,
      );
    }
    return waitForApprovalMessage(new PostgresGrantStore(postgres!.db), requestId);
  };

  const approvalMessage = (requestId: number) =>
    slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        JSON.stringify(call.body.blocks ?? '').includes(`"value":"${requestId}"`),
    );

  const publishedFor = (userId: string) =>
    slack.callsTo('views.publish').filter((c) => c.body.user_id === userId).map((c) => c.body.view as Record<string, unknown>);

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
    queuePrefix,
    async command(text, userId, options = {}) {
      const responseName = `cmd-${randomUUID()}`;
      const body = slashCommandBody({ text, userId, responseUrl: slack.responseUrl(responseName), triggerId: options.triggerId });
      const reply = await postToSlackEndpoint(eventsUrl, SIGNING_SECRET, body, options);
      return { ...reply, responseName };
    },
    async click(action, requestId, userId) {
      await approvalMessage(requestId);
      const stored = await approvalRef(requestId);
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
    async openModal(userId) {
      const triggerId = `${randomUUID()}.modal`;
      const body = slashCommandBody({ text: '', userId, responseUrl: slack.responseUrl(`modal-${triggerId}`), triggerId });
      await postToSlackEndpoint(eventsUrl, SIGNING_SECRET, body);
      await slack.waitFor((c) => c.method === 'views.open' && c.body.trigger_id === triggerId);
      return waitUntil(() => [...slack.views.values()].filter((v) => v.type === 'modal').at(-1), 2_000, 'the modal');
    },
    async submitModal(userId, view, values) {
      const reply = await postToSlackEndpoint(eventsUrl, SIGNING_SECRET, viewSubmissionBody({ userId, view, values }));
      return { status: reply.status, body: reply.text ? JSON.parse(reply.text) : undefined };
    },
    async openHome(userId) {
      const before = publishedFor(userId).length;
      const reply = await postToSlackEndpoint(eventsUrl, SIGNING_SECRET, eventCallbackBody({ type: 'app_home_opened', user: userId, channel: 'D0HOME0001', tab: 'home' }), {
        contentType: 'application/json',
      });
      if (reply.status !== 200) throw new Error(`app_home_opened answered ${reply.status}`);
      return waitUntil(() => publishedFor(userId)[before], 5_000, `a Home tab for ${userId}`);
    },
    async clickInHome(actionId, requestId, userId, view) {
      const before = publishedFor(userId).length;
      await postToSlackEndpoint(eventsUrl, SIGNING_SECRET, viewActionBody({ userId, actionId, value: String(requestId), view: { id: 'V0HOME0001', ...view } }));
      return waitUntil(() => publishedFor(userId)[before], 5_000, `a refreshed Home tab for ${userId}`);
    },
    writePolicy(policyYaml) {
      writeFileSync(policyFile, policyYaml);
    },
    query<T>(sql: string, ...params: unknown[]) {
      if (!reader) throw new Error('query() reads the SQLite file; this bot keeps its records in PostgreSQL');
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
      reader?.close();
      await bot?.stop();
      await postgres?.close();
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

/** The status of request `id` in the harness's database. */
export function statusOf(h: BotHarness, id: number): string | undefined {
  return h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;
}

/** Waits until request `id` has `status` (jobs run after the request that caused them was answered). */
export async function waitForStatus(h: BotHarness, id: number, status: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(() => statusOf(h, id) === status, timeoutMs, `#${id} to be ${status} (is ${statusOf(h, id)})`);
}
