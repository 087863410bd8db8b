/**
 * The few error kinds the core raises. Each carries a stable code; adapters turn them into user
 * messages (Slack) or exit codes (CLI) at the edge, and decide on retries from `retryable`.
 */
export type ErrorCode = 'INVALID' | 'NOT_ALLOWED' | 'NOT_FOUND' | 'CONFLICT' | 'UPSTREAM';

export abstract class CacheAccessError extends Error {
  abstract readonly code: ErrorCode;
  override readonly name: string = this.constructor.name;
}

/** Bad input from a person: the message says what was wrong and what is accepted. */
export class InvalidInputError extends CacheAccessError {
  readonly code = 'INVALID' as const;
}

export class NotAllowedError extends CacheAccessError {
  readonly code = 'NOT_ALLOWED' as const;
}

export class NotFoundError extends CacheAccessError {
  readonly code = 'NOT_FOUND' as const;
}

/** A move the lifecycle forbids, or a concurrent writer won the race. */
export class ConflictError extends CacheAccessError {
  readonly code = 'CONFLICT' as const;
}

/**
 * A dependency (AWS, Slack, the job queue on Redis or PostgreSQL) failed. `retryable` separates
 * throttling/outages from permanent refusals.
 */
export class UpstreamError extends CacheAccessError {
  readonly code = 'UPSTREAM' as const;
  constructor(
    readonly service: 'aws' | 'slack' | 'redis' | 'postgres' | 'cache' | 'audit-webhook',
    readonly upstreamCode: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
