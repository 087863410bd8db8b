/**
 * A fake Slack Web API over real HTTP, for tests that drive Bolt or a WebClient as they run in production.
 * It answers the methods cache-access uses, records every call, and rejects Block Kit payloads that real
 * Slack rejects (limits in test/fixtures/blockkit-limits.json), so a message that would bounce in a
 * workspace fails here too.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import limits from '../fixtures/blockkit-limits.json' with { type: 'json' };

export const FAKE_TEAM_ID = 'T0FAKE001';
export const FAKE_TEAM_DOMAIN = 'fake-workspace';
export const FAKE_APP_ID = 'A0CACHE001';

export interface FakeSlackOptions {
  botUserId?: string;
  botId?: string;
  teamId?: string;
  /** Initial user group memberships, as setUsergroup would set them. */
  usergroups?: Record<string, string[]>;
  /** The WebSocket URL apps.connections.open hands out (Socket Mode); without it the call fails. */
  socketModeUrl?: string;
}

export interface RecordedCall {
  method: string;
  /** The arguments, with JSON-encoded form fields (blocks, view, …) parsed back into objects. */
  body: Record<string, unknown>;
  token: string | undefined;
}

export interface RecordedResponse {
  /** The last path segment of the response_url. */
  name: string;
  body: Record<string, unknown>;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
}

export interface FailureOptions {
  /** HTTP status; Slack sends 200 for API errors and 429 for rate limiting. */
  status?: number;
  /** Seconds, sent as the Retry-After header. */
  retryAfter?: number;
}

export interface WaitOptions {
  timeoutMs?: number;
}

export interface FakeSlack {
  /** Base URL of the server, without a trailing slash. */
  readonly url: string;
  /** `${url}/api/`, for WebClient's and Bolt's `slackApiUrl`. */
  readonly apiUrl: string;
  readonly botUserId: string;
  readonly calls: RecordedCall[];
  readonly responses: RecordedResponse[];
  /** Views as opened, published or updated (with the id and hash Slack gave them), by view id. */
  readonly views: ReadonlyMap<string, Record<string, unknown>>;
  callsTo(method: string): RecordedCall[];
  /** Resolves with the first call (already made or still to come) that matches; rejects listing the calls seen. */
  waitFor(match: string | ((call: RecordedCall) => boolean), options?: WaitOptions): Promise<RecordedCall>;
  /** Like waitFor, for posts to response URLs; matches by name or predicate (any post when omitted). */
  waitForResponse(match?: string | ((response: RecordedResponse) => boolean), options?: WaitOptions): Promise<RecordedResponse>;
  /** A response_url that records what is posted to it; a fresh name unless one is given. */
  responseUrl(name?: string): string;
  /** The current state of a posted message (after any chat.update), or undefined. */
  message(channel: string, ts: string): StoredMessage | undefined;
  setUsergroup(id: string, userIds: string[]): void;
  /** The next call to `method` fails with `error` (queued: call several times for several failures). */
  failNext(method: string, error: string, options?: FailureOptions): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Block Kit validation

type Surface = 'message' | 'view';

const LIMIT = {
  messageBlocks: limits['message.blocks.maxItems'].value,
  viewBlocks: limits['view.blocks.maxItems (modal/home)'].value,
  blockId: limits['block_id.maxChars'].value,
  sectionText: limits['section.text.chars'].max,
  sectionFields: limits['section.fields.maxItems'].value,
  fieldText: limits['section.fields[].text.maxChars'].value,
  headerText: limits['header.text.maxChars (plain_text only)'].value,
  contextElements: limits['context.elements.maxItems'].value,
  actionsElements: limits['actions.elements.maxItems'].value,
  inputLabel: limits['input.label.maxChars / input.hint.maxChars'].value,
  imageAlt: limits['image.alt_text.maxChars'].value,
  imageUrl: limits['image.image_url.maxChars'].value,
  markdownText: limits['markdown_block.text.maxChars'].value,
  textMin: limits['text_object.text.minChars'].value,
  // The text object's own ceiling, stated with its minimum in the same source.
  textMax: limits['section.text.chars'].max,
  buttonText: limits['button.text.maxChars (plain_text)'].value,
  buttonValue: limits['button.value.maxChars'].value,
  buttonUrl: limits['button.url.maxChars'].value,
  buttonLabel: limits['button.accessibility_label.maxChars'].value,
  buttonStyles: limits['button.style'].enum,
  actionId: limits['action_id.maxChars'].value,
  placeholder: limits['placeholder.text.maxChars'].value,
  confirm: limits['confirm.title/text/confirm/deny.maxChars'].value,
  optionText: limits['option.text.maxChars'].value,
  // The sources disagree (75 vs 150); the fixture notes the docs say 150.
  optionValue: 150,
  options: limits['static_select.options / option_groups.maxItems'].value,
  overflow: limits['overflow.options.items'],
  viewTitle: limits['view.title / submit / close .maxChars'].value,
  privateMetadata: limits['view.private_metadata.maxChars'].value,
  callbackId: limits['view.callback_id.maxChars'].value,
  externalId: limits['view.external_id.maxChars'].value,
};

const BLOCK_TYPES = new Set([
  'actions', 'alert', 'card', 'carousel', 'context', 'context_actions', 'divider', 'file', 'header', 'image',
  'input', 'markdown', 'rich_text', 'section', 'table', 'task_card', 'plan', 'video',
]);

/** Elements with an action_id, beyond buttons; checked for the shared fields only. */
const INTERACTIVE_ELEMENTS = new Set([
  'checkboxes', 'datepicker', 'datetimepicker', 'email_text_input', 'file_input', 'number_input', 'overflow',
  'plain_text_input', 'radio_buttons', 'rich_text_input', 'timepicker', 'url_text_input', 'workflow_button',
  'static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select',
  'multi_static_select', 'multi_external_select', 'multi_users_select', 'multi_conversations_select',
  'multi_channels_select', 'feedback_buttons', 'icon_button',
]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects errors in Slack's wording: "<problem> [json-pointer:/blocks/3/text/text]". */
class Checker {
  readonly errors: string[] = [];
  private readonly blockIds = new Set<string>();
  // Slack wants action_ids unique within their containing block only (@slack/types Actionable.action_id).
  private actionIds = new Set<string>();

  fail(problem: string, pointer: string): void {
    this.errors.push(`${problem} [json-pointer:${pointer}]`);
  }

  /** Checks an optional string's length; a missing value passes unless `required`. */
  length(parent: Json, key: string, pointer: string, max: number, { min = 0, required = false } = {}): void {
    const value = parent[key];
    if (value === undefined) {
      if (required) this.fail(`missing required field: ${key}`, pointer);
      return;
    }
    if (typeof value !== 'string') return this.fail('must be a string', `${pointer}/${key}`);
    if (value.length < min) this.fail(`must be more than ${min - 1} characters`, `${pointer}/${key}`);
    if (value.length > max) this.fail(`must be less than ${max + 1} characters`, `${pointer}/${key}`);
  }

  items(parent: Json, key: string, pointer: string, { min = 0, max }: { min?: number; max: number }): unknown[] {
    const value = parent[key];
    if (value === undefined) {
      if (min > 0) this.fail(`missing required field: ${key}`, pointer);
      return [];
    }
    if (!Array.isArray(value)) {
      this.fail('must provide an array', `${pointer}/${key}`);
      return [];
    }
    if (value.length < min) this.fail(`must provide at least ${min} items`, `${pointer}/${key}`);
    if (value.length > max) this.fail(`no more than ${max} items allowed`, `${pointer}/${key}`);
    return value;
  }

  text(parent: Json, key: string, pointer: string, max: number, { plainOnly = false, required = true } = {}): void {
    const value = parent[key];
    const at = `${pointer}/${key}`;
    if (value === undefined) {
      if (required) this.fail(`missing required field: ${key}`, pointer);
      return;
    }
    if (!isObject(value)) return this.fail('must provide an object', at);
    if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
      return this.fail(`unsupported type: ${String(value.type)}`, `${at}/type`);
    }
    if (plainOnly && value.type !== 'plain_text') this.fail('must be a plain_text text object', `${at}/type`);
    this.length(value, 'text', at, max, { min: LIMIT.textMin, required: true });
  }

  blockId(block: Json, pointer: string): void {
    this.length(block, 'block_id', pointer, LIMIT.blockId);
    const id = block.block_id;
    if (typeof id !== 'string') return;
    if (this.blockIds.has(id)) this.fail(`duplicate block_id "${id}"`, `${pointer}/block_id`);
    this.blockIds.add(id);
  }

  actionId(element: Json, pointer: string): void {
    this.length(element, 'action_id', pointer, LIMIT.actionId);
    const id = element.action_id;
    if (typeof id !== 'string') return;
    if (this.actionIds.has(id)) this.fail(`duplicate action_id "${id}"`, `${pointer}/action_id`);
    this.actionIds.add(id);
  }

  confirm(element: Json, pointer: string): void {
    const dialog = element.confirm;
    if (dialog === undefined) return;
    const at = `${pointer}/confirm`;
    if (!isObject(dialog)) return this.fail('must provide an object', at);
    const [title, text, confirm, deny] = LIMIT.confirm as [number, number, number, number];
    this.text(dialog, 'title', at, title, { plainOnly: true });
    this.text(dialog, 'text', at, text);
    this.text(dialog, 'confirm', at, confirm, { plainOnly: true });
    this.text(dialog, 'deny', at, deny, { plainOnly: true });
    if (dialog.style !== undefined && !LIMIT.buttonStyles.includes(String(dialog.style))) {
      this.fail(`must be one of ${LIMIT.buttonStyles.join(', ')}`, `${at}/style`);
    }
  }

  image(element: Json, pointer: string): void {
    if (element.image_url === undefined && element.slack_file === undefined) {
      this.fail('must define either `image_url` or `slack_file`', pointer);
    }
    this.length(element, 'image_url', pointer, LIMIT.imageUrl);
    this.length(element, 'alt_text', pointer, LIMIT.imageAlt, { min: 1, required: true });
  }

  options(element: Json, pointer: string): void {
    const range = element.type === 'overflow' ? LIMIT.overflow : { min: 0, max: LIMIT.options };
    this.items(element, 'options', pointer, range).forEach((option, i) => {
      const at = `${pointer}/options/${i}`;
      if (!isObject(option)) return this.fail('must provide an object', at);
      this.text(option, 'text', at, LIMIT.optionText);
      this.length(option, 'value', at, LIMIT.optionValue, { required: true });
    });
  }

  element(element: unknown, pointer: string, allowImage: boolean): void {
    if (!isObject(element)) return this.fail('must provide an object', pointer);
    const type = element.type;
    if (type === 'image' && allowImage) return this.image(element, pointer);
    if (type === 'button') {
      this.text(element, 'text', pointer, LIMIT.buttonText, { plainOnly: true });
      this.actionId(element, pointer);
      this.length(element, 'value', pointer, LIMIT.buttonValue);
      this.length(element, 'url', pointer, LIMIT.buttonUrl);
      this.length(element, 'accessibility_label', pointer, LIMIT.buttonLabel);
      if (element.style !== undefined && !LIMIT.buttonStyles.includes(String(element.style))) {
        this.fail(`must be one of ${LIMIT.buttonStyles.join(', ')}`, `${pointer}/style`);
      }
      return this.confirm(element, pointer);
    }
    if (typeof type === 'string' && INTERACTIVE_ELEMENTS.has(type)) {
      this.actionId(element, pointer);
      this.text(element, 'placeholder', pointer, LIMIT.placeholder, { plainOnly: true, required: false });
      if (element.options !== undefined) this.options(element, pointer);
      return this.confirm(element, pointer);
    }
    this.fail(`unsupported type: ${String(type)}`, `${pointer}/type`);
  }

  block(block: unknown, pointer: string): void {
    if (!isObject(block)) return this.fail('must provide an object', pointer);
    const type = block.type;
    if (typeof type !== 'string' || !BLOCK_TYPES.has(type)) {
      return this.fail(`unsupported type: ${String(type)}`, `${pointer}/type`);
    }
    this.blockId(block, pointer);
    this.actionIds = new Set();
    switch (type) {
      case 'section':
        if (block.text === undefined && block.fields === undefined) {
          this.fail('must define either `text` or `fields`', pointer);
        }
        this.text(block, 'text', pointer, LIMIT.sectionText, { required: false });
        this.items(block, 'fields', pointer, { min: 0, max: LIMIT.sectionFields }).forEach((_, i) =>
          this.text(block.fields as Json, String(i), `${pointer}/fields`, LIMIT.fieldText),
        );
        if (block.accessory !== undefined) this.element(block.accessory, `${pointer}/accessory`, true);
        return;
      case 'header':
        return this.text(block, 'text', pointer, LIMIT.headerText, { plainOnly: true });
      case 'context':
        return this.items(block, 'elements', pointer, { min: 1, max: LIMIT.contextElements }).forEach((element, i) => {
          const at = `${pointer}/elements/${i}`;
          if (isObject(element) && element.type === 'image') return this.image(element, at);
          this.text(block.elements as Json, String(i), `${pointer}/elements`, LIMIT.textMax);
        });
      case 'actions':
        return this.items(block, 'elements', pointer, { min: 1, max: LIMIT.actionsElements }).forEach((element, i) =>
          this.element(element, `${pointer}/elements/${i}`, false),
        );
      case 'image':
        this.image(block, pointer);
        return this.text(block, 'title', pointer, LIMIT.imageAlt, { plainOnly: true, required: false });
      case 'input':
        this.text(block, 'label', pointer, LIMIT.inputLabel, { plainOnly: true });
        this.text(block, 'hint', pointer, LIMIT.inputLabel, { plainOnly: true, required: false });
        if (block.element === undefined) return this.fail('missing required field: element', pointer);
        return this.element(block.element, `${pointer}/element`, false);
      case 'markdown':
        return this.length(block, 'text', pointer, LIMIT.markdownText, { min: 1, required: true });
      case 'rich_text':
        this.items(block, 'elements', pointer, { min: 1, max: Number.MAX_SAFE_INTEGER });
        return;
      default:
        // Other known blocks (divider, file, video, …) carry nothing cache-access would get wrong.
        return;
    }
  }

  blocks(value: unknown, pointer: string, surface: Surface): void {
    if (!Array.isArray(value)) return this.fail('must provide an array', pointer);
    const max = surface === 'message' ? LIMIT.messageBlocks : LIMIT.viewBlocks;
    if (value.length > max) this.fail(`no more than ${max} items allowed`, pointer);
    value.forEach((block, i) => this.block(block, `${pointer}/${i}`));
  }
}

/** Errors real Slack would report for these message blocks; empty when they are valid. */
export function validateBlocks(blocks: unknown, surface: Surface = 'message'): string[] {
  const checker = new Checker();
  checker.blocks(blocks, '/blocks', surface);
  return checker.errors;
}

/** Errors real Slack would report for a modal or Home tab view; empty when it is valid. */
export function validateView(view: unknown): string[] {
  const checker = new Checker();
  if (!isObject(view)) {
    checker.fail('must provide an object', '/view');
    return checker.errors;
  }
  if (view.type !== 'modal' && view.type !== 'home') checker.fail(`unsupported type: ${String(view.type)}`, '/view/type');
  if (view.type === 'modal') checker.text(view, 'title', '/view', LIMIT.viewTitle, { plainOnly: true });
  checker.text(view, 'submit', '/view', LIMIT.viewTitle, { plainOnly: true, required: false });
  checker.text(view, 'close', '/view', LIMIT.viewTitle, { plainOnly: true, required: false });
  checker.length(view, 'private_metadata', '/view', LIMIT.privateMetadata);
  checker.length(view, 'callback_id', '/view', LIMIT.callbackId);
  checker.length(view, 'external_id', '/view', LIMIT.externalId);
  checker.blocks(view.blocks, '/view/blocks', 'view');
  const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
  if (view.type === 'modal' && hasInput && view.submit === undefined) {
    checker.fail('must define `submit` to use an `input` block in modals', '/view');
  }
  return checker.errors;
}

// ---------------------------------------------------------------------------------------------------
// The server

/** Form fields WebClient JSON-encodes because their values are objects or arrays. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata', 'unfurls', 'user_auth_blocks']);

class ApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Json = {},
  ) {
    super(error);
  }
}

function invalidBlocks(errors: string[]): ApiError {
  return new ApiError('invalid_blocks', { errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } });
}

function invalidView(errors: string[]): ApiError {
  // Slack reports view problems as invalid_arguments, with the details only in the response metadata.
  return new ApiError('invalid_arguments', { response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseArguments(raw: string, contentType: string | undefined, query: URLSearchParams): Json {
  const args: Json = Object.fromEntries(query);
  if (raw === '') return args;
  if (contentType?.startsWith('application/json')) {
    const parsed: unknown = JSON.parse(raw);
    if (!isObject(parsed)) throw new ApiError('invalid_json');
    return { ...args, ...parsed };
  }
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] = JSON_FIELDS.has(key) ? parseJsonField(value) : value;
  }
  return args;
}

function parseJsonField(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function requireString(args: Json, key: string, error: string): string {
  const value = args[key];
  if (typeof value !== 'string' || value === '') throw new ApiError(error);
  return value;
}

function describeCall(call: RecordedCall): string {
  const channel = typeof call.body.channel === 'string' ? `(${call.body.channel})` : '';
  return `${call.method}${channel}`;
}

async function poll<T>(find: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() >= deadline) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const botUserId = options.botUserId ?? 'U0BOT00001';
  const botId = options.botId ?? 'B0BOT00001';
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const usergroups = new Map(Object.entries(options.usergroups ?? {}));
  const calls: RecordedCall[] = [];
  const responses: RecordedResponse[] = [];
  const failures = new Map<string, Array<{ error: string; options: FailureOptions }>>();
  const messages = new Map<string, StoredMessage>();
  const dmChannels = new Map<string, string>();
  const views = new Map<string, Json>();
  let messageCount = 0;
  let responseCount = 0;

  /** Unique, increasing message timestamps in Slack's "seconds.micros" form, 100 µs apart. */
  const nextTs = (): string => {
    messageCount += 1;
    const micros = messageCount * 100;
    return `${1_700_000_000 + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };

  const messageKey = (channel: string, ts: string) => `${channel}/${ts}`;

  const checkMessageContent = (args: Json): void => {
    const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
    const hasText = typeof args.text === 'string' && args.text !== '';
    if (!hasText && !hasBlocks && args.attachments === undefined) throw new ApiError('no_text');
    if (args.blocks !== undefined) {
      const errors = validateBlocks(args.blocks, 'message');
      if (errors.length > 0) throw invalidBlocks(errors);
    }
  };

  const messageBody = (stored: StoredMessage): Json => ({
    type: 'message',
    text: stored.text ?? '',
    user: botUserId,
    bot_id: botId,
    team: teamId,
    ts: stored.ts,
    ...(stored.blocks ? { blocks: stored.blocks } : {}),
    ...(stored.thread_ts ? { thread_ts: stored.thread_ts } : {}),
  });

  const storeView = (view: Json, extra: Json): Json => {
    const errors = validateView(view);
    if (errors.length > 0) throw invalidView(errors);
    const id = typeof extra.id === 'string' ? extra.id : `V${String(views.size + 1).padStart(9, '0')}`;
    const stored = { ...view, ...extra, id, team_id: teamId, app_id: FAKE_APP_ID, bot_id: botId, hash: `${Date.now()}.${id}` };
    views.set(id, stored);
    return stored;
  };

  const methods: Record<string, (args: Json) => Json> = {
    'apps.connections.open': () => {
      // As if the app-level token were unknown: nothing was set up to connect to.
      if (!options.socketModeUrl) throw new ApiError('invalid_auth');
      return { url: options.socketModeUrl };
    },
    'auth.test': () => ({
      url: `https://${FAKE_TEAM_DOMAIN}.slack.com/`,
      team: 'Fake Workspace',
      user: 'cache-access',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    'chat.postMessage': (args) => {
      const channel = requireString(args, 'channel', 'channel_not_found');
      checkMessageContent(args);
      const stored: StoredMessage = {
        channel,
        ts: nextTs(),
        ...(typeof args.text === 'string' ? { text: args.text } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        ...(typeof args.thread_ts === 'string' ? { thread_ts: args.thread_ts } : {}),
      };
      messages.set(messageKey(channel, stored.ts), stored);
      return { channel, ts: stored.ts, message: messageBody(stored) };
    },
    'chat.update': (args) => {
      const channel = requireString(args, 'channel', 'channel_not_found');
      const ts = requireString(args, 'ts', 'message_not_found');
      const existing = messages.get(messageKey(channel, ts));
      if (!existing) throw new ApiError('message_not_found');
      checkMessageContent(args);
      const stored: StoredMessage = {
        ...existing,
        ...(typeof args.text === 'string' ? { text: args.text } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
      };
      messages.set(messageKey(channel, ts), stored);
      return { channel, ts, text: stored.text ?? '', message: messageBody(stored) };
    },
    'chat.postEphemeral': (args) => {
      requireString(args, 'channel', 'channel_not_found');
      requireString(args, 'user', 'user_not_in_channel');
      checkMessageContent(args);
      return { message_ts: nextTs() };
    },
    'conversations.open': (args) => {
      const users = typeof args.users === 'string' ? args.users : '';
      if (users === '' && typeof args.channel !== 'string') throw new ApiError('users_list_not_supplied');
      const key = users === '' ? String(args.channel) : users.split(',').sort().join(',');
      let id = dmChannels.get(key);
      if (!id) {
        id = `D${String(dmChannels.size + 1).padStart(9, '0')}`;
        dmChannels.set(key, id);
      }
      return { channel: { id, is_im: !users.includes(','), is_open: true } };
    },
    'usergroups.users.list': (args) => {
      const members = usergroups.get(requireString(args, 'usergroup', 'no_such_subteam'));
      if (!members) throw new ApiError('no_such_subteam');
      return { users: [...members] };
    },
    'users.info': (args) => {
      const id = requireString(args, 'user', 'user_not_found');
      if (!/^[UW][A-Z0-9]+$/.test(id)) throw new ApiError('user_not_found');
      const name = id === botUserId ? 'cache-access' : id.toLowerCase();
      return {
        user: {
          id,
          team_id: teamId,
          name,
          real_name: name,
          deleted: false,
          is_bot: id === botUserId,
          tz: 'UTC',
          tz_offset: 0,
          profile: { real_name: name, display_name: name },
        },
      };
    },
    'views.open': (args) => {
      requireString(args, 'trigger_id', 'invalid_trigger_id');
      return { view: storeView(isObject(args.view) ? args.view : {}, {}) };
    },
    'views.publish': (args) => {
      requireString(args, 'user_id', 'user_not_found');
      const view = isObject(args.view) ? args.view : {};
      if (view.type !== 'home') throw invalidView([`unsupported type: ${String(view.type)} [json-pointer:/view/type]`]);
      return { view: storeView(view, {}) };
    },
    'views.update': (args) => {
      const existing =
        typeof args.view_id === 'string'
          ? views.get(args.view_id)
          : [...views.values()].find((v) => v.external_id === args.external_id);
      if (!existing) throw new ApiError('not_found');
      return { view: storeView(isObject(args.view) ? args.view : {}, { id: existing.id }) };
    },
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<void> => {
    let args: Json;
    try {
      args = parseArguments(await readBody(req), req.headers['content-type'], url.searchParams);
    } catch {
      return send(res, 200, { ok: false, error: 'invalid_json' });
    }
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : (args.token as string | undefined);
    const { token: _bodyToken, ...body } = args;
    calls.push({ method, body, token });

    const failure = failures.get(method)?.shift();
    if (failure) {
      const headers: Record<string, string> =
        failure.options.retryAfter === undefined ? {} : { 'retry-after': String(failure.options.retryAfter) };
      return send(res, failure.options.status ?? 200, { ok: false, error: failure.error }, headers);
    }
    const handler = methods[method];
    if (!handler) return send(res, 200, { ok: false, error: 'unknown_method' });
    if (!token) return send(res, 200, { ok: false, error: 'not_authed' });
    try {
      send(res, 200, { ok: true, ...handler(body) });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      send(res, 200, { ok: false, error: error.error, ...error.extra });
    }
  };

  const handleResponseUrl = async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, { ok: false, error: 'invalid_payload' });
    }
    responses.push({ name, body: isObject(body) ? body : { value: body } });
    send(res, 200, { ok: true });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [, area, name] = url.pathname.split('/');
    const handled =
      area === 'api' && name
        ? handleApi(req, res, name, url)
        : area === 'response' && name
          ? handleResponseUrl(req, res, decodeURIComponent(name))
          : Promise.resolve(send(res, 404, { ok: false, error: 'not_found' }));
    handled.catch((error: unknown) => send(res, 500, { ok: false, error: 'fatal_error', detail: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    apiUrl: `${base}/api/`,
    botUserId,
    calls,
    responses,
    views,
    callsTo: (method) => calls.filter((call) => call.method === method),
    waitFor: (match, { timeoutMs = 2_000 } = {}) => {
      const test = typeof match === 'string' ? (call: RecordedCall) => call.method === match : match;
      const what = typeof match === 'string' ? match : 'a matching call';
      return poll(
        () => calls.find(test),
        timeoutMs,
        () => `Timed out after ${timeoutMs} ms waiting for ${what}; calls seen: ${calls.map(describeCall).join(', ') || 'none'}`,
      );
    },
    waitForResponse: (match, { timeoutMs = 2_000 } = {}) => {
      const test =
        match === undefined ? () => true : typeof match === 'string' ? (r: RecordedResponse) => r.name === match : match;
      return poll(
        () => responses.find(test),
        timeoutMs,
        () =>
          `Timed out after ${timeoutMs} ms waiting for a response_url post; posts seen: ${responses.map((r) => r.name).join(', ') || 'none'}; ` +
          `API calls seen: ${calls.map(describeCall).join(', ') || 'none'}`,
      );
    },
    responseUrl: (name) => {
      responseCount += 1;
      return `${base}/response/${encodeURIComponent(name ?? `R${responseCount}`)}`;
    },
    message: (channel, ts) => messages.get(messageKey(channel, ts)),
    setUsergroup: (id, userIds) => void usergroups.set(id, [...userIds]),
    failNext: (method, error, failureOptions = {}) => {
      const queue = failures.get(method) ?? [];
      queue.push({ error, options: failureOptions });
      failures.set(method, queue);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
