/**
 * The App Home tab: a person's own access, the requests waiting for their decision and the break-glass grants
 * they may review, with the same buttons (and so the same listeners and checks) as the messages. Published
 * when the tab is opened, and again after a click in it.
 */
import type { App, BlockButtonAction, types, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { UseCaseDeps } from '../../app/deps.js';
import { listAccess, type AccessOverview } from '../../app/list-access.js';
import { actorMrkdwn } from '../../domain/actor.js';
import { formatDuration } from '../../domain/durations.js';
import { describeSource, formatId, type AccessRequest } from '../../domain/request.js';
import { DECISION_ACTIONS, escapeMrkdwn, GRANT_ACTIONS, slackDate, ticketSuffix, type Block } from './blocks.js';
import { reviewItem } from './break-glass-blocks.js';
import type { PostAckQueue } from './post-ack-queue.js';

/** The message buttons' action ids, so the same listeners (and their checks) serve the Home tab. */
const ACTIONS = { ...DECISION_ACTIONS, extend: GRANT_ACTIONS.extend, end: GRANT_ACTIONS.end } as const;

// Slack takes at most 100 blocks in a view: the introduction, and per section a header, a closing line and two
// blocks an item. Each section shows at most ITEMS_PER_SECTION items, fewer when four sections would not fit.
const VIEW_BLOCKS_MAX = 100;
const ITEMS_PER_SECTION = 15;
const REASON_MAX = 300;

function mrkdwn(text: string): types.MrkdwnElement {
  return { type: 'mrkdwn', text };
}

function plain(text: string): types.PlainTextElement {
  return { type: 'plain_text', text, emoji: true };
}

function button(action: keyof typeof ACTIONS, label: string, request: AccessRequest, style?: 'primary' | 'danger'): types.Button {
  return { type: 'button', action_id: ACTIONS[action], text: plain(label), value: String(request.id), ...(style ? { style } : {}) };
}

function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** "#12 · `orders-redis` from `sg-1` · TCP 6379 · <ticket link>" */
function summary(request: AccessRequest): string {
  const cluster = escapeMrkdwn(request.clusterId);
  const source = escapeMrkdwn(describeSource(request.source));
  return `*${formatId(request.id)}* · \`${cluster}\` from \`${source}\` · TCP ${request.port}${ticketSuffix(request)}`;
}

function timeLeft(request: AccessRequest, now: Date): string {
  if (!request.expiresAt) return '';
  const seconds = Math.max(0, Math.ceil((request.expiresAt.getTime() - now.getTime()) / 60_000) * 60);
  return `${formatDuration(seconds)} left, until ${slackDate(request.expiresAt)}`;
}

function myItem(request: AccessRequest, now: Date): Block[] {
  switch (request.status) {
    case 'active':
      return [
        { type: 'section', text: mrkdwn(`:large_green_circle: ${summary(request)}\nActive: ${timeLeft(request, now)}`) },
        { type: 'actions', block_id: `mine-${request.id}`, elements: [button('extend', 'Extend', request), button('end', 'Revoke now', request, 'danger')] },
      ];
    case 'pending': {
      const progress = request.approvalsRequired > 1 ? ` (${request.approvals.length} of ${request.approvalsRequired} approvals)` : '';
      return [
        { type: 'section', text: mrkdwn(`:hourglass_flowing_sand: ${summary(request)}\nWaiting for approval${progress}, for ${formatDuration(request.durationSeconds)}`) },
        { type: 'actions', block_id: `mine-${request.id}`, elements: [button('end', 'Cancel request', request)] },
      ];
    }
    default:
      // Approved: the rule is being added; there is nothing to click until it is active.
      return [
        { type: 'section', text: mrkdwn(`:white_check_mark: ${summary(request)}\nApproved; the rule is being added.`) },
        { type: 'context', elements: [mrkdwn(`Requested ${slackDate(request.createdAt)}`)] },
      ];
  }
}

function awaitingItem(request: AccessRequest): Block[] {
  const reason = request.reason.trim() === '' ? '_no reason given_' : escapeMrkdwn(cut(request.reason, REASON_MAX));
  const progress = request.approvalsRequired > 1 ? ` · ${request.approvals.length} of ${request.approvalsRequired} approvals` : '';
  return [
    {
      type: 'section',
      text: mrkdwn(`${summary(request)} · ${formatDuration(request.durationSeconds)}${progress}\n${actorMrkdwn(request.requesterId)}: ${reason}`),
    },
    {
      type: 'actions',
      block_id: `awaiting-${request.id}`,
      elements: [button('approve', 'Approve', request, 'primary'), button('deny', 'Deny', request, 'danger')],
    },
  ];
}

interface Section {
  title: string;
  items: AccessRequest[];
  render: (request: AccessRequest) => Block[];
  /** Said when there is no item; without it, the section is left out then. */
  empty?: string;
}

/** A titled list, cut to `shown` items with a pointer to the full list. */
function section({ title, items, render, empty }: Section, shown: number): Block[] {
  const blocks: Block[] = [{ type: 'header', text: plain(title) }];
  if (items.length === 0) return [...blocks, { type: 'context', elements: [mrkdwn(empty ?? '')] }];
  blocks.push(...items.slice(0, shown).flatMap(render));
  const more = items.length - shown;
  if (more > 0) blocks.push({ type: 'context', elements: [mrkdwn(`…and ${more} more, not shown; use \`/cache-access status <id>\` for one.`)] });
  return blocks;
}

/**
 * How many items each section shows when `room` items fit in all: an equal share each, at most ITEMS_PER_SECTION,
 * and what a short section leaves goes to the longer ones.
 */
function itemsShown(counts: number[], room: number): number[] {
  const shown = counts.map(() => 0);
  const shortestFirst = counts.map((_, index) => index).sort((a, b) => counts[a]! - counts[b]!);
  let left = room;
  shortestFirst.forEach((index, position) => {
    shown[index] = Math.min(counts[index]!, ITEMS_PER_SECTION, Math.floor(left / (shortestFirst.length - position)));
    left -= shown[index]!;
  });
  return shown;
}

/** The Home tab for one person. Pure. */
export function homeView({ mine, awaiting, unreviewed }: AccessOverview, now: Date): types.HomeView {
  const mineItem = (request: AccessRequest) => myItem(request, now);
  const sections: Section[] = [
    { title: 'Your access', items: mine.filter((r) => r.status !== 'pending'), render: mineItem, empty: 'No active access.' },
    { title: 'Your pending requests', items: mine.filter((r) => r.status === 'pending'), render: mineItem, empty: 'Nothing waiting.' },
    { title: 'Waiting for your decision', items: awaiting, render: awaitingItem },
    { title: 'Break-glass grants to review', items: unreviewed, render: reviewItem },
  ].filter((s) => s.items.length > 0 || s.empty !== undefined);
  const room = Math.floor((VIEW_BLOCKS_MAX - 1 - 2 * sections.length) / 2);
  const shown = itemsShown(sections.map((s) => s.items.length), room);
  return {
    type: 'home',
    blocks: [
      { type: 'section', text: mrkdwn('Temporary network access to ElastiCache clusters. Type `/cache-access` to request access.') },
      ...sections.flatMap((s, index) => section(s, shown[index]!)),
    ],
  };
}

export async function publishHome(client: webApi.WebClient, deps: UseCaseDeps, userId: string): Promise<void> {
  const overview = await listAccess(deps, userId);
  await client.views.publish({ user_id: userId, view: homeView(overview, deps.clock.now()) });
}

/**
 * After a click made in the Home tab, the clicker is looking at it: republish it with the click's
 * effect. Everyone else's tab (the requester's, other approvers') is brought up to date when opened,
 * so a click costs one listing, not one per person involved.
 */
export async function refreshHomeAfterClick(
  client: webApi.WebClient,
  deps: UseCaseDeps,
  logger: Logger,
  body: BlockButtonAction,
): Promise<void> {
  if (body.view?.type !== 'home') return;
  await publishHome(client, deps, body.user.id).catch((error: unknown) => {
    logger.warn({ err: error, userId: body.user.id }, 'could not refresh the Home tab after a click');
  });
}

export function registerHomeTab(app: App, deps: UseCaseDeps, logger: Logger, work: PostAckQueue): void {
  // Bolt acknowledges events itself; the listing (every open request) runs after, like other Slack work.
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    work.add(() =>
      publishHome(client, deps, event.user).catch((error: unknown) => {
        logger.warn({ err: error, userId: event.user }, 'could not publish the Home tab');
      }),
    );
  });
}
