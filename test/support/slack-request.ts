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
  /** Where the command was typed: FAKE_TEAM_ID unless a test says otherwise. */
  teamId?: string;
  enterpriseId?: string;
}

/** The form-encoded body Slack posts for `/cache-access <text>`. */
export function slashCommandBody(input: SlashCommandInput): string {
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: input.teamId ?? FAKE_TEAM_ID,
    team_domain: FAKE_TEAM_DOMAIN,
    ...(input.enterpriseId ? { enterprise_id: input.enterpriseId } : {}),
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
  /** The clicker's workspace: FAKE_TEAM_ID unless a test says otherwise. */
  teamId?: string;
}

/** The form-encoded body Slack posts when someone clicks a button in a message. */
export function blockActionBody(input: BlockActionInput): string {
  const userName = input.userName ?? input.userId.toLowerCase();
  const actionTs = (Date.now() / 1000).toFixed(6);
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, username: userName, name: userName, team_id: input.teamId ?? FAKE_TEAM_ID },
    api_app_id: FAKE_APP_ID,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: input.messageTs, channel_id: input.channelId, is_ephemeral: false },
    trigger_id: input.triggerId ?? defaultTriggerId(),
    team: { id: input.teamId ?? FAKE_TEAM_ID, domain: FAKE_TEAM_DOMAIN },
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

export interface ViewSubmissionInput {
  userId: string;
  userName?: string;
  /** The view as views.open stored it (id, hash, callback_id, blocks). */
  view: Record<string, unknown>;
  /** block_id → action_id → state, as Slack sends it, e.g. { source: { source: { type: 'plain_text_input', value: 'sg-…' } } }. */
  values: Record<string, Record<string, Record<string, unknown>>>;
}

/** The form-encoded body Slack posts when someone submits a modal. */
export function viewSubmissionBody(input: ViewSubmissionInput): string {
  const userName = input.userName ?? input.userId.toLowerCase();
  const payload = {
    type: 'view_submission',
    team: { id: FAKE_TEAM_ID, domain: FAKE_TEAM_DOMAIN },
    user: { id: input.userId, username: userName, name: userName, team_id: FAKE_TEAM_ID },
    api_app_id: FAKE_APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: defaultTriggerId(),
    view: { ...input.view, state: { values: input.values } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The form-encoded body Slack posts when someone clicks a button in a view (the Home tab): no response_url. */
export function viewActionBody(input: { userId: string; actionId: string; value: string; view: Record<string, unknown> }): string {
  return viewElementActionBody({
    userId: input.userId,
    view: input.view,
    action: { type: 'button', action_id: input.actionId, block_id: 'home', value: input.value },
  });
}

export interface ViewElementActionInput {
  userId: string;
  /** The view as the fake stored it (id, hash, callback_id, blocks). */
  view: Record<string, unknown>;
  /** The element's action as Slack reports it, e.g. { type: 'static_select', action_id, block_id, selected_option }. */
  action: Record<string, unknown>;
  /** The view's input state, block_id → action_id → state (empty when omitted). */
  values?: ViewSubmissionInput['values'];
}

/**
 * The form-encoded body Slack posts when an element of a view acts: a button in the Home tab, or a
 * menu of a modal input block with dispatch_action. The view comes with its state; no response_url.
 */
export function viewElementActionBody(input: ViewElementActionInput): string {
  const userName = input.userId.toLowerCase();
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, username: userName, name: userName, team_id: FAKE_TEAM_ID },
    api_app_id: FAKE_APP_ID,
    token: VERIFICATION_TOKEN,
    container: { type: 'view', view_id: input.view.id },
    trigger_id: defaultTriggerId(),
    team: { id: FAKE_TEAM_ID, domain: FAKE_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    view: { ...input.view, state: { values: input.values ?? {} } },
    actions: [{ ...input.action, action_ts: (Date.now() / 1000).toFixed(6) }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

let eventCount = 0;

/** The JSON body of an Events API delivery, e.g. { type: 'app_home_opened', user, tab: 'home' }. */
export function eventCallbackBody(event: Record<string, unknown>): string {
  eventCount += 1;
  return JSON.stringify({
    token: VERIFICATION_TOKEN,
    team_id: FAKE_TEAM_ID,
    api_app_id: FAKE_APP_ID,
    event: { event_ts: (Date.now() / 1000).toFixed(6), ...event },
    type: 'event_callback',
    event_id: `Ev${String(eventCount).padStart(9, '0')}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: FAKE_TEAM_ID, user_id: 'U0BOT00001', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  });
}
