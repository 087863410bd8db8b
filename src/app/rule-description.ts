/** The description written on each ingress rule, so people reading the security group know whose it is. */

export interface RuleDescriptionInput {
  requestId: number;
  /** Who asked: a Slack user id or name; anything AWS refuses is replaced. */
  requester: string;
  expiresAt: Date;
}

// AWS's limits on security-group rule descriptions.
const MAX_LENGTH = 255;
const REFUSED_RUN = /[^a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]+/g;

/** Keeps what AWS accepts: accents dropped, whitespace runs become one space, other refused runs one "_". */
function sanitise(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .replace(REFUSED_RUN, '_')
    .trim();
}

/** "2026-11-26T14:00Z": minutes are precise enough, and shorter. */
function formatExpiry(expiresAt: Date): string | undefined {
  if (Number.isNaN(expiresAt.getTime())) return undefined;
  return expiresAt.toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');
}

/** E.g. `cache-access #42 alice until 2026-11-26T14:00Z`; always valid for AWS, never throws. */
export function ruleDescription({ requestId, requester, expiresAt }: RuleDescriptionInput): string {
  const head = `cache-access #${requestId}`;
  const expiry = formatExpiry(expiresAt);
  const tail = expiry === undefined ? '' : ` until ${expiry}`;
  const room = MAX_LENGTH - head.length - tail.length - 1;
  const who = sanitise(requester).slice(0, Math.max(0, room)).trim();
  return `${head}${who === '' ? '' : ` ${who}`}${tail}`.slice(0, MAX_LENGTH);
}
