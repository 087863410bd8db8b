import { looksLikeDuration, parseDuration, DURATION_HELP } from './durations.js';
import { InvalidInputError } from './errors.js';
import type { Source } from './request.js';
import { parseSource, SOURCE_HELP } from './source.js';

/** What a person typed after /cache-access, understood. */
export type Command =
  | { kind: 'help' }
  | { kind: 'request'; clusterId: string; source: Source; durationSeconds?: number; reason: string };

const CLUSTER_ID = /^[a-zA-Z][a-zA-Z0-9-]{0,39}$/;

export const USAGE = [
  '*Usage:* `/cache-access <cluster> <source> [duration] [reason…]`',
  '• `<cluster>`: an ElastiCache replication group id or cache cluster id, e.g. `orders-redis`',
  `• \`<source>\`: ${SOURCE_HELP}`,
  `• \`[duration]\`: ${DURATION_HELP}; the policy default when left out`,
  '• `[reason…]`: why you need access (the rest of the line)',
  'Example: `/cache-access orders-redis sg-0a1b2c3d4e5f60789 2h investigating checkout latency`',
].join('\n');

/** Parses slash-command text. Never throws anything but InvalidInputError, whose message includes usage. */
export function parseCommand(text: string): Command {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  const [first, second, third, ...rest] = words;
  if (first === undefined || (words.length === 1 && first.toLowerCase() === 'help')) return { kind: 'help' };
  try {
    if (!CLUSTER_ID.test(first)) {
      throw new InvalidInputError(
        `"${first}" is not a cluster id: use an ElastiCache replication group or cache cluster id (letters, digits and hyphens, starting with a letter, at most 40 characters).`,
      );
    }
    if (second === undefined) throw new InvalidInputError(`Say which source should get access: ${SOURCE_HELP}.`);
    const source = parseSource(second);
    if (third !== undefined && looksLikeDuration(third)) {
      return { kind: 'request', clusterId: first, source, durationSeconds: parseDuration(third), reason: rest.join(' ') };
    }
    return { kind: 'request', clusterId: first, source, reason: [third, ...rest].filter(Boolean).join(' ') };
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError(`${error.message}\n${USAGE}`);
    throw error;
  }
}
