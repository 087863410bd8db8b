import type { App, SlashCommand, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { breakGlass, type BreakGlassOutcome } from '../../app/break-glass.js';
import { requestAccess, type AccessRequestOutcome } from '../../app/request-access.js';
import type { UseCaseDeps } from '../../app/deps.js';
import { parseCommand, USAGE } from '../../domain/command.js';
import { formatDuration } from '../../domain/durations.js';
import { InvalidInputError } from '../../domain/errors.js';
import { describeSource } from '../../domain/request.js';
import { ticketSuffix } from './blocks.js';
import { isLifecycleCommand, runLifecycleCommand } from './lifecycle-commands.js';
import type { PostAckQueue } from './post-ack-queue.js';
import { userMessageFor } from './user-message.js';

export const SLASH_COMMAND = '/cache-access';

/** Opens the request form for a command's trigger id. */
export type OpenModal = (client: webApi.WebClient, triggerId: string) => Promise<void>;

/**
 * /cache-access: parsing is pure and instant, so usage errors go back in the acknowledgement itself;
 * everything that talks to AWS or the database runs after ack(), through the post-ack queue.
 */
export function registerCommandListener(app: App, deps: UseCaseDeps, logger: Logger, openModal: OpenModal, work: PostAckQueue): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    let parsed;
    try {
      parsed = parseCommand(command.text);
    } catch (error) {
      const text = error instanceof InvalidInputError ? `:no_entry: ${error.message}` : userMessageFor(error, logger, {});
      await ack({ response_type: 'ephemeral', text });
      return;
    }
    if (parsed.kind === 'open-modal') {
      // The trigger id expires 3 s after the command: open the form right after acknowledging.
      await ack();
      await openModal(client, command.trigger_id).catch(async (error: unknown) => {
        await respond({ response_type: 'ephemeral', text: userMessageFor(error, logger, { userId: command.user_id }) });
      });
      return;
    }
    if (isLifecycleCommand(parsed)) {
      await ack();
      work.add(async () => {
        const context = { userId: command.user_id, command: parsed.kind };
        const reply = await runLifecycleCommand(deps, parsed, command.user_id).catch((error: unknown) => ({
          text: userMessageFor(error, logger, context),
        }));
        await respond({ response_type: 'ephemeral', ...reply });
      });
      return;
    }
    if (parsed.kind !== 'request' && parsed.kind !== 'break-glass') {
      await ack({ response_type: 'ephemeral', text: USAGE });
      return;
    }
    await ack();
    const request = parsed;
    work.add(async () => {
      const context = { userId: command.user_id, clusterId: request.clusterId, triggerId: command.trigger_id, kind: request.kind };
      const input = {
        requesterId: command.user_id,
        requesterName: command.user_name,
        clusterId: request.clusterId,
        source: request.source,
        durationSeconds: request.durationSeconds,
        reason: request.reason,
        dedupeKey: dedupeKeyOf(command),
      };
      let text: string;
      try {
        if (request.kind === 'break-glass') {
          const outcome = await breakGlass(deps, input);
          logger.warn({ ...context, requestId: outcome.request.id, created: outcome.created }, 'break-glass access opened without approval');
          text = brokenGlassText(outcome);
        } else {
          const outcome = await requestAccess(deps, input);
          logger.info({ ...context, requestId: outcome.request.id, created: outcome.created }, 'access requested');
          text = receivedText(outcome);
        }
      } catch (error) {
        text = userMessageFor(error, logger, context);
      }
      await respond({ response_type: 'ephemeral', text });
    });
  });
}

/** Slack gives every invocation its own trigger id; a redelivery carries the same one. */
function dedupeKeyOf(command: SlashCommand): string | undefined {
  return command.trigger_id ? `slash:${command.trigger_id}` : undefined;
}

function brokenGlassText({ request, channel, approverIds, notify, created, delayed }: BreakGlassOutcome): string {
  const told = [channel ? `<#${channel}>` : approverIds.map((id) => `<@${id}>`).join(', '), ...(notify ? [`<#${notify}>`] : [])].join(' and ');
  const what = `TCP ${request.port} on ${request.clusterId} from ${describeSource(request.source)} for ${formatDuration(request.durationSeconds)}`;
  if (!created) return `Break-glass #${request.id} (${what}) was already received.`;
  const when = delayed ? 'as soon as the job queue is back (it is unreachable right now)' : 'now';
  return `:rotating_light: Break-glass #${request.id}: opening ${what} ${when}, without approval. ${told} have been told, and an approver will review it. I'll message you when access is open.`;
}

function receivedText({ request, channel, approverIds, created, autoApproved }: AccessRequestOutcome): string {
  const asked = channel ? `<#${channel}>` : approverIds.map((id) => `<@${id}>`).join(', ');
  const what = `TCP ${request.port} on ${request.clusterId} from ${describeSource(request.source)} for ${formatDuration(request.durationSeconds)}${ticketSuffix(request)}`;
  if (!created) return `Request #${request.id} (${what}) was already received; approval was asked of ${asked}.`;
  if (autoApproved) return `:white_check_mark: Request #${request.id} for ${what} was approved automatically by the policy; ${asked} got an FYI. I'll message you when access is open.`;
  return `:hourglass_flowing_sand: Request #${request.id} for ${what} is waiting for approval from ${asked}. I'll message you when it is decided.`;
}
