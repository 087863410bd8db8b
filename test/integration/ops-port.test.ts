/**
 * OPS_PORT: readiness and metrics leave the port Slack reaches (and with it anyone who can reach
 * Slack's request URL); that port keeps /slack/events and a /healthz that says only ok or not.
 * And /livez, the liveness probe's route, which answers while the process does, whatever its dependencies do.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, inject, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startBot } from '../../src/main.js';
import { startFakeSlack } from '../fakes/fake-slack-server.js';
import { startHarness, type BotHarness } from '../support/bot-harness.js';
import { freePort } from '../support/free-port.js';

const POLICY = 'clusters: [{ match: "orders-*", approvers: [U0BOB] }]';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);

/** /readyz once it answers 200 (Redis and auth.test come up just after start), or its last answer after 5 s. */
async function readyOn(port: number): Promise<Response> {
  for (let tries = 0; ; tries += 1) {
    const response = await get(port, '/readyz');
    if (response.status === 200 || tries === 50) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('with OPS_PORT, /readyz and /metrics answer there and not on the Slack port', async () => {
  const h: BotHarness = await startHarness(POLICY, { env: { OPS_PORT: '0' } });
  cleanups.push(() => h.stop());
  const { port, opsPort } = h.bot;
  expect(opsPort).not.toBe(port);

  expect((await get(port, '/metrics')).status).toBe(404);
  expect((await get(port, '/readyz')).status).toBe(404);
  expect((await get(opsPort, '/metrics')).status).toBe(200);
  expect((await get(opsPort, '/slack/events')).status).toBe(404);
  const ready = await readyOn(opsPort);
  expect(ready.status).toBe(200);

  // /healthz stays on both: in full on OPS_PORT, bare (no check texts) where Slack's traffic arrives.
  expect(await (await get(opsPort, '/healthz')).json()).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  const bare = await get(port, '/healthz');
  expect(bare.status).toBe(200);
  expect(await bare.json()).toEqual({ status: 'ok' });
});

test('without OPS_PORT, everything stays on PORT', async () => {
  const h: BotHarness = await startHarness(POLICY);
  cleanups.push(() => h.stop());

  expect(h.bot.opsPort).toBe(h.bot.port);
  expect((await get(h.bot.port, '/metrics')).status).toBe(200);
  expect((await readyOn(h.bot.port)).status).toBe(200);
});

test('a worker serves its ops routes on OPS_PORT instead of PORT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-ops-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'policy.yml'), POLICY);
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  const port = await freePort();
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: 'ops-secret',
    SLACK_API_URL: slack.apiUrl,
    PORT: String(port),
    OPS_PORT: '0',
    DATABASE_PATH: join(dir, 'db.sqlite'),
    REDIS_URL: inject('redisUrl'),
    POLICY_FILE: join(dir, 'policy.yml'),
  });
  const worker = await startBot(config, { role: 'worker', logger: pino({ level: 'silent' }), queuePrefix: `ops-${randomUUID()}`, shutdownTimeoutMs: 1_000 });
  cleanups.push(() => worker.stop());

  expect(worker.opsPort).not.toBe(port);
  expect((await get(worker.opsPort, '/metrics')).status).toBe(200);
  await expect(get(port, '/metrics')).rejects.toThrow();
});

test('/livez answers alive on OPS_PORT while Redis does not answer, when /healthz and /readyz fail', async () => {
  const nobodyListens = await freePort();
  const h: BotHarness = await startHarness(POLICY, { env: { OPS_PORT: '0', REDIS_URL: `redis://127.0.0.1:${nobodyListens}` } });
  cleanups.push(() => h.stop());
  const { port, opsPort } = h.bot;

  const live = await get(opsPort, '/livez');
  expect(live.status).toBe(200);
  expect(live.headers.get('content-type')).toBe('application/json');
  expect(await live.json()).toEqual({ status: 'alive' });
  expect((await get(opsPort, '/healthz')).status).toBe(503);
  expect((await get(opsPort, '/readyz')).status).toBe(503);
  // Only the probes' port serves it; a POST is not a probe.
  expect((await get(port, '/livez')).status).toBe(404);
  expect((await fetch(`http://127.0.0.1:${opsPort}/livez`, { method: 'POST' })).status).toBe(405);
});
