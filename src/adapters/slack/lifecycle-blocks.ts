/**
 * Block Kit for the lifecycle commands: the list, a request's story, and extension requests. Pure,
 * and within Slack's limits like blocks.ts (whose helpers it uses).
 */
import type { types } from '@slack/bolt';
import type { AccessOverview } from '../../app/list-access.js';
import type { Extension } from '../../app/ports.js';
import type { RequestStory } from '../../app/request-story.js';
import { actorMrkdwn } from '../../domain/actor.js';
import { formatDuration } from '../../domain/durations.js';
import { describeSource, formatId, type AccessRequest } from '../../domain/request.js';
import { reviewItem } from './break-glass-blocks.js';
import {
  code,
  context,
  escapeAndFit,
  fit,
  GRANT_ACTIONS,
  grantButtons,
  mrkdwn,
  plain,
  ruleText,
  slackDate,
  ticketMrkdwn,
  ticketSuffix,
  type Block,
  type SlackMessage,
} from './blocks.js';

export const EXTENSION_ACTIONS = { approve: 'extension-approve', deny: 'extension-deny' } as const;

// A message holds at most 50 blocks; each listed request takes two.
const MESSAGE_BLOCKS_MAX = 50;
const LISTED_PER_SECTION = 10;
const HISTORY_LINES_MAX = 40;

function summaryLine(request: AccessRequest, now: Date): string {
  const left =
    request.status === 'active' && request.expiresAt
      ? `expires in ${formatDuration(Math.max(0, (request.expiresAt.getTime() - now.getTime()) / 1000))}`
      : request.status === 'pending'
        ? 'waiting for approval'
        : 'rule being added';
  return `*${formatId(request.id)}* ${code(request.clusterId)} from ${code(describeSource(request.source))} · ${left}${ticketSuffix(request)}`;
}

function cancelButton(request: AccessRequest): types.ActionsBlock {
  return {
    type: 'actions',
    elements: [{ type: 'button', action_id: GRANT_ACTIONS.end, text: plain('Cancel request', 75), value: String(request.id) }],
  };
}

function decisionButtons(request: AccessRequest): types.ActionsBlock {
  const value = String(request.id);
  return {
    type: 'actions',
    elements: [
      { type: 'button', action_id: 'approve', text: plain('Approve', 75), style: 'primary', value },
      { type: 'button', action_id: 'deny', text: plain('Deny', 75), style: 'danger', value },
    ],
  };
}

function more(count: number, what: string): Block[] {
  return count > 0 ? [context(`…and ${count} more ${what}; use \`/cache-access status <id>\` for one.`)] : [];
}

/** `/cache-access list`: your open requests with their actions, and those waiting for your decision. */
export function listMessage({ mine, awaiting, unreviewed }: AccessOverview, now: Date = new Date()): SlackMessage {
  const blocks: Block[] = [];
  blocks.push({ type: 'section', text: mrkdwn(mine.length ? '*Your access*' : '*Your access*\nNothing pending or active.') });
  for (const request of mine.slice(0, LISTED_PER_SECTION)) {
    blocks.push({ type: 'section', text: mrkdwn(summaryLine(request, now)) });
    if (request.status === 'active') blocks.push(grantButtons(request));
    if (request.status === 'pending') blocks.push(cancelButton(request));
  }
  blocks.push(...more(mine.length - LISTED_PER_SECTION, 'of yours'));
  if (awaiting.length > 0) {
    blocks.push({ type: 'divider' }, { type: 'section', text: mrkdwn('*Waiting for your decision*') });
    for (const request of awaiting.slice(0, LISTED_PER_SECTION)) {
      const reason = request.reason.trim() ? ` · ${escapeAndFit(request.reason, 300)}` : '';
      blocks.push({ type: 'section', text: mrkdwn(`${summaryLine(request, now)}\nby ${actorMrkdwn(request.requesterId)} for ${formatDuration(request.durationSeconds)}${reason}`) });
      blocks.push(decisionButtons(request));
    }
    blocks.push(...more(awaiting.length - LISTED_PER_SECTION, 'waiting for you'));
  }
  if (unreviewed.length > 0) {
    blocks.push({ type: 'divider' }, { type: 'section', text: mrkdwn('*Break-glass grants to review*') });
    // Whatever room the 50 blocks of a message leave after the sections above, two per grant and one for the rest.
    const shown = Math.min(LISTED_PER_SECTION, Math.floor((MESSAGE_BLOCKS_MAX - blocks.length - 1) / 2));
    blocks.push(...unreviewed.slice(0, shown).flatMap(reviewItem));
    blocks.push(...more(unreviewed.length - shown, 'to review'));
  }
  const reviews = unreviewed.length > 0 ? `, ${unreviewed.length} break-glass grant(s) to review` : '';
  const text = `${mine.length} open request(s) of yours, ${awaiting.length} waiting for your decision${reviews}`;
  return { text, blocks };
}

/** Details not shown: message references, and AWS's failure message (account ids, ARNs; the code is shown). */
const UNSHOWN_DETAILS = new Set(['messages', 'message']);

function eventLine(event: RequestStory['history'][number]): string {
  const detail = event.detail ? Object.entries(event.detail).filter(([key]) => !UNSHOWN_DETAILS.has(key)) : [];
  const shown = detail.map(([key, value]) => `${key}: ${escapeAndFit(typeof value === 'string' ? value : JSON.stringify(value), 120)}`).join(', ');
  return `${slackDate(event.at)} · ${escapeAndFit(event.type, 60)} · ${actorMrkdwn(event.actor)}${shown ? ` (${shown})` : ''}`;
}

/** `/cache-access status <id>`: who asked, who decided, the rule, the times, every event. */
export function statusMessage({ request, history }: RequestStory): SlackMessage {
  const id = formatId(request.id);
  const decided = request.deniedBy
    ? `denied by ${actorMrkdwn(request.deniedBy.userId)}`
    : request.breakGlass
      ? `break-glass, without approval; ${request.breakGlass.reviewedBy ? `reviewed by ${actorMrkdwn(request.breakGlass.reviewedBy.userId)}` : 'not reviewed yet'}`
    : request.approvals.length
      ? `approved by ${request.approvals.map((a) => actorMrkdwn(a.userId)).join(', ')}`
      : 'not decided';
  const times = [
    `requested ${slackDate(request.createdAt)}`,
    request.activatedAt && `active ${slackDate(request.activatedAt)}`,
    request.expiresAt && `${request.endedAt ? 'was due to end' : 'ends'} ${slackDate(request.expiresAt)}`,
    request.endedAt && `ended ${slackDate(request.endedAt)} by ${actorMrkdwn(request.endedBy)}`,
  ].filter(Boolean);
  const lines = history.slice(-HISTORY_LINES_MAX).map(eventLine);
  const skipped = history.length - lines.length;
  const blocks: Block[] = [
    { type: 'header', text: plain(`Request ${id}: ${request.status}`, 150) },
    {
      type: 'section',
      text: mrkdwn(
        fit(
          [
            `*Requester:* ${actorMrkdwn(request.requesterId)} · *Decision:* ${decided}`,
            `*Cluster:* ${code(request.clusterId)} · *Rule:* ${ruleText(request)} · *Duration:* ${formatDuration(request.durationSeconds)}`,
            `*Reason:* ${request.reason.trim() ? escapeAndFit(request.reason, 1000) : '_none given_'}${ticketMrkdwn(request) ? `\n*Ticket:* ${ticketMrkdwn(request)}` : ''}`,
            `*Times:* ${times.join(' · ')}`,
          ].join('\n'),
          3000,
        ),
      ),
    },
    { type: 'section', text: mrkdwn(fit(`*Events*${skipped > 0 ? ` (last ${lines.length} of ${history.length})` : ''}\n${lines.join('\n')}`, 3000)) },
  ];
  return { text: `Request ${id} (${request.clusterId}) is ${request.status}`, blocks };
}

function approversText(extension: Extension): string {
  return extension.approvals.map((approval) => actorMrkdwn(approval.userId)).join(', ');
}

function extensionOutcome(extension: Extension): string {
  const outcome = extension.outcome!;
  switch (outcome.kind) {
    case 'approved':
      return `:white_check_mark: Extended by ${formatDuration(extension.seconds)}, approved by ${approversText(extension)} at ${slackDate(outcome.at)}; now ends ${slackDate(extension.until)}.`;
    case 'denied':
      return `:no_entry_sign: Extension denied by ${actorMrkdwn(outcome.by)} at ${slackDate(outcome.at)}.`;
    case 'void':
      return `:heavy_multiplication_x: The access ended at ${slackDate(outcome.at)} before anyone decided; nothing to extend.`;
  }
}

/** Asks approvers for more time on an active grant, or shows what became of that. */
export function extensionMessage(request: AccessRequest, extension: Extension): SlackMessage {
  const id = formatId(request.id);
  const asked = `${actorMrkdwn(extension.by)} asks to extend ${id} (${code(request.clusterId)}${ticketSuffix(request)}, ${ruleText(request)}) by *${formatDuration(extension.seconds)}*, to ${slackDate(extension.until)}.`;
  const blocks: Block[] = [
    { type: 'header', text: plain(`Extension request ${id}`, 150) },
    { type: 'section', text: mrkdwn(fit(asked, 3000)) },
  ];
  if (extension.outcome) {
    blocks.push(context(extensionOutcome(extension)));
  } else {
    const { approvals, approvalsRequired } = extension;
    if (approvalsRequired > 1) {
      const soFar = approvals.length > 0 ? ` (${approversText(extension)})` : '';
      blocks.push(context(`:hourglass_flowing_sand: ${approvals.length} of ${approvalsRequired} approvals${soFar}`));
    }
    const value = String(request.id);
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', action_id: EXTENSION_ACTIONS.approve, text: plain('Approve extension', 75), style: 'primary', value },
        { type: 'button', action_id: EXTENSION_ACTIONS.deny, text: plain('Deny', 75), style: 'danger', value },
      ],
    });
  }
  return { text: `Extension request for ${id}: +${formatDuration(extension.seconds)}`, blocks };
}
