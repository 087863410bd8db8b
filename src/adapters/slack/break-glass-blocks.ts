/**
 * The loud message about a break-glass grant, for its approvers and the policy's notify channel: who
 * opened what, why and until when, whether an approver has reviewed it, and Reviewed / Revoke now
 * buttons. Pure, and within Slack's limits like blocks.ts (whose helpers it uses).
 */
import type { types } from '@slack/bolt';
import type { RequestWithFacts } from '../../app/ports.js';
import { actorMrkdwn } from '../../domain/actor.js';
import { formatDuration } from '../../domain/durations.js';
import { describeSource, formatId, isUnreviewedBreakGlass, type AccessRequest } from '../../domain/request.js';
import {
  code,
  CONNECTION_TRACKING_NOTE,
  context,
  escapeAndFit,
  failureText,
  fit,
  GRANT_ACTIONS,
  mrkdwn,
  plain,
  ruleText,
  slackDate,
  type Block,
  type SlackMessage,
} from './blocks.js';

/** Action id of the Reviewed button; the value is only the request id. */
export const BREAK_GLASS_ACTIONS = { reviewed: 'break-glass-reviewed' } as const;

const SECTION_TEXT_MAX = 3000;
const FIELD_TEXT_MAX = 2000;
/** A listed grant's reason: the rest of its section (ids, names, dates) stays far under SECTION_TEXT_MAX. */
const REVIEW_REASON_MAX = 300;

/** What became of the grant since the glass was broken. */
function stateLine(request: AccessRequest, now: Date): string {
  const at = (date: Date | undefined) => slackDate(date ?? now);
  switch (request.status) {
    case 'active':
      return `:large_green_circle: Open until ${at(request.expiresAt)}.`;
    case 'expired':
      return `:hourglass: Expired at ${at(request.endedAt)}; rule removed. ${CONNECTION_TRACKING_NOTE}`;
    case 'revoked':
      return `:lock: Revoked by ${actorMrkdwn(request.endedBy)} at ${at(request.endedAt)}; rule removed. ${CONNECTION_TRACKING_NOTE}`;
    case 'failed':
      return `:x: Failed at ${at(request.endedAt)}: ${failureText(request)} No access was opened.`;
    default:
      return ':hourglass_flowing_sand: The rule is being added.';
  }
}

function reviewLine(request: AccessRequest): string {
  const reviewed = request.breakGlass?.reviewedBy;
  return reviewed
    ? `:white_check_mark: Reviewed by ${actorMrkdwn(reviewed.userId)} at ${slackDate(reviewed.at)}.`
    : `:warning: *Unreviewed.* An approver other than ${actorMrkdwn(request.requesterId)} must look at it and click *Reviewed*.`;
}

function reviewedButton(request: AccessRequest): types.Button {
  return { type: 'button', action_id: BREAK_GLASS_ACTIONS.reviewed, text: plain('Reviewed', 75), style: 'primary', value: String(request.id) };
}

function buttons(request: AccessRequest): types.ActionsBlock | undefined {
  const value = String(request.id);
  const elements: types.Button[] = [];
  if (isUnreviewedBreakGlass(request)) elements.push(reviewedButton(request));
  if (request.status === 'approved' || request.status === 'active') {
    elements.push({
      type: 'button',
      action_id: GRANT_ACTIONS.end,
      text: plain('Revoke now', 75),
      style: 'danger',
      value,
      confirm: {
        title: plain(`Revoke ${formatId(request.id)} now?`, 100),
        text: plain(`The rule is removed and new connections to ${request.clusterId} are refused.`, 300),
        confirm: plain('Revoke now', 30),
        deny: plain('Keep it', 30),
      },
    });
  }
  return elements.length > 0 ? { type: 'actions', elements } : undefined;
}

/** When the grant ends: its end time, or, while the rule is being added, how long after. */
function until(request: AccessRequest): string {
  return request.expiresAt ? slackDate(request.expiresAt) : `${formatDuration(request.durationSeconds)} after the rule is in place`;
}

/**
 * An unreviewed grant in a list for its approvers (`/cache-access list`, the Home tab), two blocks: who opened
 * which cluster when, until when and why, and the Reviewed button of the loud message (same action, same checks).
 */
export function reviewItem(request: AccessRequest): Block[] {
  const opened = slackDate(request.approvedAt ?? request.createdAt);
  const end = request.endedAt ? `ended ${slackDate(request.endedAt)}` : `open until ${until(request)}`;
  const header = `*${formatId(request.id)}* ${code(request.clusterId)} from ${code(describeSource(request.source))} · ${request.status}`;
  const story = `opened by ${actorMrkdwn(request.requesterId)} ${opened} without approval, ${end}`;
  return [
    { type: 'section', text: mrkdwn(`${header}\n${story}\n*Why:* ${escapeAndFit(request.reason, REVIEW_REASON_MAX)}`) },
    { type: 'actions', block_id: `review-${request.id}`, elements: [reviewedButton(request)] },
  ];
}

export function breakGlassMessage(request: RequestWithFacts, now: Date = new Date()): SlackMessage {
  const id = formatId(request.id);
  const duration = formatDuration(request.durationSeconds);
  const field = (text: string) => mrkdwn(fit(text, FIELD_TEXT_MAX));
  const reasonLabel = '*Why*\n';
  const blocks: Block[] = [
    { type: 'header', text: plain(`:rotating_light: BREAK-GLASS access ${id}`, 150) },
    {
      type: 'section',
      text: mrkdwn(`:rotating_light: *${actorMrkdwn(request.requesterId)} opened ${code(request.clusterId)} without approval.*`),
    },
    {
      type: 'section',
      fields: [
        field(`*Who*\n${actorMrkdwn(request.requesterId)}`),
        field(`*Cluster*\n${code(request.clusterId)} (${request.engine})\n${code(`${request.endpoint}:${request.port}`)}`),
        field(`*Rule*\n${ruleText(request)}`),
        field(`*Until*\n${until(request)}`),
        field(`*Request*\n${id} (policy rule ${code(request.policyMatch)})`),
        ...(request.facts ? [field(`*Account / region*\n${code(request.facts.accountId)} / ${code(request.facts.region || 'default')}`)] : []),
      ],
    },
    { type: 'section', text: mrkdwn(reasonLabel + escapeAndFit(request.reason, SECTION_TEXT_MAX - reasonLabel.length)) },
    context(stateLine(request, now)),
    context(reviewLine(request)),
  ];
  const actions = buttons(request);
  if (actions) blocks.push(actions);
  const review = isUnreviewedBreakGlass(request) ? 'unreviewed' : 'reviewed';
  const text = `:rotating_light: Break-glass ${id}: ${actorMrkdwn(request.requesterId)} opened ${code(request.clusterId)} for ${duration} without approval (${request.status}, ${review})`;
  return { text, blocks };
}
