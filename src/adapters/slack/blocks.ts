/**
 * Block Kit for the messages cache-access posts. Pure: a request in, a message out. Every text that can
 * carry outside input (reasons, AWS error codes) is escaped for mrkdwn and cut to Slack's limits, because
 * Slack rejects the whole message when one field is too long.
 */
import type { types } from '@slack/bolt';
import { actorMrkdwn } from '../../domain/actor.js';
import { formatDuration } from '../../domain/durations.js';
import type { GrantFacts, PeeredSource, RequestWithFacts } from '../../app/ports.js';
import { describeSource, formatId, type AccessRequest } from '../../domain/request.js';
import { MEMCACHED_SESSIONS_NOTE } from '../../app/end-sessions.js';
import { explainUpstream } from './upstream-explanation.js';

export type Block = types.KnownBlock;

export interface SlackMessage {
  text: string;
  blocks: Block[];
}

// Slack's limits, from its Block Kit reference (see test/fixtures/blockkit-limits.json).
const SECTION_TEXT_MAX = 3000;
const FIELD_TEXT_MAX = 2000;
const CONTEXT_TEXT_MAX = 3000;
const CONFIRM_TEXT_MAX = 300;

/** Escapes the three characters mrkdwn treats as markup, so user text cannot mention or link. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes `raw` and cuts it to `max` UTF-16 units with "…", never splitting an escape or a code point. */
export function escapeAndFit(raw: string, max: number): string {
  const escaped = escapeMrkdwn(raw);
  if (escaped.length <= max) return escaped;
  let out = '';
  for (const char of raw) {
    const piece = escapeMrkdwn(char);
    if (out.length + piece.length + 1 > max) break;
    out += piece;
  }
  return `${out}…`;
}

/** Cuts text we composed ourselves (already valid mrkdwn) to `max` units. */
export function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length + 1 > max) break;
    out += char;
  }
  return `${out}…`;
}

/** A time every reader sees in their own time zone; the ISO fallback shows where dates cannot render. */
export function slackDate(date: Date): string {
  return `<!date^${Math.floor(date.getTime() / 1000)}^{date_short_pretty} {time}|${date.toISOString()}>`;
}

export function code(text: string): string {
  return `\`${escapeAndFit(text, 200)}\``;
}

// Longer ticket ids are cut; longer links are shown as the ticket's text (a section field takes 2000).
const TICKET_TEXT_MAX = 100;
const TICKET_URL_MAX = 1000;

/** The request's ticket (policy reasonPattern) as a link `<url|OPS-1>`, or as code without reasonLink; '' when it has none. */
export function ticketMrkdwn(request: RequestWithFacts): string {
  const ticket = request.facts?.ticket;
  if (!ticket) return '';
  if (!ticket.url || ticket.url.length > TICKET_URL_MAX) return code(ticket.id);
  // Slack reads &, < and > escaped inside links too; the URL itself holds no <, > or | (policy) and an encoded ticket.
  return `<${escapeMrkdwn(ticket.url)}|${escapeAndFit(ticket.id, TICKET_TEXT_MAX)}>`;
}

/** " · <ticket link>" to end a summary line with, or '' when the request has no ticket. */
export function ticketSuffix(request: RequestWithFacts): string {
  const ticket = ticketMrkdwn(request);
  return ticket ? ` · ${ticket}` : '';
}

/** The ingress rule in words, e.g. "inbound TCP 6379 on `sg-1` from `10.0.0.0/24`". */
export function ruleText(request: AccessRequest): string {
  const source: PeeredSource = request.source;
  const peering =
    source.kind === 'security-group' && source.peering
      ? ` in peered ${code(source.peering.vpcId)} (account ${code(source.peering.accountId)}, via ${code(source.peering.peeringConnectionId)})`
      : '';
  return `inbound TCP ${request.port} on ${code(request.targetGroupId)} from ${code(describeSource(request.source))}${peering}`;
}

// AWS keeps tracked connections through a rule's removal until they close or idle out.
export const CONNECTION_TRACKING_NOTE =
  'Connections opened while the rule was in place may stay open after its removal (AWS connection tracking) until they are closed.';
const SESSIONS_CLOSED_NOTE = 'Open connections it let in are being closed too; the approval thread says how many.';

/** What happens to connections still open when the rule goes: closed by cache-access, or left to the client. */
function sessionsNote(request: RequestWithFacts): string {
  if (request.engine === 'memcached') return MEMCACHED_SESSIONS_NOTE;
  return request.facts?.endsSessions ? SESSIONS_CLOSED_NOTE : CONNECTION_TRACKING_NOTE;
}

/** For approvers: whether open sessions end with the grant. */
function sessionsAtEndText(request: RequestWithFacts): string {
  if (request.engine === 'memcached') return `:information_source: When access ends: ${MEMCACHED_SESSIONS_NOTE}`;
  return request.facts?.endsSessions
    ? ':scissors: When access ends, cache-access also closes the connections still open from this source.'
    : ':information_source: When access ends, connections still open from this source are not closed: they may stay open (AWS connection tracking) until the client closes them.';
}
// Past this many, clusters and network interfaces are counted rather than listed.
const LISTED_MAX = 10;

/** The first LISTED_MAX items, and how many more there are. */
function listed(items: string[], render: (item: string) => string, separator: string): string {
  const more = items.length > LISTED_MAX ? `${separator}and ${items.length - LISTED_MAX} more` : '';
  return items.slice(0, LISTED_MAX).map(render).join(separator) + more;
}

/** What else the rule opens, e.g. "`sg-1` also protects `sessions-redis` and 3 other network interfaces (…)". */
function exposureText(request: AccessRequest, facts: GrantFacts): string {
  const { otherClusters, otherInterfaces } = facts.exposure;
  const group = code(request.targetGroupId);
  if (otherClusters.length === 0 && otherInterfaces.length === 0) {
    return `:white_check_mark: ${group} protects nothing else: the rule opens ${code(request.clusterId)} only.`;
  }
  const parts: string[] = [];
  if (otherClusters.length > 0) parts.push(listed(otherClusters, code, ', '));
  if (otherInterfaces.length > 0) {
    const other = otherClusters.length > 0 ? ' other' : '';
    const noun = otherInterfaces.length === 1 ? 'network interface' : 'network interfaces';
    parts.push(`${otherInterfaces.length}${other} ${noun} (${listed(otherInterfaces, (d) => escapeAndFit(d, 100), '; ')})`);
  }
  return `:warning: *Also opened:* ${group} also protects ${parts.join(' and ')}. The rule opens TCP ${request.port} on all of them.`;
}

/** The ready-to-paste command line for the cluster's engine, TLS and AUTH. */
export function connectCommand(request: AccessRequest, facts: GrantFacts): string {
  const { endpoint, port } = request;
  const { tls, auth, clusterMode } = facts.connection;
  if (request.engine === 'memcached') {
    return tls ? `openssl s_client -quiet -connect ${endpoint}:${port}` : `nc ${endpoint} ${port}`;
  }
  const cli = request.engine === 'valkey' ? 'valkey-cli' : 'redis-cli';
  const flags = [
    ...(tls ? ['--tls'] : []),
    ...(clusterMode ? ['-c'] : []),
    ...(auth === 'rbac' ? ['--user', 'YOUR_USER', '--askpass'] : auth === 'auth-token' ? ['--askpass'] : []),
  ];
  return [cli, '-h', endpoint, '-p', String(port), ...flags].join(' ');
}

function connectionText(request: AccessRequest, facts: GrantFacts): string {
  const { tls, auth } = facts.connection;
  const authWords = {
    none: 'no AUTH',
    'auth-token': 'AUTH token required (ask the cluster owners)',
    rbac: 'RBAC: sign in with your ElastiCache user and password',
  }[auth];
  const tlsWords = tls ? 'TLS required (in-transit encryption)' : 'no TLS';
  const command = escapeMrkdwn(connectCommand(request, facts).replace(/`/g, "'"));
  return `*How to connect:* ${code(`${request.endpoint}:${request.port}`)} · ${tlsWords} · ${authWords}\n\`\`\`${command}\`\`\``;
}

function approversText(request: AccessRequest): string {
  return request.approvals.map((a) => actorMrkdwn(a.userId)).join(', ');
}

export function mrkdwn(text: string): types.MrkdwnElement {
  return { type: 'mrkdwn', text };
}

export function plain(text: string, max: number): types.PlainTextElement {
  return { type: 'plain_text', text: fit(text, max), emoji: true };
}

export function context(text: string): types.ContextBlock {
  return { type: 'context', elements: [mrkdwn(fit(text, CONTEXT_TEXT_MAX))] };
}

const STATUS_WORDS: Record<AccessRequest['status'], string> = {
  pending: 'waiting for approval',
  approved: 'approved',
  active: 'active',
  expired: 'expired',
  revoked: 'revoked',
  denied: 'denied',
  cancelled: 'cancelled',
  failed: 'failed',
};

/** The outcome line shown once a request is no longer waiting for approvers. */
function outcomeLine(request: RequestWithFacts, now: Date): string {
  const at = (date: Date | undefined) => slackDate(date ?? now);
  const lastApproval = request.approvals.at(-1)?.at ?? request.approvedAt;
  const approved = `Approved by ${approversText(request)} at ${at(lastApproval)}`;
  switch (request.status) {
    case 'pending':
      return '';
    case 'approved':
      return `:white_check_mark: ${approved}; the rule is being added.`;
    case 'active':
      return `:large_green_circle: ${approved}; active until ${at(request.expiresAt)}.`;
    case 'expired':
      return `:hourglass: ${approved}; expired at ${at(request.endedAt)}, rule removed. ${sessionsNote(request)}`;
    case 'revoked':
      return `:lock: ${approved}; revoked by ${actorMrkdwn(request.endedBy)} at ${at(request.endedAt)}, rule removed. ${sessionsNote(request)}`;
    case 'denied':
      return `:no_entry_sign: Denied by ${actorMrkdwn(request.deniedBy?.userId ?? request.endedBy)} at ${at(request.deniedBy?.at ?? request.endedAt)}.`;
    case 'cancelled':
      return request.endedBy === 'system'
        ? `:heavy_multiplication_x: Cancelled at ${at(request.endedAt)}: no decision in time.`
        : `:heavy_multiplication_x: Cancelled by ${actorMrkdwn(request.endedBy)} at ${at(request.endedAt)}.`;
    case 'failed':
      return `:x: Failed at ${at(request.endedAt)}: ${failureText(request)}`;
  }
}

/** The code and what it means; AWS's own message (account ids, ARNs) stays in the record and the log. */
export function failureText(request: AccessRequest): string {
  const failureCode = request.failure?.code ?? 'Unknown';
  return `AWS said ${code(failureCode)}: ${explainUpstream('aws', failureCode)}`;
}

function decisionButtons(request: RequestWithFacts): types.ActionsBlock {
  const id = formatId(request.id);
  const source = describeSource(request.source);
  const duration = formatDuration(request.durationSeconds);
  const exposure = request.facts?.exposure;
  const collateral = exposure ? exposure.otherClusters.length + exposure.otherInterfaces.length : 0;
  // The last thing an approver reads before opening it: say when more than the cluster is opened.
  const alsoOpens = collateral > 0 ? ` It also opens ${collateral} other cluster(s) and network interface(s) in that group.` : '';
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: DECISION_ACTIONS.approve,
        text: plain('Approve', 75),
        style: 'primary',
        // Only locates the request: who may decide is checked against the click's signed user id.
        value: String(request.id),
        confirm: {
          title: plain(`Approve ${id}?`, 100),
          text: plain(
            `This opens TCP ${request.port} on ${request.targetGroupId} from ${source} for ${duration}.${alsoOpens}`,
            CONFIRM_TEXT_MAX,
          ),
          confirm: plain('Approve', 30),
          deny: plain('Cancel', 30),
        },
      },
      { type: 'button', action_id: DECISION_ACTIONS.deny, text: plain('Deny', 75), style: 'danger', value: String(request.id) },
    ],
  };
}

/** cache-access approved it itself, under the policy's autoApprove. */
function isAutoApproved(request: AccessRequest): boolean {
  return request.approvals.some((a) => a.userId === 'system');
}

/** The message approvers see: what is asked, and either the decision buttons or what became of it. */
export function approvalMessage(request: RequestWithFacts, now: Date = new Date()): SlackMessage {
  const id = formatId(request.id);
  const duration = formatDuration(request.durationSeconds);
  const reasonLabel = '*Reason*\n';
  const reason =
    request.reason.trim() === '' ? '_none given_' : escapeAndFit(request.reason, SECTION_TEXT_MAX - reasonLabel.length);
  const field = (text: string) => mrkdwn(fit(text, FIELD_TEXT_MAX));
  const blocks: Block[] = [
    { type: 'header', text: plain(`Access request ${id}`, 150) },
    {
      type: 'section',
      fields: [
        field(`*Requester*\n${actorMrkdwn(request.requesterId)}`),
        field(`*Cluster*\n${code(request.clusterId)} (${request.engine})\n${code(`${request.endpoint}:${request.port}`)}`),
        field(`*Rule to add*\n${ruleText(request)}`),
        field(`*Duration*\n${duration}`),
        field(`*Request*\n${id}`),
        ...(request.facts?.ticket ? [field(`*Ticket*\n${ticketMrkdwn(request)}`)] : []),
        ...(request.facts ? [field(`*Account / region*\n${code(request.facts.accountId)} / ${code(request.facts.region || 'default')}`)] : []),
      ],
    },
    { type: 'section', text: mrkdwn(reasonLabel + reason) },
  ];
  if (request.facts) {
    blocks.push({ type: 'section', text: mrkdwn(fit(exposureText(request, request.facts), SECTION_TEXT_MAX)) });
    const { headroom } = request.facts;
    if (headroom !== undefined) {
      const rules = headroom === 1 ? 'rule fits' : 'rules fit';
      blocks.push(context(`:warning: Only ${headroom} more inbound ${rules} in ${code(request.targetGroupId)} after this one before cache-access stops adding rules there.`));
    }
  }
  if (request.status === 'pending' || request.status === 'approved' || request.status === 'active') {
    blocks.push(context(sessionsAtEndText(request)));
  }
  if (request.status === 'pending') {
    if (request.approvalsRequired > 1) {
      const soFar = request.approvals.length > 0 ? ` (${approversText(request)})` : '';
      blocks.push(context(`:hourglass_flowing_sand: ${request.approvals.length} of ${request.approvalsRequired} approvals${soFar}`));
    }
    if (request.approvals.length < request.approvalsRequired) blocks.push(decisionButtons(request));
  } else {
    if (isAutoApproved(request)) {
      blocks.push(context(`:robot_face: FYI: approved automatically by the policy rule ${code(request.policyMatch)} (autoApprove). No action needed.`));
    }
    blocks.push(context(outcomeLine(request, now)));
  }
  const text = `Access request ${id} from ${actorMrkdwn(request.requesterId)}: ${code(request.clusterId)} for ${duration} (${STATUS_WORDS[request.status]})`;
  return { text, blocks };
}

/** The line telling the requester what just happened to their request. */
function requesterLine(request: AccessRequest, now: Date): string {
  const id = formatId(request.id);
  const at = (date: Date | undefined) => slackDate(date ?? now);
  switch (request.status) {
    case 'pending': {
      const progress =
        request.approvals.length > 0 ? ` ${request.approvals.length} of ${request.approvalsRequired} approvals so far.` : '';
      return `:inbox_tray: Your request ${id} for ${code(request.clusterId)} was received and is waiting for approval.${progress}`;
    }
    case 'approved':
      return request.breakGlass
        ? `:rotating_light: You broke glass for ${id}, without approval. Adding the rule now: ${ruleText(request)}. The approvers have been told and will review it.`
        : `:white_check_mark: ${id} was approved by ${approversText(request)}. Adding the rule now: ${ruleText(request)}.`;
    case 'active':
      return `:large_green_circle: Access is open: connect to ${code(`${request.endpoint}:${request.port}`)} from ${code(describeSource(request.source))} until ${at(request.expiresAt)}.`;
    case 'expired':
      return `:hourglass: ${id} expired at ${at(request.endedAt)}; the rule was removed and access is closed to new connections.`;
    case 'revoked':
      return `:lock: ${id} was revoked by ${actorMrkdwn(request.endedBy)} at ${at(request.endedAt)}; the rule was removed and access is closed to new connections.`;
    case 'denied':
      return `:no_entry_sign: ${id} was denied by ${actorMrkdwn(request.deniedBy?.userId ?? request.endedBy)}.`;
    case 'cancelled':
      return request.endedBy === 'system'
        ? `:heavy_multiplication_x: ${id} was cancelled: no approver decided in time.`
        : `:heavy_multiplication_x: ${id} was cancelled by ${actorMrkdwn(request.endedBy)}.`;
    case 'failed':
      return `:x: ${id} failed: ${failureText(request)} No access was opened.`;
  }
}

/**
 * The direct message to the requester for the request's current state. `note` is mrkdwn from our own
 * code (not user input), added as a line of its own.
 */
export function requesterMessage(request: RequestWithFacts, note?: string, now: Date = new Date()): SlackMessage {
  const line = requesterLine(request, now);
  const body = note ? `${line}\n${fit(note, SECTION_TEXT_MAX - line.length - 1)}` : line;
  const details = `${formatId(request.id)} · ${code(request.clusterId)}${ticketSuffix(request)} · ${ruleText(request)} · ${formatDuration(request.durationSeconds)}`;
  const extra: Block[] = [];
  if (request.status === 'active' && request.facts) {
    extra.push({ type: 'section', text: mrkdwn(fit(connectionText(request, request.facts), SECTION_TEXT_MAX)) });
  }
  if (request.status === 'expired' || request.status === 'revoked') extra.push(context(`:information_source: ${sessionsNote(request)}`));
  if (request.status === 'active') extra.push(grantButtons(request));
  return {
    text: body,
    blocks: [{ type: 'section', text: mrkdwn(fit(body, SECTION_TEXT_MAX)) }, ...extra, context(details)],
  };
}

/** Action ids of Approve / Deny on an approval message; the value is only the request id. */
export const DECISION_ACTIONS = { approve: 'approve', deny: 'deny' } as const;

/** Action ids of the buttons on a requester's own request; the value is only the request id. */
export const GRANT_ACTIONS = { extend: 'extend-access', end: 'end-access' } as const;

/** Extend (asks approvers for the original duration again) and Done (ends the access now). */
export function grantButtons(request: AccessRequest): types.ActionsBlock {
  const value = String(request.id);
  return {
    type: 'actions',
    elements: [
      { type: 'button', action_id: GRANT_ACTIONS.extend, text: plain(`Extend ${formatDuration(request.durationSeconds)}`, 75), value },
      {
        type: 'button',
        action_id: GRANT_ACTIONS.end,
        text: plain('Done, revoke now', 75),
        style: 'danger',
        value,
        confirm: {
          title: plain(`End ${formatId(request.id)} now?`, 100),
          text: plain(`The rule is removed and new connections to ${request.clusterId} are refused.`, CONFIRM_TEXT_MAX),
          confirm: plain('Revoke now', 30),
          deny: plain('Keep it', 30),
        },
      },
    ],
  };
}
