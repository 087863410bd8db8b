import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

/** Keys whose values are secrets wherever they appear, in any case. */
const SECRET_KEYS = new Set(
  [
    'token',
    'botToken',
    'appToken',
    'signingSecret',
    'clientSecret',
    'secret',
    'password',
    'authorization',
    'SLACK_BOT_TOKEN',
    'SLACK_APP_TOKEN',
    'SLACK_SIGNING_SECRET',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'secretAccessKey',
    'sessionToken',
  ].map((key) => key.toLowerCase()),
);

/** Slack tokens (xoxb-, xoxp-, xapp-, …) inside free text such as error messages and SDK log lines. */
const TOKEN_PATTERN = /\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]+/g;
const CENSOR = '[redacted]';
const MAX_DEPTH = 6;

export function scrubText(text: string): string {
  return text.replace(TOKEN_PATTERN, CENSOR);
}

/** A copy of `value` with secret-named keys censored and token-looking strings scrubbed. */
export function scrubSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[…]';
  seen.add(value);
  // Message, stack, cause and the error's own fields (an SDK error may hold the request and its headers).
  if (value instanceof Error) return scrubSecrets(stdSerializers.err(value), depth, seen);
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1, seen));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, SECRET_KEYS.has(key.toLowerCase()) ? CENSOR : scrubSecrets(item, depth + 1, seen)]),
  );
}

/**
 * JSON logs on stdout (or `destination`). Secrets never reach the output: every logged object is
 * scrubbed by key name (config, env, headers) at any depth, errors included (an SDK error can carry
 * the request's Authorization header), and token-looking strings are censored in messages too.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    name: 'cache-access',
    level,
    // The log formatter below already serialized (and scrubbed) errors; pino's default would re-type them.
    serializers: { err: (error: unknown) => error },
    formatters: { log: (object: Record<string, unknown>) => scrubSecrets(object) as Record<string, unknown> },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...args: unknown[]) => void) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg)));
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
