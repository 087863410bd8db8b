/** The commands about existing requests: list, status, revoke, cancel, extend. Each answers the caller alone. */
import type { UseCaseDeps } from '../../app/deps.js';
import { endAccess } from '../../app/end-access.js';
import { requestExtension } from '../../app/extend.js';
import { listAccess } from '../../app/list-access.js';
import { requestStory } from '../../app/request-story.js';
import type { Command } from '../../domain/command.js';
import { formatDuration } from '../../domain/durations.js';
import { formatId } from '../../domain/request.js';
import { listMessage, statusMessage } from './lifecycle-blocks.js';
import type { Block } from './blocks.js';

export type LifecycleCommand = Extract<Command, { kind: 'list' | 'status' | 'revoke' | 'cancel' | 'extend' }>;

export function isLifecycleCommand(command: Command): command is LifecycleCommand {
  return ['list', 'status', 'revoke', 'cancel', 'extend'].includes(command.kind);
}

/** Runs the command for the signed `userId`; throws the use cases' errors for the caller to word. */
export async function runLifecycleCommand(
  deps: UseCaseDeps,
  command: LifecycleCommand,
  userId: string,
): Promise<{ text: string; blocks?: Block[] }> {
  switch (command.kind) {
    case 'list':
      return listMessage(await listAccess(deps, userId), deps.clock.now());
    case 'status':
      return statusMessage(await requestStory(deps, command.requestId, userId));
    case 'revoke':
    case 'cancel':
      return { text: endedText(await endAccess(deps, { requestId: command.requestId, userId, mode: command.kind })) };
    case 'extend':
      return { text: extensionText(await requestExtension(deps, { requestId: command.requestId, userId, seconds: command.durationSeconds })) };
  }
}

export function endedText({ request, outcome }: Awaited<ReturnType<typeof endAccess>>): string {
  return outcome === 'cancelled'
    ? `:heavy_multiplication_x: ${formatId(request.id)} is cancelled; its approvers' message now says so.`
    : `:lock: Revoking ${formatId(request.id)} now; you'll get a message once the rule is removed.`;
}

export function extensionText(extension: Awaited<ReturnType<typeof requestExtension>>): string {
  return `:hourglass_flowing_sand: Asked the approvers to extend ${formatId(extension.requestId)} by ${formatDuration(extension.seconds)}. I'll message you when they decide.`;
}
