/**
 * Who did something to a request, as its history and `endedBy` store it: a Slack user id, or one of
 * the names for actors that are not Slack users. The stored strings stay as they are; this reads them.
 */
export type Actor =
  | { kind: 'slack-user'; userId: string }
  /** cache-access itself: expiry, timeouts, automatic approval. */
  | { kind: 'system' }
  /** AWS: the rule was removed outside cache-access. */
  | { kind: 'aws' }
  /** Someone using the admin CLI, stored as `operator:<name>`. */
  | { kind: 'operator'; name: string };

export const SYSTEM_ACTOR = 'system';
const AWS_ACTOR = 'aws';
const OPERATOR_PREFIX = 'operator:';

export function parseActor(stored: string): Actor {
  if (stored === SYSTEM_ACTOR) return { kind: 'system' };
  if (stored === AWS_ACTOR) return { kind: 'aws' };
  if (stored.startsWith(OPERATOR_PREFIX)) return { kind: 'operator', name: stored.slice(OPERATOR_PREFIX.length) };
  return { kind: 'slack-user', userId: stored };
}

/**
 * The actor in Slack mrkdwn: a mention for a Slack user only (`<@aws>` would be a broken one), words
 * for the others. Nobody recorded means cache-access did it.
 */
export function actorMrkdwn(stored: string | undefined): string {
  const actor = stored === undefined ? ({ kind: 'system' } as const) : parseActor(stored);
  switch (actor.kind) {
    case 'slack-user':
      return `<@${actor.userId}>`;
    case 'system':
      return 'cache-access';
    case 'aws':
      return 'AWS (removed outside cache-access)';
    case 'operator':
      // The name comes from the CLI's --operator or $USER: it must not turn into markup.
      return `operator ${actor.name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}`;
  }
}
