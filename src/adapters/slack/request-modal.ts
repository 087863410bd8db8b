/**
 * The request form: `/cache-access` with no text opens it. Submitting runs the same use case as the
 * slash command; a refusal that concerns one field is shown beside it, and the modal stays open.
 */
import type { App, BlockStaticSelectAction, types, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { ClusterCatalog } from '../../app/cluster-catalog.js';
import type { UseCaseDeps } from '../../app/deps.js';
import { refusedField, requestAccess, type AccessRequestOutcome, type RequestField } from '../../app/request-access.js';
import { formatDuration } from '../../domain/durations.js';
import { InvalidInputError } from '../../domain/errors.js';
import type { Source } from '../../domain/request.js';
import { parseSource, SOURCE_HELP } from '../../domain/source.js';
import type { ClusterPolicy, Policy } from '../../policy.js';
import { toSlackUpstreamError } from './notifier.js';
import { userMessageFor } from './user-message.js';

export const REQUEST_MODAL = 'request-access';
// Slack's limits: options in a static select, and our own bound on an inline error.
const OPTIONS_MAX = 100;
const ERROR_MAX = 500;
/** Slack waits 3 s for the answer to a submission; past this the modal closes and the outcome goes by DM. */
const INLINE_BUDGET_MS = 2_000;
const DURATION_LADDER = [300, 600, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 86_400, 172_800, 604_800];

function plain(text: string): types.PlainTextElement {
  return { type: 'plain_text', text, emoji: true };
}

function option(text: string, value: string): types.PlainTextOption {
  return { text: plain(text.slice(0, 75)), value };
}

/** The ladder marks within the widest range these rules allow, plus each rule's minimum, default and maximum. */
function choicesWithin(rules: readonly ClusterPolicy[]): number[] {
  const low = Math.min(...rules.map((r) => r.minDuration));
  const high = Math.max(...rules.map((r) => r.maxDuration));
  const marks = [...DURATION_LADDER, ...rules.flatMap((r) => [r.minDuration, r.duration, r.maxDuration])];
  return [...new Set(marks)].filter((s) => s >= low && s <= high).sort((a, b) => a - b).slice(0, OPTIONS_MAX);
}

/**
 * Durations to offer before a cluster is picked: those of every rule, within the widest range any rule
 * allows (the chosen cluster's own range is checked on submission).
 */
export function durationChoices(policy: Policy): number[] {
  return choicesWithin(policy.rules);
}

/** Durations to offer for one cluster: its rule's range; every rule's when no rule covers the cluster. */
export function durationChoicesFor(policy: Policy, clusterId: string): number[] {
  const rule = policy.ruleFor(clusterId);
  return choicesWithin(rule ? [rule] : policy.rules);
}

/**
 * The duration menu, for `clusterId` once one is picked. Preselected: `selected` (the person's choice)
 * when the menu still offers it, else the cluster's default (or the one default all rules share).
 */
function durationSelect(policy: Policy, clusterId?: string, selected?: string): types.StaticSelect {
  const rule = clusterId === undefined ? undefined : policy.ruleFor(clusterId);
  const seconds = clusterId === undefined ? durationChoices(policy) : durationChoicesFor(policy, clusterId);
  const options = seconds.map((s) => option(formatDuration(s), String(s)));
  const defaults = rule ? [rule.duration] : [...new Set(policy.rules.map((r) => r.duration))];
  const initial =
    options.find((o) => o.value === selected) ?? (defaults.length === 1 ? options.find((o) => o.value === String(defaults[0])) : undefined);
  return {
    type: 'static_select',
    action_id: 'duration',
    placeholder: plain("The cluster's default"),
    options,
    ...(initial ? { initial_option: initial } : {}),
  };
}

/** The modal. With no cluster to list, the picker becomes a text field rather than an empty menu. */
export function requestModalView(policy: Policy, clusters: string[]): types.ModalView {
  const shown = clusters.slice(0, OPTIONS_MAX);
  const hidden = clusters.length - shown.length;
  const clusterElement: types.StaticSelect | types.PlainTextInput =
    shown.length > 0
      ? { type: 'static_select', action_id: 'cluster', placeholder: plain('Choose a cluster'), options: shown.map((id) => option(id, id)) }
      : { type: 'plain_text_input', action_id: 'cluster', placeholder: plain('orders-redis') };
  return {
    type: 'modal',
    callback_id: REQUEST_MODAL,
    title: plain('Request cache access'),
    submit: plain('Request'),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'input',
        block_id: 'cluster',
        label: plain('Cluster'),
        // A pick from the menu is sent at once, so the duration menu can follow the cluster.
        ...(clusterElement.type === 'static_select' ? { dispatch_action: true } : {}),
        element: clusterElement,
        ...(hidden > 0 ? { hint: plain(`${hidden} more clusters are not listed: use /cache-access <cluster> <source> for them.`) } : {}),
      },
      {
        type: 'input',
        block_id: 'source',
        label: plain('Source'),
        element: { type: 'plain_text_input', action_id: 'source', placeholder: plain('sg-0a1b2c3d4e5f60789 or 10.1.2.0/24') },
        hint: plain(`${SOURCE_HELP[0]!.toUpperCase()}${SOURCE_HELP.slice(1)}.`),
      },
      {
        type: 'input',
        block_id: 'duration',
        label: plain('Duration'),
        optional: true,
        element: durationSelect(policy),
      },
      {
        type: 'input',
        block_id: 'reason',
        label: plain('Reason'),
        optional: true,
        element: { type: 'plain_text_input', action_id: 'reason', multiline: true, max_length: 1_000 },
      },
    ],
  };
}

/** What modalForCluster needs of a view Slack sent back (Bolt's ViewOutput, where absent buttons are null). */
interface ShownModal {
  callback_id?: string;
  title: types.PlainTextElement;
  submit?: types.PlainTextElement | null;
  close?: types.PlainTextElement | null;
  private_metadata?: string;
  blocks: (types.KnownBlock | types.Block)[];
}

/**
 * The open modal `current` (as Slack sends it back) with the duration menu of `clusterId`; every other
 * block is kept as it is, ids included, so Slack keeps what the person already entered.
 */
export function modalForCluster(
  policy: Policy,
  current: ShownModal,
  clusterId: string,
  selectedDuration?: string,
): types.ModalView {
  return {
    type: 'modal',
    callback_id: current.callback_id,
    title: current.title,
    ...(current.submit ? { submit: current.submit } : {}),
    ...(current.close ? { close: current.close } : {}),
    ...(current.private_metadata ? { private_metadata: current.private_metadata } : {}),
    blocks: current.blocks.map((block) =>
      block.block_id === 'duration' && block.type === 'input'
        ? { ...block, element: durationSelect(policy, clusterId, selectedDuration) }
        : block,
    ),
  };
}

/** Opens the modal at once (the trigger id lives 3 s), then fills in clusters AWS had to be asked about. */
export async function openRequestModal(
  client: webApi.WebClient,
  triggerId: string,
  deps: UseCaseDeps,
  catalog: ClusterCatalog,
): Promise<void> {
  const policy = deps.policy();
  const known = catalog.fresh();
  const opened = await client.views.open({ trigger_id: triggerId, view: requestModalView(policy, known ?? ClusterCatalog.namedIn(policy)) });
  if (known) return;
  const all = await catalog.refresh();
  if (!opened.view?.id || all.length === ClusterCatalog.namedIn(policy).length) return;
  const viewId = opened.view.id;
  // The hash makes Slack refuse the update if the view changed meanwhile (a picked cluster narrowed the
  // duration menu): that form then lists only the clusters the policy names.
  await client.views.update({ view_id: viewId, hash: opened.view.hash, view: requestModalView(policy, all) }).catch((error: unknown) => {
    if (toSlackUpstreamError(error, 'views.update').upstreamCode !== 'hash_conflict') throw error;
    deps.logger.info({ viewId }, 'the form changed before the AWS cluster list arrived; it lists the clusters the policy names');
  });
}

type Values = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null }>>;

interface FormInput {
  clusterId: string;
  source: Source;
  durationSeconds?: number;
  reason: string;
}

/** The pure part of the checks: what the slash command's parser would refuse, per field. */
function readForm(values: Values): { input?: FormInput; errors: Partial<Record<RequestField, string>> } {
  const field = (id: string) => values[id]?.[id];
  const clusterId = (field('cluster')?.selected_option?.value ?? field('cluster')?.value ?? '').trim();
  const durationValue = field('duration')?.selected_option?.value;
  const errors: Partial<Record<RequestField, string>> = {};
  if (clusterId === '') errors.cluster = 'Choose a cluster.';
  let source: Source | undefined;
  try {
    source = parseSource((field('source')?.value ?? '').trim());
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    errors.source = error.message;
  }
  if (Object.keys(errors).length > 0 || !source) return { errors };
  const durationSeconds = durationValue ? Number(durationValue) : undefined;
  return { input: { clusterId, source, durationSeconds, reason: field('reason')?.value ?? '' }, errors };
}

export function registerRequestModal(app: App, deps: UseCaseDeps, logger: Logger): void {
  // A cluster picked in the form: its duration menu replaces the one of every rule. Slack keeps an
  // input's state across updates while its ids stay the same, so it may keep showing a duration already
  // chosen rather than initial_option; submission checks the duration against the cluster anyway.
  const clusterPicked = { callback_id: REQUEST_MODAL, block_id: 'cluster', action_id: 'cluster' };
  app.action<BlockStaticSelectAction>(clusterPicked, async ({ ack, body, action, client }) => {
    await ack();
    const { view } = body;
    if (!view || action.type !== 'static_select') return;
    const clusterId = action.selected_option.value;
    const selected = (view.state.values as Values).duration?.duration?.selected_option?.value;
    const next = modalForCluster(deps.policy(), view, clusterId, selected);
    try {
      // With the hash, Slack refuses the update if the view changed since (e.g. the AWS cluster list arrived).
      await client.views.update({ view_id: view.id, hash: view.hash, view: next });
    } catch (error) {
      logger.info({ err: error, viewId: view.id, clusterId }, "could not narrow the form's durations to the picked cluster");
    }
  });

  app.view(REQUEST_MODAL, async ({ ack, body, view, client }) => {
    const userId = body.user.id;
    const { input, errors } = readForm(view.state.values as Values);
    if (!input) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    const context = { userId, clusterId: input.clusterId, viewId: view.id };
    const attempt = requestAccess(deps, {
      requesterId: userId,
      requesterName: body.user.name,
      ...input,
      // A retried submission of the same view stores nothing twice.
      dedupeKey: `modal:${view.id}`,
    }).then(
      (outcome) => ({ outcome }),
      (error: unknown) => ({ error }),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), INLINE_BUDGET_MS);
    });
    const early = await Promise.race([attempt, late]);
    clearTimeout(timer);
    if (early && 'error' in early) {
      const message = userMessageFor(early.error, logger, context).slice(0, ERROR_MAX);
      await ack({ response_action: 'errors', errors: { [refusedField(early.error) ?? 'cluster']: message } });
      return;
    }
    await ack();
    const result = early ?? (await attempt);
    if ('error' in result) {
      await tellByDm(client, userId, userMessageFor(result.error, logger, context), logger);
      return;
    }
    logger.info({ ...context, requestId: result.outcome.request.id, created: result.outcome.created }, 'access requested from the modal');
    await tellOutcome(deps, result.outcome, logger);
  });
}

/**
 * The requester hears by DM, as for every later change: an auto-approval has told them already. The
 * DM is kept with the request, so later changes refresh it like every other message about it.
 */
async function tellOutcome(deps: UseCaseDeps, outcome: AccessRequestOutcome, logger: Logger): Promise<void> {
  if (!outcome.created || outcome.autoApproved) return;
  try {
    await deps.store.addMessageRefs([await deps.notifier.tellRequester(outcome.request)]);
  } catch (error) {
    logger.warn({ err: error, requestId: outcome.request.id }, 'could not tell the requester their request was received');
  }
}

async function tellByDm(client: webApi.WebClient, userId: string, text: string, logger: Logger): Promise<void> {
  try {
    const dm = await client.conversations.open({ users: userId });
    if (dm.channel?.id) await client.chat.postMessage({ channel: dm.channel.id, text });
  } catch (error) {
    logger.warn({ err: error, userId }, 'could not tell the requester why the request failed');
  }
}
