import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { UseCaseDeps } from '../../app/deps.js';
import { reviewBreakGlass } from '../../app/break-glass-review.js';
import { endAccess } from '../../app/end-access.js';
import { decideExtension, requestExtension } from '../../app/extend.js';
import { GRANT_ACTIONS } from './blocks.js';
import { BREAK_GLASS_ACTIONS } from './break-glass-blocks.js';
import { EXTENSION_ACTIONS } from './lifecycle-blocks.js';
import { endedText, extensionText } from './lifecycle-commands.js';
import { replyToClick } from './click-reply.js';
import { refreshHomeAfterClick } from './home-tab.js';
import type { PostAckQueue } from './post-ack-queue.js';
import { userMessageFor } from './user-message.js';

type Handler = (requestId: number, userId: string) => Promise<string>;

/**
 * Buttons on a requester's DMs and lists (Extend, Done / Cancel), on extension requests (Approve,
 * Deny) and on break-glass alerts (Reviewed, Revoke now). The value only locates the request; who may act comes from the click's signed user id. A
 * stale click is answered, ephemerally, with what already happened.
 */
export function registerLifecycleListener(app: App, deps: UseCaseDeps, logger: Logger, work: PostAckQueue): void {
  const handlers: Record<string, Handler> = {
    [GRANT_ACTIONS.end]: async (requestId, userId) => endedText(await endAccess(deps, { requestId, userId, mode: 'revoke' })),
    [GRANT_ACTIONS.extend]: async (requestId, userId) => extensionText(await requestExtension(deps, { requestId, userId })),
    [EXTENSION_ACTIONS.approve]: async (requestId, userId) => {
      const { request, extension } = await decideExtension(deps, { requestId, userId, decision: 'approve' });
      if (extension.outcome) return `Extended #${requestId}; it now ends ${request.expiresAt?.toISOString()}.`;
      const { approvals, approvalsRequired } = extension;
      const left = approvalsRequired - approvals.length;
      return `Approved the extension of #${requestId}: ${approvals.length} of ${approvalsRequired} approvals; it waits for ${left} more.`;
    },
    [EXTENSION_ACTIONS.deny]: async (requestId, userId) => {
      await decideExtension(deps, { requestId, userId, decision: 'deny' });
      return `Denied the extension of #${requestId}; it still ends as before.`;
    },
    [BREAK_GLASS_ACTIONS.reviewed]: async (requestId, userId) => {
      await reviewBreakGlass(deps, { requestId, userId });
      return `Recorded your review of break-glass #${requestId}.`;
    },
  };
  for (const [actionId, handle] of Object.entries(handlers)) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      work.add(async () => {
        const requestId = Number.parseInt(action.value ?? '', 10);
        const context = { userId: body.user.id, requestId, actionId };
        let text: string;
        try {
          text = await handle(requestId, body.user.id);
          logger.info(context, 'lifecycle action');
        } catch (error) {
          text = userMessageFor(error, logger, context);
        }
        await replyToClick({ body, respond, client }, text);
        await refreshHomeAfterClick(client, deps, logger, body);
      });
    });
  }
}

