import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from 'pino';
import { scrubSecrets, scrubText } from '../logger.js';

const PINO_TO_SLACK: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
  silent: LogLevel.ERROR,
};

/** Bolt and the Slack SDKs log through their own interface; route it into our pino logger. */
export function boltLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'bolt' });
  // The SDKs log free text (request bodies, headers, URLs): scrub it before pino sees one string.
  const join = (parts: unknown[]) =>
    scrubText(parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(scrubSecrets(p)))).join(' '));
  // Bolt logs at debug level several times per request: build (and scrub) a line only when it is kept.
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (...msg: unknown[]) => {
    if (child.isLevelEnabled(level)) child[level](join(msg));
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel: () => {},
    getLevel: () => PINO_TO_SLACK[logger.level] ?? LogLevel.INFO,
    setName: () => {},
  };
}
