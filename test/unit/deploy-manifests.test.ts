/**
 * The example Kubernetes manifests (deploy/) held to the code: every document parses; the settings the pods
 * get are ones config.ts reads, and config.ts accepts their values; each Deployment runs the image's command
 * with a role main.ts knows, probes the routes health.ts serves on a port the settings bind, runs as the
 * Dockerfile's user, gets the time stop() may take and the memory BENCHMARKS.md measured; the policy mounted
 * is where POLICY_FILE points and parses; Service and PodDisruptionBudgets select the pods they mean to.
 * That each probe really answers on its port, per role, is checked by starting the bot with each
 * Deployment's settings (test/integration/deploy-manifests-live.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { liveRoute, readyRoute } from '../../src/adapters/health.js';
import { loadConfig, SETTING_NAMES } from '../../src/config.js';
import { ROLES, SHUTDOWN_TIMEOUT_MS } from '../../src/main.js';
import { parsePolicy } from '../../src/policy.js';
import { commandOf, last, parseDockerfile, stagesOf } from '../support/dockerfile.js';
import {
  containerPort,
  containersOf,
  DEPLOY_DIR,
  environmentOf,
  loadManifests,
  ofKind,
  roleOf,
  selectsPodsOf,
  yamlFilesUnder,
  type Container,
} from '../support/kubernetes-manifests.js';

/** The AWS SDK reads its own settings (AWS_REGION and the like) from the environment; config.ts does not. */
const isAwsSdkSetting = (name: string) => /^AWS_[A-Z0-9_]+$/.test(name);

/** Users of the official Node images by name: docker-node creates `node` with uid and gid 1000. */
const IMAGE_USERS: Record<string, number> = { node: 1000 };

const manifests = loadManifests();
const deployments = ofKind(manifests, 'Deployment');
const runtime = stagesOf(parseDockerfile(readFileSync('Dockerfile', 'utf8'))).at(-1)!;

/** Each Deployment's one container, with the settings it starts with. */
const pods = deployments.map((deployment) => {
  const containers = containersOf(deployment);
  const container = containers[0]!;
  return { deployment, containers, container, role: roleOf(container), env: environmentOf(container, manifests) };
});

/** The settings as the bot would parse them, defaults applied. */
const configOf = (env: Record<string, string>) => loadConfig(env);

/** Mebibytes in a Kubernetes memory quantity (BENCHMARKS.md's MB are /proc's kB / 1024, i.e. MiB). */
function mebibytes(quantity: string | undefined): number {
  const match = /^(\d+)(Mi|Gi|M|G)$/.exec(quantity ?? '');
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  const factor = { Mi: 1, Gi: 1024, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 }[match[2] as 'Mi' | 'Gi' | 'M' | 'G'];
  return Number(match[1]) * factor;
}

/** Resident memory figures from BENCHMARKS.md's tables: the rows named "… RSS …", and the peak. */
function benchmarkMemory(): { steadyMb: number[]; peakMb: number } {
  const rows = readFileSync('BENCHMARKS.md', 'utf8')
    .split('\n')
    .map((line) => /^\| ([^|]*RSS[^|]*) \| (\d+) MB \|/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ label: match[1]!, mb: Number(match[2]) }));
  const peak = rows.find((row) => row.label.startsWith('peak RSS'));
  if (!peak) throw new Error('BENCHMARKS.md has no "peak RSS" row');
  return { steadyMb: rows.filter((row) => row !== peak).map((row) => row.mb), peakMb: peak.mb };
}

describe('deploy/ manifests', () => {
  test('every YAML document parses and names its kind and itself', () => {
    expect(manifests.length).toBeGreaterThan(0);
    for (const manifest of manifests) {
      expect(manifest.body?.apiVersion, manifest.file).toEqual(expect.any(String));
      expect(manifest.kind, manifest.file).toEqual(expect.any(String));
      if (manifest.kind !== 'Kustomization') expect(manifest.name, manifest.file).toEqual(expect.any(String));
    }
  });

  test('the kustomization applies every manifest beside it except the example Secret, and only files that exist', () => {
    for (const kustomization of ofKind(manifests, 'Kustomization')) {
      const folder = join(DEPLOY_DIR, dirname(kustomization.file));
      const resources: string[] = kustomization.body.resources;
      for (const resource of resources) expect(existsSync(join(folder, resource)), resource).toBe(true);
      const beside = yamlFilesUnder(folder)
        .map((file) => file.slice(folder.length + 1))
        .filter((file) => !file.startsWith('kustomization.') && !file.includes('.example.'));
      expect([...resources].sort()).toEqual(beside);
    }
  });

  test('there is a web and a worker Deployment, each running the image’s command with its --role', () => {
    expect(pods.map((pod) => pod.role).sort()).toEqual(['web', 'worker']);
    for (const { deployment, containers, container, role } of pods) {
      expect(containers, deployment.name).toHaveLength(1);
      expect(ROLES, deployment.name).toContain(role);
      expect(container.args, deployment.name).toEqual([...commandOf(runtime), '--role', role]);
    }
  });

  test('every setting a pod gets is one the code reads, and the code accepts its value', () => {
    for (const { deployment, env } of pods) {
      const unknown = Object.keys(env).filter((name) => !SETTING_NAMES.includes(name) && !isAwsSdkSetting(name));
      expect(unknown, deployment.name).toEqual([]);
      expect(() => configOf(env), deployment.name).not.toThrow();
    }
  });

  test('the settings choose the topology of replicas: PostgreSQL records and a queue backend', () => {
    for (const { deployment, env } of pods) {
      expect(env.DATABASE_URL, deployment.name).toMatch(/^postgres(ql)?:\/\//);
      expect(['redis', 'postgres'], deployment.name).toContain(env.QUEUE_BACKEND);
      if (env.QUEUE_BACKEND === 'redis') expect(env.REDIS_URL, deployment.name).toMatch(/^rediss?:\/\//);
    }
  });

  test('every Deployment probes liveness on /livez and readiness on /readyz, on a port its settings bind', () => {
    // /livez, not /healthz: an outage of the database or Redis must make pods unready, never restart them.
    const livenessPath = liveRoute().path;
    const readinessPath = readyRoute({}).path;
    for (const { deployment, container, env } of pods) {
      const config = configOf(env);
      const bound = [config.port, config.opsPort];
      const probes: Array<[Container['livenessProbe'], string]> = [
        [container.livenessProbe, livenessPath],
        [container.readinessProbe, readinessPath],
      ];
      for (const [probe, path] of probes) {
        expect(probe?.httpGet?.path, deployment.name).toBe(path);
        const port = containerPort(container, probe!.httpGet!.port);
        expect(port, `${deployment.name}: probe port ${probe!.httpGet!.port} is a container port`).toBeDefined();
        expect(bound, deployment.name).toContain(port);
      }
      // Readiness and metrics stay off the port Slack reaches (README, "Keeping the ops endpoints private").
      expect(config.opsPort, deployment.name).toBeDefined();
      expect(containerPort(container, container.readinessProbe!.httpGet!.port), deployment.name).toBe(config.opsPort);
    }
  });

  test('the Service sends Slack’s traffic to the web pods’ PORT, and selects no worker', () => {
    const services = ofKind(manifests, 'Service');
    expect(services).toHaveLength(1);
    const service = services[0]!;
    const web = pods.find((pod) => pod.role === 'web')!;
    for (const { deployment } of pods) {
      expect(selectsPodsOf(service.body.spec.selector, deployment), deployment.name).toBe(deployment === web.deployment);
    }
    const targets = (service.body.spec.ports as Array<{ targetPort: number | string }>).map((p) => containerPort(web.container, p.targetPort));
    expect(targets).toEqual([configOf(web.env).port]);
  });

  test('the pods run as the Dockerfile’s user, never root, without privilege escalation', () => {
    const user = last(runtime, 'USER')!.args.split(':')[0]!;
    const uid = /^\d+$/.test(user) ? Number(user) : IMAGE_USERS[user];
    expect(uid, `the Dockerfile's USER ${user}`).toBeGreaterThan(0);
    for (const { deployment, container } of pods) {
      const pod = deployment.body.spec.template.spec.securityContext;
      expect(pod?.runAsNonRoot, deployment.name).toBe(true);
      expect(pod?.runAsUser, deployment.name).toBe(uid);
      expect(container.securityContext?.allowPrivilegeEscalation, deployment.name).toBe(false);
    }
  });

  test('the grace period covers stop(): a preStop pause, then up to three bounded waits one after another', () => {
    // stop() drains acknowledged Slack work or waits for the queue connections' handshake, then for running
    // jobs, then for the health connection's handshake: each wait is bounded by SHUTDOWN_TIMEOUT_MS.
    for (const { deployment, container } of pods) {
      const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
      const pauseSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      const grace = deployment.body.spec.template.spec.terminationGracePeriodSeconds;
      expect(grace, deployment.name).toBeGreaterThanOrEqual(pauseSeconds + (3 * SHUTDOWN_TIMEOUT_MS) / 1000);
    }
  });

  test('memory requests hold the resident size BENCHMARKS.md measured, limits its peak with room to spare', () => {
    const { steadyMb, peakMb } = benchmarkMemory();
    expect(steadyMb.length).toBeGreaterThan(0);
    for (const { deployment, container } of pods) {
      expect(mebibytes(container.resources?.requests?.memory), deployment.name).toBeGreaterThanOrEqual(Math.max(...steadyMb));
      expect(mebibytes(container.resources?.limits?.memory), deployment.name).toBeGreaterThanOrEqual(peakMb * 1.25);
    }
  });

  test('POLICY_FILE points into a ConfigMap mounted in every pod, holding a policy the bot accepts', () => {
    for (const { deployment, container, env } of pods) {
      const policyFile = configOf(env).policyFile;
      const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(policyFile) && m.subPath === undefined);
      expect(mount, `${deployment.name}: a volume mounted at ${dirname(policyFile)}`).toBeDefined();
      const volume = (deployment.body.spec.template.spec.volumes as Array<{ name: string; configMap?: { name: string } }>).find((v) => v.name === mount!.name);
      const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.name === volume?.configMap?.name);
      const policyText: string | undefined = configMap?.body.data?.[basename(policyFile)];
      expect(policyText, `${deployment.name}: ${basename(policyFile)} in the mounted ConfigMap`).toEqual(expect.any(String));
      expect(parsePolicy(policyText!, policyFile).rules.length).toBeGreaterThan(0);
    }
  });

  test('a PodDisruptionBudget keeps each Deployment’s pods available, below its replica count', () => {
    const budgets = ofKind(manifests, 'PodDisruptionBudget');
    for (const { deployment } of pods) {
      const covering = budgets.filter((budget) => selectsPodsOf(budget.body.spec.selector.matchLabels, deployment));
      expect(covering, deployment.name).toHaveLength(1);
      const { minAvailable } = covering[0]!.body.spec;
      expect(minAvailable, deployment.name).toBeGreaterThanOrEqual(1);
      expect(minAvailable, `${deployment.name}: a drain must be able to move a pod`).toBeLessThan(deployment.body.spec.replicas);
    }
  });
});
