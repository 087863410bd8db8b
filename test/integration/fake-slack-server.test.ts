import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, validateBlocks, type FakeSlack } from '../fakes/fake-slack-server.js';
import { fakeSlackClient, quietSlackLogger } from '../support/slack-client.js';
import { blockActionBody, postToSlackEndpoint, slashCommandBody } from '../support/slack-request.js';

const { WebClient } = webApi;
type WebClient = webApi.WebClient;

let fake: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  fake = await startFakeSlack();
  client = fakeSlackClient(fake);
});
afterEach(() => fake.close());

/** The Slack error code a WebClient call failed with. */
async function slackError(call: Promise<unknown>): Promise<{ error: string; errors?: string[]; response_metadata?: any }> {
  const failure = await call.then(
    () => undefined,
    (error: { data?: any }) => error,
  );
  expect(failure, 'the call should have failed').toBeDefined();
  return failure!.data;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const button = (overrides: Record<string, unknown> = {}) => ({
  type: 'button',
  text: { type: 'plain_text', text: 'Go' },
  action_id: 'go',
  value: '1',
  ...overrides,
});
const confirm = (overrides: Record<string, unknown> = {}) => ({
  title: { type: 'plain_text', text: 'Sure?' },
  text: { type: 'plain_text', text: 'Really.' },
  confirm: { type: 'plain_text', text: 'Yes' },
  deny: { type: 'plain_text', text: 'No' },
  ...overrides,
});
const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });

describe('Web API emulation', () => {
  it('records each call with its token and arguments, blocks parsed back into objects', async () => {
    const blocks = [section('*hello*')];
    await client.chat.postMessage({ channel: 'C1', text: 'hello', blocks });
    expect(fake.calls).toEqual([
      { method: 'chat.postMessage', token: 'xoxb-test', body: expect.objectContaining({ channel: 'C1', text: 'hello', blocks }) },
    ]);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect(fake.callsTo('chat.update')).toEqual([]);
  });

  it('accepts JSON bodies with a bearer token as well as form bodies', async () => {
    const response = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-json' },
      body: JSON.stringify({ channel: 'C2', blocks: [section('json')] }),
    });
    expect(await response.json()).toMatchObject({ ok: true, channel: 'C2' });
    expect(fake.calls[0]).toEqual({ method: 'chat.postMessage', token: 'xoxb-json', body: { channel: 'C2', blocks: [section('json')] } });
  });

  it('answers auth.test as the bot', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({ ok: true, user_id: fake.botUserId, team_id: 'T0FAKE001', bot_id: expect.stringMatching(/^B/) });
  });

  it('gives each posted message a unique, increasing ts and keeps it for chat.update', async () => {
    const first = await client.chat.postMessage({ channel: 'C1', text: 'one' });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'two' });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(first.message).toMatchObject({ text: 'one', user: fake.botUserId, ts: first.ts });

    const updated = await client.chat.update({ channel: 'C1', ts: first.ts!, text: 'one, edited', blocks: [section('edited')] });
    expect(updated).toMatchObject({ ok: true, channel: 'C1', ts: first.ts });
    expect(fake.message('C1', first.ts!)).toMatchObject({ text: 'one, edited', blocks: [section('edited')] });
    expect(fake.message('C1', second.ts!)).toMatchObject({ text: 'two' });
  });

  it('refuses to update a message that was never posted', async () => {
    expect((await slackError(client.chat.update({ channel: 'C1', ts: '1.000000', text: 'x' }))).error).toBe('message_not_found');
  });

  it('refuses a message with neither text nor blocks', async () => {
    expect((await slackError(client.chat.postMessage({ channel: 'C1', text: '' }))).error).toBe('no_text');
  });

  it('posts ephemeral messages', async () => {
    const result = await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });
    expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
  });

  it('opens one DM channel per user and keeps it', async () => {
    const a1 = await client.conversations.open({ users: 'U1' });
    const b = await client.conversations.open({ users: 'U2' });
    const a2 = await client.conversations.open({ users: 'U1' });
    expect(a1.channel?.id).toMatch(/^D/);
    expect(a2.channel?.id).toBe(a1.channel?.id);
    expect(b.channel?.id).not.toBe(a1.channel?.id);
  });

  it('lists user group members as the test sets them, and refuses unknown groups', async () => {
    fake.setUsergroup('S123', ['U1', 'U2']);
    expect((await client.usergroups.users.list({ usergroup: 'S123' })).users).toEqual(['U1', 'U2']);
    fake.setUsergroup('S123', ['U3']);
    expect((await client.usergroups.users.list({ usergroup: 'S123' })).users).toEqual(['U3']);
    expect((await slackError(client.usergroups.users.list({ usergroup: 'S404' }))).error).toBe('no_such_subteam');
  });

  it('takes initial user groups from its options', async () => {
    const other = await startFakeSlack({ usergroups: { S9: ['U9'] } });
    try {
      const otherClient = new WebClient('xoxb-test', { slackApiUrl: other.apiUrl, retryConfig: { retries: 0 } });
      expect((await otherClient.usergroups.users.list({ usergroup: 'S9' })).users).toEqual(['U9']);
    } finally {
      await other.close();
    }
  });

  it('describes users', async () => {
    expect((await client.users.info({ user: 'U1' })).user).toMatchObject({ id: 'U1', deleted: false, is_bot: false });
    expect((await slackError(client.users.info({ user: 'nobody' }))).error).toBe('user_not_found');
  });

  it('opens, publishes and updates views', async () => {
    const modal = { type: 'modal' as const, title: plain('Request access'), blocks: [section('hi')] };
    const opened = await client.views.open({ trigger_id: '1.2.3', view: modal as any });
    expect(opened.view).toMatchObject({ id: expect.stringMatching(/^V/), type: 'modal' });
    const updated = await client.views.update({ view_id: opened.view!.id!, view: { ...modal, blocks: [section('bye')] } as any });
    expect(updated.view).toMatchObject({ id: opened.view!.id, blocks: [section('bye')] });
    const home = await client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [section('home')] } as any });
    expect(home.ok).toBe(true);
    expect((await slackError(client.views.update({ view_id: 'V404', view: modal as any }))).error).toBe('not_found');
  });

  it('rejects an invalid view as Slack does: invalid_arguments with the details in response metadata', async () => {
    const view = { type: 'modal', title: plain('A title far longer than twenty-four'), blocks: [section('x')] };
    const failure = await slackError(client.views.open({ trigger_id: '1.2.3', view: view as any }));
    expect(failure.error).toBe('invalid_arguments');
    expect(failure.response_metadata.messages).toEqual(['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]']);
    const home = await slackError(client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: Array(101).fill({ type: 'divider' }) } as any }));
    expect(home.response_metadata.messages).toEqual(['[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]']);
  });

  it('answers unknown methods with unknown_method and unauthenticated calls with not_authed', async () => {
    expect((await slackError(client.apiCall('chat.fly', {}))).error).toBe('unknown_method');
    const response = await fetch(`${fake.apiUrl}auth.test`, { method: 'POST' });
    expect(await response.json()).toEqual({ ok: false, error: 'not_authed' });
  });
});

describe('failNext', () => {
  it('fails the next call to a method once, with Slack error and HTTP status, then recovers', async () => {
    fake.failNext('chat.postMessage', 'channel_not_found');
    expect((await slackError(client.chat.postMessage({ channel: 'C1', text: 'x' }))).error).toBe('channel_not_found');
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(fake.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('rate-limits with 429 and Retry-After', async () => {
    fake.failNext('chat.postMessage', 'ratelimited', { status: 429, retryAfter: 1 });
    const failure = await client.chat.postMessage({ channel: 'C1', text: 'x' }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 1 });
    const raw = await fetch(`${fake.apiUrl}chat.postMessage`, { method: 'POST' });
    expect(raw.status).toBe(200);
  });

  it('queues several failures in order and leaves other methods alone', async () => {
    fake.failNext('chat.update', 'internal_error', { status: 500 });
    fake.failNext('chat.update', 'ratelimited');
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    const first = await client.chat.update({ channel: 'C1', ts: '1.1', text: 'x' }).catch((error: unknown) => error);
    expect(first).toMatchObject({ code: 'slack_webapi_http_error', statusCode: 500 });
    expect((await slackError(client.chat.update({ channel: 'C1', ts: '1.1', text: 'x' }))).error).toBe('ratelimited');
    expect((await slackError(client.chat.update({ channel: 'C1', ts: '1.1', text: 'x' }))).error).toBe('message_not_found');
  });
});

describe('waiting and response URLs', () => {
  it('waitFor resolves on a call made later, by method or predicate', async () => {
    const byMethod = fake.waitFor('chat.postMessage');
    const byPredicate = fake.waitFor((call) => call.body.channel === 'C7');
    setTimeout(() => void client.chat.postMessage({ channel: 'C7', text: 'late' }), 30);
    expect((await byMethod).body.text).toBe('late');
    expect((await byPredicate).method).toBe('chat.postMessage');
  });

  it('waitFor rejects after the timeout, listing the calls it saw', async () => {
    await client.auth.test();
    await client.chat.postMessage({ channel: 'C1', text: 'x' });
    await expect(fake.waitFor('chat.update', { timeoutMs: 50 })).rejects.toThrow(
      /waiting for chat\.update; calls seen: auth\.test, chat\.postMessage\(C1\)/,
    );
  });

  it('records JSON posted to a response URL', async () => {
    const url = fake.responseUrl('cmd-1');
    expect(url).toBe(`${fake.url}/response/cmd-1`);
    expect(fake.responseUrl()).not.toBe(fake.responseUrl());
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'done' }) });
    expect(fake.responses).toEqual([{ name: 'cmd-1', body: { text: 'done' } }]);
    await expect(fake.waitForResponse('cmd-1')).resolves.toMatchObject({ body: { text: 'done' } });
    await expect(fake.waitForResponse('cmd-2', { timeoutMs: 30 })).rejects.toThrow(/posts seen: cmd-1/);
  });
});

describe('Block Kit validation', () => {
  const long = (n: number) => 'x'.repeat(n);
  const invalid: Array<[string, unknown[], string]> = [
    ['more than 50 blocks', Array(51).fill({ type: 'divider' }), 'no more than 50 items allowed [json-pointer:/blocks]'],
    ['section text over 3000', [section(long(3001))], 'must be less than 3001 characters [json-pointer:/blocks/0/text/text]'],
    ['empty text', [{ type: 'divider' }, section('')], 'must be more than 0 characters [json-pointer:/blocks/1/text/text]'],
    ['text object without a valid type', [{ type: 'section', text: { type: 'html', text: 'x' } }], 'unsupported type: html [json-pointer:/blocks/0/text/type]'],
    ['section without text or fields', [{ type: 'section' }], 'must define either `text` or `fields` [json-pointer:/blocks/0]'],
    ['more than 10 fields', [{ type: 'section', fields: Array(11).fill(mrkdwn('f')) }], 'no more than 10 items allowed [json-pointer:/blocks/0/fields]'],
    ['a field over 2000', [{ type: 'section', fields: [mrkdwn('a'), mrkdwn(long(2001))] }], 'must be less than 2001 characters [json-pointer:/blocks/0/fields/1/text]'],
    ['header over 150', [{ type: 'header', text: plain(long(151)) }], 'must be less than 151 characters [json-pointer:/blocks/0/text/text]'],
    ['header in mrkdwn', [{ type: 'header', text: mrkdwn('h') }], 'must be a plain_text text object [json-pointer:/blocks/0/text/type]'],
    ['more than 10 context elements', [{ type: 'context', elements: Array(11).fill(mrkdwn('c')) }], 'no more than 10 items allowed [json-pointer:/blocks/0/elements]'],
    ['more than 25 actions', [{ type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button({ action_id: `a${i}` })) }], 'no more than 25 items allowed [json-pointer:/blocks/0/elements]'],
    ['button text over 75', [{ type: 'actions', elements: [button({ text: plain(long(76)) })] }], 'must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]'],
    ['button style not primary or danger', [{ type: 'actions', elements: [button({ style: 'green' })] }], 'must be one of primary, danger [json-pointer:/blocks/0/elements/0/style]'],
    ['button value over 2000', [{ type: 'actions', elements: [button({ value: long(2001) })] }], 'must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]'],
    ['action_id over 255', [{ type: 'actions', elements: [button({ action_id: long(256) })] }], 'must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]'],
    ['block_id over 255', [{ type: 'divider', block_id: long(256) }], 'must be less than 256 characters [json-pointer:/blocks/0/block_id]'],
    ['confirm title over 100', [{ type: 'actions', elements: [button({ confirm: confirm({ title: plain(long(101)) }) })] }], 'must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title/text]'],
    ['confirm text over 300', [{ type: 'actions', elements: [button({ confirm: confirm({ text: mrkdwn(long(301)) }) })] }], 'must be less than 301 characters [json-pointer:/blocks/0/elements/0/confirm/text/text]'],
    ['confirm button over 30', [{ type: 'actions', elements: [button({ confirm: confirm({ confirm: plain(long(31)) }) })] }], 'must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/confirm/text]'],
    ['confirm deny over 30', [{ type: 'actions', elements: [button({ confirm: confirm({ deny: plain(long(31)) }) })] }], 'must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/deny/text]'],
    ['duplicate block_id', [{ type: 'divider', block_id: 'b' }, { type: 'divider', block_id: 'b' }], 'duplicate block_id "b" [json-pointer:/blocks/1/block_id]'],
    ['duplicate action_id', [{ type: 'actions', elements: [button(), button()] }], 'duplicate action_id "go" [json-pointer:/blocks/0/elements/1/action_id]'],
    ['unknown block type', [{ type: 'banner' }], 'unsupported type: banner [json-pointer:/blocks/0/type]'],
    ['unknown element type', [{ type: 'actions', elements: [{ type: 'slider', action_id: 's' }] }], 'unsupported type: slider [json-pointer:/blocks/0/elements/0/type]'],
  ];

  it.each(invalid)('rejects %s with invalid_blocks and a json-pointer', async (_, blocks, expected) => {
    const failure = await slackError(client.chat.postMessage({ channel: 'C1', text: 'fallback', blocks: blocks as any }));
    expect(failure.error).toBe('invalid_blocks');
    expect(failure.errors).toContain(expected);
    expect(failure.response_metadata.messages).toContain(`[ERROR] ${expected}`);
  });

  it('accepts everything exactly at the limits', () => {
    const atLimits = [
      { type: 'header', text: plain(long(150)) },
      section(long(3000)),
      { type: 'section', fields: Array(10).fill(mrkdwn(long(2000))) },
      { type: 'context', elements: Array(10).fill(mrkdwn('c')) },
      {
        type: 'actions',
        block_id: long(255),
        elements: [
          button({ text: plain(long(75)), value: long(2000), action_id: long(255), style: 'primary' }),
          button({ action_id: 'other', style: 'danger', confirm: confirm({ title: plain(long(100)), text: mrkdwn(long(300)), confirm: plain(long(30)), deny: plain(long(30)) }) }),
          ...Array.from({ length: 23 }, (_, i) => button({ action_id: `a${i}` })),
        ],
      },
      ...Array(45).fill({ type: 'divider' }),
    ];
    expect(atLimits).toHaveLength(50);
    expect(validateBlocks(atLimits)).toEqual([]);
  });

  it('applies the limits to chat.update and chat.postEphemeral too, and allows 100 blocks in a view', async () => {
    const tooLong = [section(long(3001))];
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'ok' });
    expect((await slackError(client.chat.update({ channel: 'C1', ts: posted.ts!, blocks: tooLong as any }))).error).toBe('invalid_blocks');
    expect((await slackError(client.chat.postEphemeral({ channel: 'C1', user: 'U1', blocks: tooLong as any }))).error).toBe('invalid_blocks');
    expect(validateBlocks(Array(100).fill({ type: 'divider' }), 'view')).toEqual([]);
  });
});

describe('driving Bolt as Slack does', () => {
  const secret = 'test-signing-secret';
  let app: App;
  let endpoint: string;

  beforeEach(async () => {
    app = new App({ token: 'xoxb-test', signingSecret: secret, clientOptions: { slackApiUrl: fake.apiUrl }, logger: quietSlackLogger });
    app.command('/cache-access', async ({ ack, command, respond }) => {
      await ack();
      await respond({ text: `heard ${command.text} from ${command.user_id}` });
    });
    app.action('approve', async ({ ack, body, action, client: boltClient, respond }) => {
      await ack();
      const value = action.type === 'button' ? action.value : '';
      await boltClient.chat.postMessage({ channel: body.user.id, text: `approving ${value}` });
      await respond({ text: 'noted', replace_original: false });
    });
    const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterEach(() => app.stop());

  it('a signed slash command reaches the listener, which answers through the response URL', async () => {
    const responseUrl = fake.responseUrl('command');
    const body = slashCommandBody({ text: 'orders-redis sg-0123abcd 2h', userId: 'U1', responseUrl });
    expect(await postToSlackEndpoint(endpoint, secret, body)).toMatchObject({ status: 200 });
    const response = await fake.waitForResponse('command');
    expect(response.body).toMatchObject({ text: 'heard orders-redis sg-0123abcd 2h from U1' });
  });

  it('a signed button click reaches the action listener with the clicking user and the value', async () => {
    const responseUrl = fake.responseUrl('click');
    const body = blockActionBody({ userId: 'U2', actionId: 'approve', value: '42', messageTs: '1700000000.000100', channelId: 'C1', responseUrl });
    expect((await postToSlackEndpoint(endpoint, secret, body)).status).toBe(200);
    const posted = await fake.waitFor('chat.postMessage');
    expect(posted).toMatchObject({ token: 'xoxb-test', body: { channel: 'U2', text: 'approving 42' } });
    expect((await fake.waitForResponse('click')).body).toMatchObject({ text: 'noted' });
  });

  it('Bolt refuses a forged signature and a stale timestamp', async () => {
    const body = slashCommandBody({ text: 'x', userId: 'U1', responseUrl: fake.responseUrl() });
    expect((await postToSlackEndpoint(endpoint, secret, body, { badSignature: true })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 10 * 60;
    expect((await postToSlackEndpoint(endpoint, secret, body, { timestamp: stale })).status).toBe(401);
    expect(fake.responses).toEqual([]);
  });
});
