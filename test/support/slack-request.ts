/**
 * Builds and sends requests the way Slack sends them to an app's request URL: signed with the signing
 * secret, slash commands as form fields, interactions as a form field `payload` holding JSON.
 */
import { createHmac } from 'node:crypto';
import { FAKE_APP_ID, FAKE_TEAM_DOMAIN, FAKE_TEAM_ID } from '../fakes/fake-slack-server.js';

// Slack still sends the deprecated verification token; Bolt ignores it in favour of the signature.
const VERIFICATION_TOKEN = 'fake-verification-token';

export type SlackSignatureHeaders = { 'x-slack-signature': string; 'x-slack-request-timestamp': string };

/** Slack's v0 signature: HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret, hex-encoded. */
export function signSlackRequest(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const digest = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': String(timestamp) };
}

export interface SlashCommandInput {
  text: string;
  userId: string;
  userName?: string;
  channelId?: string;
  responseUrl: string;
  triggerId?: string;
}

/** The form-encoded body Slack posts for `/cache-access <text>`. */
export function slashCommandBody(input: SlashCommandInput): string {
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: FAKE_TEAM_ID,
    team_domain: FAKE_TEAM_DOMAIN,
    channel_id: input.channelId ?? 'C0GENERAL1',
    channel_name: 'general',
    user_id: input.userId,
    user_name: input.userName ?? input.userId.toLowerCase(),
    command: '/cache-access',
    text: input.text,
    api_app_id: FAKE_APP_ID,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? defaultTriggerId(),
  }).toString();
}

export interface BlockActionInput {
  userId: string;
  userName?: string;
  actionId: string;
  value: string;
  messageTs: string;
  channelId: string;
  responseUrl: string;
  triggerId?: string;
  blockId?: string;
  /** The message the button sits in, as Slack echoes it back (e.g. from fake.message()). */
  message?: { text?: string; blocks?: unknown[] };
}

/** The form-encoded body Slack posts when someone clicks a button in a message. */
export function blockActionBody(input: BlockActionInput): string {
  const userName = input.userName ?? input.userId.toLowerCase();
  const actionTs = (Date.now() / 1000).toFixed(6);
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, username: userName, name: userName, team_id: FAKE_TEAM_ID },
    api_app_id: FAKE_APP_ID,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: input.messageTs, channel_id: input.channelId, is_ephemeral: false },
    trigger_id: input.triggerId ?? defaultTriggerId(),
    team: { id: FAKE_TEAM_ID, domain: FAKE_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelId.startsWith('D') ? 'directmessage' : 'approvals' },
    message: {
      type: 'message',
      ts: input.messageTs,
      text: input.message?.text ?? '',
      blocks: input.message?.blocks ?? [],
    },
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: input.actionId,
        block_id: input.blockId ?? 'decision',
        value: input.value,
        action_ts: actionTs,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface PostOptions {
  contentType?: 'application/x-www-form-urlencoded' | 'application/json';
  /** Unix seconds for the signature; now when omitted. */
  timestamp?: number;
  /** Sign with the wrong secret, as a forged request would be. */
  badSignature?: boolean;
}

/** POSTs a signed body to an app endpoint such as http://127.0.0.1:<port>/slack/events. */
export async function postToSlackEndpoint(
  url: string,
  secret: string,
  body: string,
  options: PostOptions = {},
): Promise<{ status: number; text: string }> {
  const signingSecret = options.badSignature ? `${secret}-forged` : secret;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      ...signSlackRequest(signingSecret, body, options.timestamp),
    },
    body,
  });
  return { status: response.status, text: await response.text() };
}

let triggerCount = 0;
function defaultTriggerId(): string {
  triggerCount += 1;
  return `${triggerCount}.1234567890.abcdef${triggerCount}`;
}
