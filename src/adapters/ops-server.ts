/**
 * A plain HTTP server for the operational routes (health, readiness, metrics) where no Bolt receiver
 * serves them: the worker role, which takes no Slack traffic.
 */
import { createServer } from 'node:http';
import type { CustomRoute } from '@slack/bolt';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(routes: CustomRoute[], port: number): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes.find((r) => r.path === path);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes(req.method ?? '')) {
      res.writeHead(405, { allow: methods.join(', ') }).end();
      return;
    }
    void route.handler(Object.assign(req, { params: {} }), res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
