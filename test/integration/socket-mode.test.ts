/**
 * Socket Mode end to end: the real bot (startBot) with SLACK_APP_TOKEN set and no signing secret asks
 * the fake Web API's apps.connections.open for a WebSocket URL, connects to a real WebSocket server
 * playing Slack, and is driven only by envelopes over that socket: it must ack each envelope_id and
 * then do the work. Real Redis, a real SQLite file, AWS answered at the SDK edge.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startBot, type RunningBot } from '../../src/main.js';
import { FakeAwsAccount } from '../fakes/aws-account.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack-server.js';
import { startFakeSocketMode, type FakeSocketMode } from '../fakes/fake-socket-mode-server.js';
import { waitUntil } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';
import { blockActionBody, slashCommandBody } from '../support/slack-request.js';

const APP_TOKEN = 'xapp-1-A0CACHE001-1234567890-socketmodetoken';
const POLICY = `
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
`;

let dir: string;
let socket: FakeSocketMode;
let slack: FakeSlack;
let aws: FakeAwsAccount;
let bot: RunningBot;
let db: Database.Database;
let botStopped: boolean;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cache-access-socket-'));
  writeFileSync(join(dir, 'policy.yml'), POLICY);
  socket = await startFakeSocketMode();
  slack = await startFakeSlack({ socketModeUrl: socket.url });
  aws = new FakeAwsAccount();
  addRedisClusters(aws);
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_APP_TOKEN: APP_TOKEN,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    DATABASE_PATH: join(dir, 'cache-access.db'),
    REDIS_URL: inject('redisUrl'),
    POLICY_FILE: join(dir, 'policy.yml'),
    LOG_LEVEL: 'silent',
  });
  botStopped = false;
  bot = await startBot(config, { logger: pino({ level: 'silent' }), queuePrefix: `test-${randomUUID()}` });
  db = new Database(join(dir, 'cache-access.db'), { readonly: true, fileMustExist: true });
});

afterEach(async () => {
  db.close();
  if (!botStopped) await bot.stop();
  aws.restore();
  await slack.close();
  await socket.close();
  rmSync(dir, { recursive: true, force: true });
});

const statusOf = (id: number) =>
  (db.prepare('select status from requests where id = ?').get(id) as { status: string } | undefined)?.status;

/** Slack's Socket Mode payloads are the HTTP bodies as JSON objects. */
function commandPayload(text: string, userId: string, responseUrl: string): Record<string, unknown> {
  return Object.fromEntries(new URLSearchParams(slashCommandBody({ text, userId, responseUrl })));
}

function actionPayload(...args: Parameters<typeof blockActionBody>): Record<string, unknown> {
  return JSON.parse(new URLSearchParams(blockActionBody(...args)).get('payload') ?? '{}') as Record<string, unknown>;
}

describe('Socket Mode', () => {
  test('connects with the app-level token through apps.connections.open', async () => {
    const [open] = slack.callsTo('apps.connections.open');
    expect(open?.token).toBe(APP_TOKEN);
    await socket.connection();
  });

  test('acks a slash command over the socket, then stores the request and asks the approvers', async () => {
    await socket.connection();
    const responseUrl = slack.responseUrl('command');
    const acked = socket.waitForAck('env-command-1');
    await socket.deliver({
      envelope_id: 'env-command-1',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: commandPayload(`orders-redis ${SOURCE_GROUP} 1h checking a key`, 'U0ALICE', responseUrl),
    });

    const ack = await acked;
    // The work (AWS lookups, database, Slack calls) comes after the acknowledgement.
    const answeredBeforeAck = slack.responses.some((response) => response.name === 'command');
    expect(answeredBeforeAck).toBe(false);
    expect(ack.payload ?? {}).toEqual({});

    const answer = await slack.waitForResponse('command');
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(answer.body.text)).toContain('#1');
    expect(statusOf(1)).toBe('pending');
    const approval = await slack.waitFor((call) => call.method === 'chat.postMessage' && call.body.channel === 'C0APPROVALS');
    expect(JSON.stringify(approval.body.blocks)).toContain('orders-redis');
  });

  test('acks an Approve click over the socket, then approves and adds the rule', async () => {
    await socket.connection();
    await socket.deliver({
      envelope_id: 'env-command-2',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: commandPayload(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE', slack.responseUrl('command')),
    });
    await socket.waitForAck('env-command-2');
    const message = await waitUntil(
      () => db.prepare("select channel, ts from slack_messages where request_id = 1 and kind = 'approval'").get() as
        | { channel: string; ts: string }
        | undefined,
      10_000,
      'the approval message of #1',
    );

    await socket.deliver({
      envelope_id: 'env-click-1',
      type: 'interactive',
      accepts_response_payload: false,
      payload: actionPayload({
        userId: 'U0BOB',
        actionId: 'approve',
        value: '1',
        messageTs: message.ts,
        channelId: message.channel,
        responseUrl: slack.responseUrl('click'),
      }),
    });

    await socket.waitForAck('env-click-1');
    await waitUntil(() => statusOf(1) === 'active', 10_000, `#1 to be active (is ${statusOf(1)})`);
    expect(aws.callsOf('AuthorizeSecurityGroupIngress')).toHaveLength(1);
    const decided = await slack.waitFor((call) => call.method === 'chat.update' && call.body.channel === message.channel);
    expect(JSON.stringify(decided.body)).toContain('U0BOB');
  });

  test('serves /healthz on PORT and no Slack events endpoint', async () => {
    expect(bot.port).toBeGreaterThan(0);
    const health = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const events = await fetch(`http://127.0.0.1:${bot.port}/slack/events`, { method: 'POST', body: '{}' });
    expect(events.status).toBe(404);
  });

  test('closes the socket normally when the bot stops', async () => {
    await socket.connection();
    await bot.stop();
    botStopped = true;
    expect(await socket.closed()).toBe(1000);
  });
});
