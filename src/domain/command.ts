import { looksLikeDuration, parseDuration, DURATION_HELP } from './durations.js';
import { InvalidInputError } from './errors.js';
import type { Source } from './request.js';
import { parseSource, SOURCE_HELP } from './source.js';

/** What a person typed after /cache-access, understood. */
export type Command =
  | { kind: 'help' }
  | { kind: 'open-modal' }
  | { kind: 'request'; clusterId: string; source: Source; durationSeconds?: number; reason: string }
  /** Access at once without approval, for the people the policy's breakGlass lists; reviewed afterwards. */
  | { kind: 'break-glass'; clusterId: string; source: Source; durationSeconds?: number; reason: string }
  | { kind: 'list' }
  | { kind: 'status' | 'revoke' | 'cancel'; requestId: number }
  | { kind: 'extend'; requestId: number; durationSeconds: number };

/** Words that name a command about an existing request rather than a cluster. */
const REQUEST_COMMANDS = ['status', 'revoke', 'cancel', 'extend'] as const;
const REQUEST_ID = /^#?(\d{1,15})$/;

const CLUSTER_ID = /^[a-zA-Z][a-zA-Z0-9-]{0,39}$/;

export const USAGE = [
  '*Usage:* `/cache-access <cluster> <source> [duration] [reason…]`, or `/cache-access` alone for a form',
  '• `<cluster>`: an ElastiCache replication group id or cache cluster id, e.g. `orders-redis`',
  `• \`<source>\`: ${SOURCE_HELP}`,
  `• \`[duration]\`: ${DURATION_HELP}; the policy default when left out`,
  '• `[reason…]`: why you need access (the rest of the line)',
  'Example: `/cache-access orders-redis sg-0a1b2c3d4e5f60789 2h investigating checkout latency`',
  '*Your requests:* (`<id>` as `42` or `#42`)',
  '• `/cache-access list`: your pending and active access, and requests waiting for your approval',
  '• `/cache-access status <id>`: the whole story of one request',
  '• `/cache-access revoke <id>`: end active access now (or withdraw your pending request)',
  '• `/cache-access cancel <id>`: withdraw your pending request',
  '• `/cache-access extend <id> <duration>`: ask the approvers for more time',
  '*Emergencies:* `/cache-access break-glass <cluster> <source> [duration] <reason…>` opens access at once, without approval, for the people the policy allows; the approvers are told and review it afterwards',
].join('\n');

const BREAK_GLASS = 'break-glass';

/** Parses slash-command text. Never throws anything but InvalidInputError, whose message includes usage. */
export function parseCommand(text: string): Command {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  const [first, second, third] = words;
  if (first === undefined) return { kind: 'open-modal' };
  if (words.length === 1 && first.toLowerCase() === 'help') return { kind: 'help' };
  try {
    const verb = first.toLowerCase();
    if (verb === 'list' && words.length === 1) return { kind: 'list' };
    // "status sg-…" stays a request for a cluster named "status": only an id (or nothing) makes it a command.
    if (isRequestCommand(verb) && (second === undefined || REQUEST_ID.test(second))) {
      return requestCommand(verb, second, third, words.length);
    }
    // "break-glass sg-…" stays a request for a cluster named "break-glass": a cluster id must follow.
    if (verb === BREAK_GLASS && second !== undefined && !isSource(second)) {
      const request = accessRequest(words.slice(1));
      if (request.reason.trim() === '') {
        throw new InvalidInputError('Break-glass needs a reason: say why after the source (and duration).');
      }
      return { ...request, kind: 'break-glass' };
    }
    return accessRequest(words);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError(`${error.message}\n${USAGE}`);
    throw error;
  }
}

/** `<cluster> <source> [duration] [reason…]`. */
function accessRequest([cluster, source, third, ...rest]: string[]): Extract<Command, { kind: 'request' }> {
  if (cluster === undefined || !CLUSTER_ID.test(cluster)) {
    throw new InvalidInputError(
      `"${cluster ?? ''}" is not a cluster id: use an ElastiCache replication group or cache cluster id (letters, digits and hyphens, starting with a letter, at most 40 characters).`,
    );
  }
  if (source === undefined) throw new InvalidInputError(`Say which source should get access: ${SOURCE_HELP}.`);
  const parsedSource = parseSource(source);
  if (third !== undefined && looksLikeDuration(third)) {
    return { kind: 'request', clusterId: cluster, source: parsedSource, durationSeconds: parseDuration(third), reason: rest.join(' ') };
  }
  return { kind: 'request', clusterId: cluster, source: parsedSource, reason: [third, ...rest].filter(Boolean).join(' ') };
}

function isSource(word: string): boolean {
  try {
    parseSource(word);
    return true;
  } catch {
    return false;
  }
}

function isRequestCommand(word: string): word is (typeof REQUEST_COMMANDS)[number] {
  return (REQUEST_COMMANDS as readonly string[]).includes(word);
}

function requestCommand(
  verb: (typeof REQUEST_COMMANDS)[number],
  idText: string | undefined,
  durationText: string | undefined,
  wordCount: number,
): Command {
  const requestId = idText === undefined ? undefined : Number(REQUEST_ID.exec(idText)![1]);
  if (requestId === undefined || requestId < 1) {
    throw new InvalidInputError(`Say which request: \`/cache-access ${verb} 42\`.`);
  }
  if (verb !== 'extend') {
    if (wordCount > 2) throw new InvalidInputError(`\`/cache-access ${verb}\` takes only a request id.`);
    return { kind: verb, requestId };
  }
  if (durationText === undefined || wordCount > 3) {
    throw new InvalidInputError(`Say by how much: \`/cache-access extend ${requestId} 1h\` (${DURATION_HELP}).`);
  }
  return { kind: 'extend', requestId, durationSeconds: parseDuration(durationText) };
}
