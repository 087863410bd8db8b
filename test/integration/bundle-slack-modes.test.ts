/**
 * The bundled program serves Slack both ways, run as the image runs it (node dist/main.js): over HTTP
 * (Bolt's HTTP receiver, the request body read by raw-body, whose iconv-lite the bundle leaves out until
 * asked for) and in Socket Mode, whose client, with undici and ws, the bundle loads only when a
 * SLACK_APP_TOKEN asks for it (dist/lazy-socket-mode.js; scripts/bundle-plugins.mjs). Jobs on PostgreSQL
 * likewise: BullMQ's PostgreSQL backend is loaded from dist/lazy-bullmq-postgres.js when QUEUE_BACKEND asks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject, test } from 'vitest';
import { buildProgram, inheritedEnv, type BuiltProgram } from '../fakes/built-program.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack-server.js';
import { startFakeSocketMode, type FakeSocketMode } from '../fakes/fake-socket-mode-server.js';
import { freshPostgresDatabase } from '../support/postgres-database.js';
import { redisDatabase } from '../support/redis-database.js';
import { postToSlackEndpoint, slashCommandBody } from '../support/slack-request.js';

const SIGNING_SECRET = 'bundle-modes-secret';
const APP_TOKEN = 'xapp-1-A0CACHE001-1234567890-bundlemodestoken';
const USAGE = '/cache-access <cluster> <source>';

let program: BuiltProgram;
let dir: string;
let slack: FakeSlack;
let child: ChildProcess | undefined;
// Database 7 of the run's Redis: the program uses the default queue prefix, and no other file uses it.
const redisUrl = redisDatabase(inject('redisUrl'), 7);

beforeAll(async () => {
  program = await buildProgram();
}, 180_000);
afterAll(() => program?.remove());

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cache-access-modes-'));
  writeFileSync(join(dir, 'policy.yml'), 'clusters:\n  - match: "orders-*"\n    approvers: [U0BOB]\n');
});
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  child = undefined;
  await slack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts dist/main.js and resolves with the port its 'cache-access started' line reports. */
async function startProgram(env: Record<string, string>): Promise<number> {
  const started = spawn(process.execPath, ['--enable-source-maps', join(program.dist, 'main.js')], {
    env: {
      ...inheritedEnv(),
      SLACK_BOT_TOKEN: 'xoxb-bundle-modes',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      DATABASE_PATH: join(dir, 'cache-access.db'),
      REDIS_URL: redisUrl,
      POLICY_FILE: join(dir, 'policy.yml'),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child = started;
  for await (const line of createInterface({ input: started.stdout! })) {
    const logged = JSON.parse(line) as { msg?: string; port?: number };
    if (logged.msg === 'cache-access started') return logged.port!;
  }
  const code = started.exitCode ?? ((await once(started, 'exit')) as [number | null])[0];
  throw new Error(`the program exited (code ${code}) before it started`);
}

test('HTTP mode: a signed slash command is verified and answered in the acknowledgement', async () => {
  slack = await startFakeSlack();
  const port = await startProgram({ SLACK_SIGNING_SECRET: SIGNING_SECRET });
  const body = slashCommandBody({ text: 'help', userId: 'U0ALICE', responseUrl: slack.responseUrl('help') });
  const endpoint = `http://127.0.0.1:${port}/slack/events`;

  const reply = await postToSlackEndpoint(endpoint, SIGNING_SECRET, body);
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.text)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining(USAGE) });
  expect((await postToSlackEndpoint(endpoint, SIGNING_SECRET, body, { badSignature: true })).status).toBe(401);
}, 60_000);

test('Socket Mode: connects with the app token and acknowledges a slash command over the socket', async () => {
  const socket: FakeSocketMode = await startFakeSocketMode();
  try {
    slack = await startFakeSlack({ socketModeUrl: socket.url });
    await startProgram({ SLACK_APP_TOKEN: APP_TOKEN });
    await socket.connection(20_000);
    const acked = socket.waitForAck('env-help', 20_000);
    const payload = Object.fromEntries(new URLSearchParams(slashCommandBody({ text: 'help', userId: 'U0ALICE', responseUrl: slack.responseUrl('help') })));
    await socket.deliver({ envelope_id: 'env-help', type: 'slash_commands', accepts_response_payload: true, payload });

    const ack = await acked;
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining(USAGE) });
    expect(slack.callsTo('apps.connections.open')[0]?.token).toBe(APP_TOKEN);
  } finally {
    await socket.close();
  }
}, 60_000);

test('jobs on PostgreSQL: the backend loaded on demand migrates its schema and the program is ready', async () => {
  slack = await startFakeSlack();
  const database = await freshPostgresDatabase(inject('postgresUrl'));
  try {
    const port = await startProgram({ SLACK_SIGNING_SECRET: SIGNING_SECRET, DATABASE_URL: database.url, QUEUE_BACKEND: 'postgres' });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', postgres: 'ok', slack: 'ok' } });
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await once(child, 'exit');
    await database.drop();
  }
}, 60_000);
