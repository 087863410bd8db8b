import type { ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';

export type Probe = () => Promise<void>;

/**
 * GET /healthz: 200 with {"status":"ok"} once every probe answers, else 503 naming what failed.
 * Each probe has a short time limit so a hung dependency reads as down, not as a hung health check.
 */
export function healthRoute(probes: Record<string, Probe>, timeoutMs = 1_000): CustomRoute {
  return {
    path: '/healthz',
    method: ['GET'],
    handler: (_req, res) => {
      void runProbes(probes, timeoutMs).then((checks) => {
        const ok = Object.values(checks).every((c) => c === 'ok');
        sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks });
      });
    },
  };
}

async function runProbes(probes: Record<string, Probe>, timeoutMs: number): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([probe(), timeout]);
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, (error as Error).message] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
