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
 * GET /livez: 200 with {"status":"alive"} whenever this process's event loop answers, touching neither the
 * database nor the job queue: a liveness probe that restarts the process must not fire on their outage,
 * which a restart would not fix.
 */
export function liveRoute(): CustomRoute {
  return { path: '/livez', method: ['GET'], handler: (_req, res) => sendJson(res, 200, { status: 'alive' }) };
}

/** Something worth showing beside the checks that does not decide readiness (the audit backlog). */
export type Detail = () => Promise<unknown>;

/**
 * GET /readyz: 200 with {"status":"ready"} once every check passes (the database takes writes, Redis
 * answers, Slack accepted the token), else 503 with {"status":"not-ready"} naming what failed. `details`
 * are reported under "details" whatever they say; one that fails reads as its error.
 */
export function readyRoute(checks: Record<string, Probe>, details: Record<string, Detail> = {}, timeoutMs = 2_000): CustomRoute {
  return probeRoute('/readyz', checks, timeoutMs, { ok: 'ready', failed: 'not-ready' }, true, details);
}

function probeRoute(
  path: string,
  probes: Record<string, Probe>,
  timeoutMs: number,
  status: { ok: string; failed: string },
  showChecks = true,
  details: Record<string, Detail> = {},
): CustomRoute {
  return {
    path,
    method: ['GET'],
    handler: (_req, res) => {
      void Promise.all([runProbes(probes, timeoutMs), readDetails(details, timeoutMs)]).then(([checks, detailValues]) => {
        const ok = Object.values(checks).every((c) => c === 'ok');
        const shownDetails = Object.keys(detailValues).length > 0 ? { details: detailValues } : {};
        sendJson(res, ok ? 200 : 503, { status: ok ? status.ok : status.failed, ...(showChecks ? { checks, ...shownDetails } : {}) });
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

/** Each detail's value, or {error} for one that fails or does not answer in time. */
function readDetails(details: Record<string, Detail>, timeoutMs: number): Promise<Record<string, unknown>> {
  return eachWithin(details, timeoutMs, (value) => value, (error) => ({ error: error.message }));
}

/** 'ok' for each probe that answers in time, else its error message. */
function runProbes(probes: Record<string, Probe>, timeoutMs: number): Promise<Record<string, string>> {
  return eachWithin(probes, timeoutMs, () => 'ok', (error) => error.message);
}

/** Runs every reader at once, each limited to `timeoutMs`, and names what each gave or why it failed. */
async function eachWithin<T, R>(
  readers: Record<string, () => Promise<T>>,
  timeoutMs: number,
  ok: (value: T) => R,
  failed: (error: Error) => R,
): Promise<Record<string, R>> {
  const entries = await Promise.all(
    Object.entries(readers).map(async ([name, read]) => {
      try {
        return [name, ok(await withinMs(read(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`)))] as const;
      } catch (error) {
        return [name, failed(error as Error)] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
