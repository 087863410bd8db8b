/**
 * Block Kit for the messages cache-access posts. Pure: a request in, a message out. Every text that can
 * carry outside input (reasons, AWS errors) is escaped for mrkdwn and cut to Slack's limits, because
 * Slack rejects the whole message when one field is too long.
 */
import type { types } from '@slack/bolt';
import { formatDuration } from '../../domain/durations.js';
import { describeSource, formatId, type AccessRequest } from '../../domain/request.js';

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
// Our own bound: AWS messages can run to kilobytes, and a message is no place for all of them.
const FAILURE_MESSAGE_MAX = 500;

/** Escapes the three characters mrkdwn treats as markup, so user text cannot mention or link. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes `raw` and cuts it to `max` UTF-16 units with "…", never splitting an escape or a code point. */
function escapeAndFit(raw: string, max: number): string {
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
function fit(text: string, max: number): string {
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

function mention(userId: string | undefined): string {
  return userId === undefined || userId === 'system' ? 'cache-access' : `<@${userId}>`;
}

function code(text: string): string {
  return `\`${escapeAndFit(text, 200)}\``;
}

/** The ingress rule in words, e.g. "inbound TCP 6379 on `sg-1` from `10.0.0.0/24`". */
function ruleText(request: AccessRequest): string {
  return `inbound TCP ${request.port} on ${code(request.targetGroupId)} from ${code(describeSource(request.source))}`;
}

function approversText(request: AccessRequest): string {
  return request.approvals.map((a) => mention(a.userId)).join(', ');
}

function mrkdwn(text: string): types.MrkdwnElement {
  return { type: 'mrkdwn', text };
}

function plain(text: string, max: number): types.PlainTextElement {
  return { type: 'plain_text', text: fit(text, max), emoji: true };
}

function context(text: string): types.ContextBlock {
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
function outcomeLine(request: AccessRequest, now: Date): string {
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
      return `:hourglass: ${approved}; expired at ${at(request.endedAt)}, rule removed.`;
    case 'revoked':
      return `:lock: ${approved}; revoked by ${mention(request.endedBy)} at ${at(request.endedAt)}, rule removed.`;
    case 'denied':
      return `:no_entry_sign: Denied by ${mention(request.deniedBy?.userId ?? request.endedBy)} at ${at(request.deniedBy?.at ?? request.endedAt)}.`;
    case 'cancelled':
      return request.endedBy === 'system'
        ? `:heavy_multiplication_x: Cancelled at ${at(request.endedAt)}: no decision in time.`
        : `:heavy_multiplication_x: Cancelled by ${mention(request.endedBy)} at ${at(request.endedAt)}.`;
    case 'failed':
      return `:x: Failed at ${at(request.endedAt)}: ${failureText(request)}`;
  }
}

function failureText(request: AccessRequest): string {
  const failure = request.failure ?? { code: 'Unknown', message: 'no details recorded' };
  return `AWS said ${code(failure.code)}: ${escapeAndFit(failure.message, FAILURE_MESSAGE_MAX)}`;
}

function decisionButtons(request: AccessRequest): types.ActionsBlock {
  const id = formatId(request.id);
  const source = describeSource(request.source);
  const duration = formatDuration(request.durationSeconds);
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: 'approve',
        text: plain('Approve', 75),
        style: 'primary',
        // Only locates the request: who may decide is checked against the click's signed user id.
        value: String(request.id),
        confirm: {
          title: plain(`Approve ${id}?`, 100),
          text: plain(
            `This opens TCP ${request.port} on ${request.targetGroupId} from ${source} for ${duration}.`,
            CONFIRM_TEXT_MAX,
          ),
          confirm: plain('Approve', 30),
          deny: plain('Cancel', 30),
        },
      },
      { type: 'button', action_id: 'deny', text: plain('Deny', 75), style: 'danger', value: String(request.id) },
    ],
  };
}

/** The message approvers see: what is asked, and either the decision buttons or what became of it. */
export function approvalMessage(request: AccessRequest, now: Date = new Date()): SlackMessage {
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
        field(`*Requester*\n${mention(request.requesterId)}`),
        field(`*Cluster*\n${code(request.clusterId)} (${request.engine})\n${code(`${request.endpoint}:${request.port}`)}`),
        field(`*Rule to add*\n${ruleText(request)}`),
        field(`*Duration*\n${duration}`),
        field(`*Request*\n${id}`),
      ],
    },
    { type: 'section', text: mrkdwn(reasonLabel + reason) },
  ];
  if (request.status === 'pending') {
    if (request.approvalsRequired > 1) {
      const soFar = request.approvals.length > 0 ? ` (${approversText(request)})` : '';
      blocks.push(context(`:hourglass_flowing_sand: ${request.approvals.length} of ${request.approvalsRequired} approvals${soFar}`));
    }
    if (request.approvals.length < request.approvalsRequired) blocks.push(decisionButtons(request));
  } else {
    blocks.push(context(outcomeLine(request, now)));
  }
  const text = `Access request ${id} from ${mention(request.requesterId)}: ${code(request.clusterId)} for ${duration} (${STATUS_WORDS[request.status]})`;
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
      return `:white_check_mark: ${id} was approved by ${approversText(request)}. Adding the rule now: ${ruleText(request)}.`;
    case 'active':
      return `:large_green_circle: Access is open: connect to ${code(`${request.endpoint}:${request.port}`)} from ${code(describeSource(request.source))} until ${at(request.expiresAt)}.`;
    case 'expired':
      return `:hourglass: ${id} expired at ${at(request.endedAt)}; the rule was removed and access is closed.`;
    case 'revoked':
      return `:lock: ${id} was revoked by ${mention(request.endedBy)} at ${at(request.endedAt)}; the rule was removed and access is closed.`;
    case 'denied':
      return `:no_entry_sign: ${id} was denied by ${mention(request.deniedBy?.userId ?? request.endedBy)}.`;
    case 'cancelled':
      return request.endedBy === 'system'
        ? `:heavy_multiplication_x: ${id} was cancelled: no approver decided in time.`
        : `:heavy_multiplication_x: ${id} was cancelled by ${mention(request.endedBy)}.`;
    case 'failed':
      return `:x: ${id} failed: ${failureText(request)} No access was opened.`;
  }
}

/**
 * The direct message to the requester for the request's current state. `note` is mrkdwn from our own
 * code (not user input), added as a line of its own.
 */
export function requesterMessage(request: AccessRequest, note?: string, now: Date = new Date()): SlackMessage {
  const line = requesterLine(request, now);
  const body = note ? `${line}\n${fit(note, SECTION_TEXT_MAX - line.length - 1)}` : line;
  const details = `${formatId(request.id)} · ${code(request.clusterId)} · ${ruleText(request)} · ${formatDuration(request.durationSeconds)}`;
  return {
    text: body,
    blocks: [{ type: 'section', text: mrkdwn(fit(body, SECTION_TEXT_MAX)) }, context(details)],
  };
}
