import type { ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import { withinMs } from './deadline.js';

export type Probe = () => Promise<void>;

/**
 * GET /healthz: 200 with {"status":"ok"} once every probe answers, else 503 naming what failed.
 * Each probe has a short time limit so a hung dependency reads as down, not as a hung health check.
 * Without `showChecks` only the status is sent: a failed check's text names hosts and ports.
 */
export function healthRoute(probes: Record<string, Probe>, { showChecks = true, timeoutMs = 1_000 } = {}): CustomRoute {
  return probeRoute('/healthz', probes, timeoutMs, { ok: 'ok', failed: 'unavailable' }, showChecks);
}

/**
 * GET /readyz: 200 with {"status":"ready"} once every check passes (the database takes writes, Redis
 * answers, Slack accepted the token), else 503 with {"status":"not-ready"} naming what failed.
 */
export function readyRoute(checks: Record<string, Probe>, timeoutMs = 2_000): CustomRoute {
  return probeRoute('/readyz', checks, timeoutMs, { ok: 'ready', failed: 'not-ready' });
}

function probeRoute(
  path: string,
  probes: Record<string, Probe>,
  timeoutMs: number,
  status: { ok: string; failed: string },
  showChecks = true,
): CustomRoute {
  return {
    path,
    method: ['GET'],
    handler: (_req, res) => {
      void runProbes(probes, timeoutMs).then((checks) => {
        const ok = Object.values(checks).every((c) => c === 'ok');
        sendJson(res, ok ? 200 : 503, { status: ok ? status.ok : status.failed, ...(showChecks ? { checks } : {}) });
      });
    },
  };
}

/**
 * A probe that, once it has succeeded, keeps answering its first result without running again (Slack's
 * auth.test: a token that worked at start-up is not re-checked on every probe). Start it at start-up;
 * until it succeeds, each call tries again.
 */
export function onceSucceeded<T>(probe: () => Promise<T>): () => Promise<T> {
  let passed: Promise<T> | undefined;
  return () => {
    passed ??= probe().catch((error: unknown) => {
      passed = undefined;
      throw error;
    });
    return passed;
  };
}

async function runProbes(probes: Record<string, Probe>, timeoutMs: number): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      try {
        await withinMs(probe(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, (error as Error).message] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
