/**
 * Which Slack workspaces cache-access serves. Slack signs every request with the app's one signing
 * secret, so the same app installed in another workspace (or org-wide) sends requests that verify
 * just as well: the signature alone does not say they are ours.
 */
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Logger } from 'pino';
import { withinMs } from '../deadline.js';

/** Team ids (T…) and enterprise ids (E…); a request from any of them is served. */
export type Workspaces = ReadonlySet<string>;

/** What auth.test says of a token; the fields cache-access reads. */
export interface TokenOwner {
  team_id?: string;
  enterprise_id?: string;
  is_enterprise_install?: boolean;
}

/** The workspace the bot token was installed in or, for an org-wide install, its whole organisation. */
export function workspacesOfToken(owner: TokenOwner): Workspaces {
  const id = owner.is_enterprise_install ? owner.enterprise_id : owner.team_id;
  return new Set(id ? [id] : []);
}

/**
 * Until auth.test has answered once (seconds after start-up) a request waits this long for it,
 * within Slack's 3 s for an acknowledgement, and is refused after that.
 */
const WORKSPACES_WAIT_MS = 2_000;

/**
 * Global middleware: requests from other workspaces are acknowledged (so Slack does not send them
 * again), logged, and go no further.
 */
export function workspaceGuard(served: () => Promise<Workspaces>, logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const { teamId, enterpriseId, userId } = args.context;
    let workspaces: Workspaces;
    try {
      workspaces = await withinMs(served(), WORKSPACES_WAIT_MS, () => new Error(`no answer from auth.test within ${WORKSPACES_WAIT_MS} ms`));
    } catch (error) {
      await acknowledge(args);
      logger.warn({ err: error, teamId, enterpriseId, userId }, 'request refused: the served workspace is not known yet');
      return;
    }
    if ([teamId, enterpriseId].some((id) => id !== undefined && workspaces.has(id))) {
      await args.next();
      return;
    }
    await acknowledge(args);
    logger.warn({ teamId, enterpriseId, userId, served: [...workspaces] }, 'request refused: from a workspace cache-access does not serve');
  };
}

/** Events are acknowledged by Bolt before middleware runs; everything else carries its ack(). */
async function acknowledge(args: AnyMiddlewareArgs): Promise<void> {
  if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
}
