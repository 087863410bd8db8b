import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import { decide } from '../../app/decide.js';
import type { UseCaseDeps } from '../../app/deps.js';
import { DECISION_ACTIONS } from './blocks.js';
import { replyToClick } from './click-reply.js';
import { refreshHomeAfterClick } from './home-tab.js';
import type { PostAckQueue } from './post-ack-queue.js';
import { userMessageFor } from './user-message.js';

/**
 * Approve / Deny buttons. The button's value only locates the request; who may decide comes from
 * the signed `user.id` of the click and the policy. A repeated or stale click gets an ephemeral
 * explanation and changes nothing.
 */
export function registerDecisionListener(app: App, deps: UseCaseDeps, logger: Logger, work: PostAckQueue): void {
  for (const decision of ['approve', 'deny'] as const) {
    app.action<BlockButtonAction>(DECISION_ACTIONS[decision], async ({ ack, body, action, respond, client }) => {
      await ack();
      work.add(async () => {
        const requestId = Number.parseInt(action.value ?? '', 10);
        const context = { userId: body.user.id, requestId, decision };
        try {
          const outcome = await decide(deps, { requestId, userId: body.user.id, decision });
          logger.info({ ...context, status: outcome.request.status }, 'decision recorded');
          if (outcome.delayed) {
            await replyToClick(
              { body, respond, client },
              `Approved #${requestId}. Processing is delayed (the job queue is unreachable); the rule will be added as soon as it is back.`,
            );
          }
        } catch (error) {
          await replyToClick({ body, respond, client }, userMessageFor(error, logger, context));
        }
        await refreshHomeAfterClick(client, deps, logger, body);
      });
    });
  }
}
