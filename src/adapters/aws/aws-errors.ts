/** Turns AWS SDK v3 failures into UpstreamError, deciding which are worth retrying. */
import { UpstreamError } from '../../domain/errors.js';

/** Error names AWS uses for rate limiting (the SDK's own list, narrowed to what EC2 and ElastiCache send). */
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

// AWS's encoded authorization-failure messages run to kilobytes; people need the gist.
const MAX_MESSAGE_LENGTH = 300;

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

function httpStatus(error: unknown): number | undefined {
  const status = shape(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The AWS error code ("InvalidPermission.Duplicate", "CacheClusterNotFoundFault"); for a failure
 * without any AWS response, the error name ("TimeoutError") or else the Node code ("ECONNREFUSED").
 */
export function awsErrorCode(error: unknown): string {
  const { name, code } = shape(error);
  const specificName = typeof name === 'string' && name !== '' && name !== 'Error' ? name : undefined;
  return specificName ?? (typeof code === 'string' && code !== '' ? code : 'UnknownError');
}

function isRetryable(error: unknown): boolean {
  const status = httpStatus(error);
  const { $fault } = shape(error);
  if (THROTTLING_CODES.has(awsErrorCode(error)) || status === 429) return true;
  if ($fault === 'server' || (status !== undefined && status >= 500)) return true;
  // No AWS response at all (refused connection, timeout): the call may never have arrived.
  return $fault === undefined && status === undefined;
}

/** Classifies a failed AWS call; `action` is the API action, e.g. "AuthorizeSecurityGroupIngress". */
export function toUpstreamError(error: unknown, action: string): UpstreamError {
  const code = awsErrorCode(error);
  const { message } = shape(error);
  const detail = typeof message === 'string' && message !== '' ? `: ${message}` : '';
  const text = `AWS ${action} failed with ${code}${detail}`;
  const clipped = text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text;
  return new UpstreamError('aws', code, clipped, isRetryable(error));
}

/** Sends one AWS call, converting any failure with toUpstreamError. */
export async function callAws<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toUpstreamError(error, action);
  }
}

/** Like callAws, but a failure whose code is in `absentCodes` means "no such thing" and yields undefined. */
export async function callAwsUnlessAbsent<T>(
  action: string,
  absentCodes: ReadonlySet<string>,
  call: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (absentCodes.has(awsErrorCode(error))) return undefined;
    throw toUpstreamError(error, action);
  }
}
