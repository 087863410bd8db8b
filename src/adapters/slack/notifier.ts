/** Tells people about requests through the Slack Web API: approval messages, DMs, thread notes. */
import type { webApi } from '@slack/bolt';
import { pino, type Logger } from 'pino';
import type { Clock, Extension, MessageRef, Notifier, SlackLocation } from '../../app/ports.js';
import { InvalidInputError, UpstreamError } from '../../domain/errors.js';
import { formatId, type AccessRequest } from '../../domain/request.js';
import { approvalMessage, requesterMessage, type SlackMessage } from './blocks.js';
import { breakGlassMessage } from './break-glass-blocks.js';
import { extensionMessage } from './lifecycle-blocks.js';

type WebClient = webApi.WebClient;

// Error codes set by @slack/web-api (its ErrorCode enum) on the errors it throws.
const PLATFORM_ERROR = 'slack_webapi_platform_error';
const RATE_LIMITED_ERROR = 'slack_webapi_rate_limited_error';
const HTTP_ERROR = 'slack_webapi_http_error';
const REQUEST_ERROR = 'slack_webapi_request_error';

/** Slack error codes that mean "not now" rather than "no". */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

interface WebApiErrorShape {
  code?: unknown;
  data?: { error?: unknown };
  statusCode?: unknown;
  message?: unknown;
}

/** Classifies a failed Web API call; `method` is the API method, e.g. "chat.postMessage". */
export function toSlackUpstreamError(error: unknown, method: string): UpstreamError {
  const e: WebApiErrorShape = typeof error === 'object' && error !== null ? error : {};
  let code: string;
  let retryable: boolean;
  if (e.code === PLATFORM_ERROR && typeof e.data?.error === 'string') {
    code = e.data.error;
    retryable = RETRYABLE_CODES.has(code);
  } else if (e.code === RATE_LIMITED_ERROR) {
    code = 'ratelimited';
    retryable = true;
  } else if (e.code === HTTP_ERROR && typeof e.statusCode === 'number') {
    code = `http_${e.statusCode}`;
    retryable = e.statusCode === 429 || e.statusCode >= 500;
  } else if (e.code === REQUEST_ERROR) {
    // No answer at all (refused, reset, timed out): the call may never have arrived.
    code = 'request_error';
    retryable = true;
  } else {
    code = 'unknown';
    retryable = false;
  }
  const detail = typeof e.message === 'string' && e.message !== '' ? `: ${e.message}` : '';
  return new UpstreamError('slack', code, `Slack ${method} failed with ${code}${detail}`, retryable);
}

/** What approvers see: the approval request, or for a break-glass grant the alert that asks for their review. */
function approverMessage(request: AccessRequest, now: Date): SlackMessage {
  return request.breakGlass ? breakGlassMessage(request, now) : approvalMessage(request, now);
}

export interface SlackNotifierOptions {
  client: WebClient;
  /** Dates a message shows for a step whose time was not recorded. */
  clock: Clock;
  logger?: Logger;
}

export class SlackNotifier implements Notifier {
  private readonly client: WebClient;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor({ client, clock, logger }: SlackNotifierOptions) {
    this.client = client;
    this.clock = clock;
    this.logger = logger ?? pino({ enabled: false });
  }

  async requestApproval(request: AccessRequest, target: { channel?: string; approverIds: string[] }): Promise<MessageRef[]> {
    const message = approverMessage(request, this.clock.now());
    if (target.channel) return [await this.post(request, target.channel, message)];
    if (target.approverIds.length === 0) {
      throw new InvalidInputError(`${formatId(request.id)} has nobody to ask: its approvers resolve to no Slack users.`);
    }
    const results = await Promise.allSettled(
      target.approverIds.map(async (userId) => this.post(request, await this.openDm(userId), message)),
    );
    const refs = this.keepSuccesses(results, request, 'could not send the approval request to an approver', target.approverIds);
    // One reachable approver is enough to go on; none means the request would wait forever.
    if (refs.length === 0) throw (results[0] as PromiseRejectedResult).reason;
    return refs;
  }

  async refreshMessages(request: AccessRequest, refs: MessageRef[]): Promise<void> {
    const results = await Promise.allSettled(
      refs.map((ref) => {
        const now = this.clock.now();
        const message = ref.kind === 'approval' ? approverMessage(request, now) : requesterMessage(request, undefined, now);
        return this.call('chat.update', () => this.client.chat.update({ channel: ref.channel, ts: ref.ts, ...message }));
      }),
    );
    this.keepSuccesses(results, request, 'could not update a message', refs.map((ref) => `${ref.channel}/${ref.ts}`));
  }

  async tellRequester(request: AccessRequest, note?: string): Promise<MessageRef> {
    return this.post(request, await this.openDm(request.requesterId), requesterMessage(request, note, this.clock.now()), 'requester');
  }

  async requestExtension(
    request: AccessRequest,
    extension: Extension,
    target: { channel?: string; approverIds: string[] },
  ): Promise<SlackLocation[]> {
    const message = extensionMessage(request, extension);
    if (target.channel) return [await this.post(request, target.channel, message)].map(({ channel, ts }) => ({ channel, ts }));
    const results = await Promise.allSettled(
      target.approverIds.map(async (userId) => this.post(request, await this.openDm(userId), message)),
    );
    const refs = this.keepSuccesses(results, request, 'could not send the extension request to an approver', target.approverIds);
    if (refs.length === 0) {
      throw results[0] ? (results[0] as PromiseRejectedResult).reason : new InvalidInputError(`${formatId(request.id)} has nobody to ask.`);
    }
    return refs.map(({ channel, ts }) => ({ channel, ts }));
  }

  async refreshExtension(request: AccessRequest, extension: Extension, messages: SlackLocation[]): Promise<void> {
    const message = extensionMessage(request, extension);
    const results = await Promise.allSettled(
      messages.map((m) => this.call('chat.update', () => this.client.chat.update({ channel: m.channel, ts: m.ts, ...message }))),
    );
    this.keepSuccesses(results, request, 'could not update an extension message', messages.map((m) => `${m.channel}/${m.ts}`));
  }

  async postToThreads(request: AccessRequest, refs: MessageRef[], text: string): Promise<void> {
    const threads = refs.filter((ref) => ref.kind === 'approval');
    const results = await Promise.allSettled(
      threads.map((ref) =>
        this.call('chat.postMessage', () => this.client.chat.postMessage({ channel: ref.channel, thread_ts: ref.ts, text })),
      ),
    );
    this.keepSuccesses(results, request, 'could not post to an approval thread', threads.map((ref) => `${ref.channel}/${ref.ts}`));
  }

  private async openDm(userId: string): Promise<string> {
    const result = await this.call('conversations.open', () => this.client.conversations.open({ users: userId }));
    const channel = result.channel?.id;
    if (!channel) throw new UpstreamError('slack', 'no_channel', `Slack opened no DM channel with ${userId}`, true);
    return channel;
  }

  private async post(
    request: AccessRequest,
    channel: string,
    message: SlackMessage,
    kind: MessageRef['kind'] = 'approval',
  ): Promise<MessageRef> {
    const result = await this.call('chat.postMessage', () => this.client.chat.postMessage({ channel, ...message }));
    if (!result.channel || !result.ts) {
      throw new UpstreamError('slack', 'no_ts', `Slack did not say where ${formatId(request.id)} was posted`, true);
    }
    return { requestId: request.id, kind, channel: result.channel, ts: result.ts };
  }

  private async call<T>(method: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toSlackUpstreamError(error, method);
    }
  }

  /** Logs each failure with what it was for, and returns the successful values in order. */
  private keepSuccesses<T>(results: PromiseSettledResult<T>[], request: AccessRequest, what: string, targets: string[]): T[] {
    const values: T[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return void values.push(result.value);
      const error = result.reason as Error;
      this.logger.warn({ requestId: request.id, target: targets[i], err: error }, `${formatId(request.id)}: ${what}`);
    });
    return values;
  }
}
