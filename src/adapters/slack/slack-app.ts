import { App, type CustomRoute } from '@slack/bolt';
import type { Logger } from 'pino';
import type { UseCaseDeps } from '../../app/deps.js';
import type { Config } from '../../config.js';
import { boltLogger } from './bolt-logger.js';
import { ClusterCatalog } from '../../app/cluster-catalog.js';
import { registerCommandListener } from './command-listener.js';
import { registerDecisionListener } from './decision-listener.js';
import { registerLifecycleListener } from './lifecycle-listener.js';
import { registerHomeTab } from './home-tab.js';
import type { PostAckQueue } from './post-ack-queue.js';
import { openRequestModal, registerRequestModal } from './request-modal.js';
import { SocketModeWithRoutes } from './socket-mode-receiver.js';
import { slackClientOptions } from './web-client.js';
import { workspaceGuard, type Workspaces } from './workspace-guard.js';

export interface SlackAppOptions {
  config: Config;
  logger: Logger;
  /** Extra HTTP routes (health, metrics) served beside /slack/events, or alone in Socket Mode. */
  routes: CustomRoute[];
  /** The workspaces whose requests are served; others are acknowledged and ignored. */
  servedWorkspaces: () => Promise<Workspaces>;
}

/**
 * The Bolt app in HTTP mode (POST /slack/events, signed requests) or, when SLACK_APP_TOKEN is set,
 * Socket Mode with the extra routes on PORT. Both point the Web API client (and Socket Mode's
 * apps.connections.open) at SLACK_API_URL when given.
 */
export function createSlackApp({ config, logger, routes, servedWorkspaces }: SlackAppOptions): App {
  const log = boltLogger(logger);
  // Bounded retries and SLACK_API_URL, as for the bot's own client (web-client.ts).
  const clientOptions = slackClientOptions(config, logger);
  const app = config.slack.appToken
    ? new App({
        token: config.slack.botToken,
        logger: log,
        clientOptions,
        convoStore: false,
        receiver: new SocketModeWithRoutes({
          appToken: config.slack.appToken,
          logger: log,
          port: config.port,
          routes,
          clientOptions,
        }),
      })
    : new App({
        token: config.slack.botToken,
        signingSecret: config.slack.signingSecret,
        logger: log,
        clientOptions,
        customRoutes: routes,
        // Respond to Slack as soon as a listener calls ack(); the slow work continues afterwards.
        processBeforeResponse: false,
        // The bot keeps no conversation state (Bolt's default store would run on every request).
        convoStore: false,
      });
  app.use(workspaceGuard(servedWorkspaces, logger));
  app.error(async (error) => {
    logger.error({ err: error, code: (error as { code?: string }).code }, 'unhandled error in a Slack listener');
  });
  return app;
}

/** Listeners are added once the use cases exist, since those need the app's own Web API client. */
export function registerListeners(app: App, deps: UseCaseDeps, logger: Logger, work: PostAckQueue): void {
  const catalog = new ClusterCatalog(deps);
  registerCommandListener(app, deps, logger, (client, triggerId) => openRequestModal(client, triggerId, deps, catalog), work);
  registerDecisionListener(app, deps, logger, work);
  registerLifecycleListener(app, deps, logger, work);
  registerRequestModal(app, deps, logger);
  registerHomeTab(app, deps, logger, work);
}
