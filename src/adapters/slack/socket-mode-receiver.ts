import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SocketModeReceiver, type App, type AppOptions, type CustomRoute, type Logger, type Receiver } from '@slack/bolt';

export interface SocketModeWithRoutesOptions {
  appToken: string;
  logger: Logger;
  port: number;
  routes: CustomRoute[];
  /** Web API options for apps.connections.open (e.g. SLACK_API_URL). */
  clientOptions: AppOptions['clientOptions'];
}

/**
 * Socket Mode for Slack's traffic, plus a plain HTTP server on PORT for the extra routes (health,
 * metrics). Bolt's SocketModeReceiver can serve custom routes too, but neither waits for its port
 * nor reports it: a busy port would surface later as an uncaught error, and PORT=0 could not be found.
 */
export class SocketModeWithRoutes implements Receiver {
  private readonly socketMode: SocketModeReceiver;
  private readonly server: Server;
  private readonly port: number;

  constructor({ appToken, logger, port, routes, clientOptions }: SocketModeWithRoutesOptions) {
    // A copy: the Socket Mode client writes its own retry settings into the options it is given.
    this.socketMode = new SocketModeReceiver({ appToken, logger, installerOptions: { clientOptions: { ...clientOptions } } });
    this.server = createServer((req, res) => serveRoute(routes, req, res));
    this.port = port;
  }

  init(app: App): void {
    this.socketMode.init(app);
  }

  /** Listens on PORT, then opens the Socket Mode connection; resolves with the HTTP server. */
  async start(): Promise<Server> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    try {
      await this.socketMode.start();
    } catch (error) {
      await this.closeServer();
      throw error;
    }
    return this.server;
  }

  async stop(): Promise<void> {
    await this.socketMode.stop();
    await this.closeServer();
  }

  private closeServer(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** Exact-path routing: the routes cache-access serves have no path parameters. */
function serveRoute(routes: CustomRoute[], req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const method = (req.method ?? 'GET').toUpperCase();
  const route = routes.find(
    (candidate) => candidate.path === path && [candidate.method].flat().some((m) => m.toUpperCase() === method),
  );
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  route.handler(Object.assign(req, { params: {} }), res);
}
