/**
 * The Slack Web API client cache-access calls Slack with (notifier, people directory, auth.test).
 * Rate limits: a 429 is waited out for its Retry-After and retried, at most a few times and never
 * for a long Retry-After, so a job cannot hang for the SDK default's ~30 minutes. Every failed call
 * is counted; `invalid_blocks` is logged with the offending block paths Slack names.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Metrics } from '../metrics.js';
import { boltLogger } from './bolt-logger.js';

/** Network errors and 5xx: three retries, within a minute. */
export const SLACK_RETRY_CONFIG: webApi.RetryOptions = { retries: 3, factor: 2, minTimeout: 1_000, maxTimeout: 10_000, maxRetryTime: 60_000 };
/** Rate-limited attempts waited out before giving up, and the longest Retry-After worth waiting for. */
export const RATE_LIMIT_RETRIES = 3;
export const MAX_RETRY_AFTER_SECONDS = 30;

const RATE_LIMITED_ERROR = 'slack_webapi_rate_limited_error';
const PLATFORM_ERROR = 'slack_webapi_platform_error';

/** Web API options shared by every client the bot makes (Bolt's included). */
export function slackClientOptions(config: Pick<Config, 'slack'>, logger: Logger): webApi.WebClientOptions {
  const apiUrl = config.slack.apiUrl;
  return {
    ...(apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {}),
    logger: boltLogger(logger),
    retryConfig: SLACK_RETRY_CONFIG,
  };
}

export interface ObservedWebClientOptions {
  config: Pick<Config, 'slack'>;
  logger: Logger;
  metrics?: Metrics;
}

interface WebApiError {
  code?: string;
  retryAfter?: number;
  data?: { error?: string; errors?: unknown; response_metadata?: { messages?: string[] } };
}

export class ObservedWebClient extends webApi.WebClient {
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;

  constructor({ config, logger, metrics }: ObservedWebClientOptions) {
    // Rate-limited calls reject at once so that apiCall below decides how long to wait.
    super(config.slack.botToken, { ...slackClientOptions(config, logger), rejectRateLimitedCalls: true });
    this.log = logger.child({ component: 'slack-web-api' });
    this.metrics = metrics;
  }

  // The SDK binds every named method (chat.postMessage, …) to apiCall, so this sees every call.
  override async apiCall(method: string, options?: Record<string, unknown>): Promise<webApi.WebAPICallResult> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await super.apiCall(method, options);
      } catch (error) {
        const e = error as WebApiError;
        if (e.code === RATE_LIMITED_ERROR) {
          const waitSeconds = e.retryAfter ?? 1;
          this.metrics?.slackApiErrors.inc({ method, code: 'ratelimited' });
          if (attempt < RATE_LIMIT_RETRIES && waitSeconds <= MAX_RETRY_AFTER_SECONDS) {
            this.log.warn({ method, retryAfter: waitSeconds, attempt: attempt + 1 }, 'Slack rate limit: waiting before retrying');
            await sleep(waitSeconds * 1000);
            continue;
          }
          this.log.error({ method, retryAfter: waitSeconds, attempts: attempt + 1 }, 'Slack rate limit: giving up');
          throw error;
        }
        this.record(method, e);
        throw error;
      }
    }
  }

  private record(method: string, e: WebApiError): void {
    const code = e.code === PLATFORM_ERROR && e.data?.error ? e.data.error : (e.code ?? 'unknown');
    this.metrics?.slackApiErrors.inc({ method, code });
    if (code === 'invalid_blocks') {
      // Slack names each offending block by JSON pointer, e.g. "… [json-pointer:/blocks/0/text]".
      this.log.error(
        { method, code, errors: e.data?.errors, messages: e.data?.response_metadata?.messages },
        `Slack rejected the blocks of ${method}`,
      );
    }
  }
}
