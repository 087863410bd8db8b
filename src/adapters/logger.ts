import { pino, type Logger } from 'pino';

/** JSON logs on stdout. Secrets are redacted wherever they appear under these keys. */
export function createLogger(level: string): Logger {
  return pino({
    name: 'cache-access',
    level,
    redact: {
      paths: [
        'token',
        '*.token',
        'botToken',
        '*.botToken',
        'appToken',
        '*.appToken',
        'signingSecret',
        '*.signingSecret',
        'headers.authorization',
        '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
