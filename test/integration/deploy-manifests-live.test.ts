/**
 * The example Kubernetes Deployments (deploy/) started for real: the bot runs with each Deployment's
 * `--role` and the settings its ConfigMap and example Secret give it, and each probe's path answers 200 on
 * the port the probe names (as the kubelet would ask), liveness still answers once the database is gone
 * (readiness no longer does), and the Service's target port takes Slack's requests. Only what points outside the test is replaced: the two ports (by free ones, mapped back),
 * Slack, the database and Redis (by the run's own) and the policy's path (a copy of the mounted ConfigMap).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, inject, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ROLES, startBot, type Role } from '../../src/main.js';
import { startFakeSlack } from '../fakes/fake-slack-server.js';
import { freePort } from '../support/free-port.js';
import { containerPort, containersOf, environmentOf, loadManifests, ofKind, roleOf, selectsPodsOf, type Probe } from '../support/kubernetes-manifests.js';
import { freshPostgresDatabase } from '../support/postgres-database.js';

const manifests = loadManifests();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * The probe's answer once it is 200 (Redis and Slack's auth.test come up just after start), at once when it
 * is 404 (no such route on that port: waiting will not change it), or its last after 10 s.
 */
async function probe(url: string): Promise<number> {
  for (let tries = 0; ; tries += 1) {
    const status = await fetch(url).then((response) => response.status, () => 0);
    if (status === 200 || status === 404 || tries === 100) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The probe's answer once it is `expected`, or its last after 10 s. */
async function answerOnce(url: string, expected: number): Promise<number> {
  for (let tries = 0; ; tries += 1) {
    const status = await fetch(url).then((response) => response.status, () => 0);
    if (status === expected || tries === 100) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test.each(ofKind(manifests, 'Deployment').map((deployment) => [deployment.name, deployment] as const))(
  '%s answers its probes on the ports they name',
  async (_name, deployment) => {
    const container = containersOf(deployment)[0]!;
    const role = roleOf(container) as Role;
    expect(ROLES).toContain(role);
    const env = environmentOf(container, manifests);

    const dir = mkdtempSync(join(tmpdir(), 'cache-access-deploy-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const policyConfigMap = manifests.find((m) => m.kind === 'ConfigMap' && m.body.data?.[basename(env.POLICY_FILE ?? '')] !== undefined)!;
    const policyFile = join(dir, basename(env.POLICY_FILE!));
    writeFileSync(policyFile, policyConfigMap.body.data[basename(policyFile)]);
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    const database = await freshPostgresDatabase(inject('postgresUrl'));
    cleanups.push(() => database.drop());

    // The manifest's port numbers, each served on a free local port instead.
    const localPorts = new Map<number, number>();
    for (const setting of ['PORT', 'OPS_PORT'] as const) {
      if (env[setting] !== undefined) localPorts.set(Number(env[setting]), await freePort());
    }
    const local = (port: number | undefined) => localPorts.get(port ?? -1);
    const config = loadConfig({
      ...env,
      PORT: String(local(Number(env.PORT ?? 3000))),
      OPS_PORT: env.OPS_PORT && String(local(Number(env.OPS_PORT))),
      POLICY_FILE: policyFile,
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: 'deploy-secret',
      SLACK_APP_TOKEN: undefined,
      SLACK_API_URL: slack.apiUrl,
      DATABASE_URL: database.url,
      DATABASE_PATH: join(dir, 'cache-access.db'),
      REDIS_URL: inject('redisUrl'),
      LOG_LEVEL: 'silent',
    });
    const bot = await startBot(config, { role, logger: pino({ level: 'silent' }), queuePrefix: `deploy-${randomUUID()}`, shutdownTimeoutMs: 1_000 });
    cleanups.push(() => bot.stop());

    const probes: Array<[string, Probe | undefined]> = [
      ['liveness', container.livenessProbe],
      ['readiness', container.readinessProbe],
    ];
    for (const [kind, { httpGet } = {}] of probes) {
      const port = local(containerPort(container, httpGet!.port));
      expect(port, `${kind} probe's port ${httpGet!.port}`).toBeDefined();
      expect(await probe(`http://127.0.0.1:${port}${httpGet!.path}`), `${kind} probe ${httpGet!.path}`).toBe(200);
    }

    // An outage of the database makes the pod unready, never dead: a restart would not bring the database back.
    await database.drop();
    const at = (probe: Probe | undefined) => `http://127.0.0.1:${local(containerPort(container, probe!.httpGet!.port))}${probe!.httpGet!.path}`;
    expect(await answerOnce(at(container.readinessProbe), 503), 'readiness without the database').toBe(503);
    expect((await fetch(at(container.livenessProbe))).status, 'liveness without the database').toBe(200);

    // Slack's requests reach the web pods through the Service: an unsigned one is refused there (401), not unknown (404).
    const services = ofKind(manifests, 'Service').filter((service) => selectsPodsOf(service.body.spec.selector, deployment));
    expect(services.length).toBe(role === 'web' ? 1 : 0);
    for (const service of services) {
      for (const { targetPort } of service.body.spec.ports as Array<{ targetPort: number | string }>) {
        const response = await fetch(`http://127.0.0.1:${local(containerPort(container, targetPort))}/slack/events`, { method: 'POST', body: '{}' });
        expect(response.status).toBe(401);
      }
    }
  },
);
