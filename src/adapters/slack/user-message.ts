import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { CacheAccessError, UpstreamError } from '../../domain/errors.js';
import { explainUpstream } from './upstream-explanation.js';

/**
 * The one place an error becomes words for a person. Our own errors already speak to the user; an
 * upstream failure is told by its code and what that means, its message (ARNs, hosts) only logged;
 * anything else is logged with a reference the user can quote.
 */
export function userMessageFor(error: unknown, logger: Logger, context: Record<string, unknown>): string {
  if (error instanceof UpstreamError) {
    logger.warn({ ...context, service: error.service, code: error.upstreamCode, retryable: error.retryable }, error.message);
    const service = { aws: 'AWS', slack: 'Slack', redis: 'Redis', postgres: 'PostgreSQL', cache: 'The cluster', 'audit-webhook': 'The audit webhook' }[error.service];
    const advice = error.retryable ? ' This is usually temporary: try again in a minute.' : '';
    return `:warning: ${service} refused the request (${error.upstreamCode}): ${explainUpstream(error.service, error.upstreamCode)}${advice}`;
  }
  if (error instanceof CacheAccessError) return `:no_entry: ${error.message}`;
  const reference = randomBytes(4).toString('hex');
  logger.error({ ...context, err: error, reference }, 'unexpected error in a Slack handler');
  return `:boom: Something went wrong on our side. It has been logged with reference ${reference}; tell your platform team.`;
}
