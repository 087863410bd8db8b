/**
 * Reads the example Kubernetes manifests under deploy/ for the tests that hold them to the code: every
 * YAML document, the Deployments' containers, and the settings a container ends up with (its `env` and the
 * ConfigMaps and Secrets of its `envFrom`, as the kubelet would combine them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const DEPLOY_DIR = 'deploy';

/** One parsed YAML document; manifests are checked field by field, so they stay loosely typed. */
export interface Manifest {
  file: string;
  kind: string;
  name: string;
  body: any;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

export interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => /\.ya?ml$/.test(path))
    .map((path) => join(dir, path))
    .sort();
}

/** Every document of every YAML file under `dir`; a file that does not parse throws, naming it. */
export function loadManifests(dir = DEPLOY_DIR): Manifest[] {
  return yamlFilesUnder(dir).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const body = doc.toJS() as Manifest['body'];
      return { file: relative(DEPLOY_DIR, file), kind: body?.kind, name: body?.metadata?.name, body };
    }),
  );
}

export function ofKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

export function containersOf(deployment: Manifest): Container[] {
  return deployment.body.spec.template.spec.containers as Container[];
}

/** The `--role` a container's args give the program. */
export function roleOf(container: Container): string | undefined {
  const args = container.args ?? [];
  const at = args.indexOf('--role');
  return at === -1 ? undefined : args[at + 1];
}

function source(manifests: Manifest[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> {
  const found = manifests.find((m) => m.kind === kind && m.name === name);
  if (!found) throw new Error(`no ${kind} ${name} under ${DEPLOY_DIR}/`);
  if (kind === 'ConfigMap') return { ...found.body.data };
  const decoded = Object.entries((found.body.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]);
  return { ...Object.fromEntries(decoded), ...found.body.stringData };
}

/**
 * The environment a container starts with, values taken from the ConfigMaps and (example) Secrets under
 * deploy/. As in Kubernetes, `env` entries win over `envFrom`, and later `envFrom` sources over earlier ones.
 */
export function environmentOf(container: Container, manifests: Manifest[]): Record<string, string> {
  const fromSources = (container.envFrom ?? []).map((from) =>
    from.configMapRef ? source(manifests, 'ConfigMap', from.configMapRef.name) : source(manifests, 'Secret', from.secretRef!.name),
  );
  const listed = (container.env ?? []).map((variable): [string, string] => {
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configRef = variable.valueFrom?.configMapKeyRef;
    const value = secretRef
      ? source(manifests, 'Secret', secretRef.name)[secretRef.key]
      : configRef
        ? source(manifests, 'ConfigMap', configRef.name)[configRef.key]
        : variable.value;
    return [variable.name, value ?? ''];
  });
  return Object.assign({}, ...fromSources, Object.fromEntries(listed)) as Record<string, string>;
}

/** The container port a probe or Service names, by name or by number. */
export function containerPort(container: Container, port: number | string): number | undefined {
  return typeof port === 'number' ? container.ports?.find((p) => p.containerPort === port)?.containerPort : container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Whether a label selector (a Service's, a PodDisruptionBudget's) picks a Deployment's pods. */
export function selectsPodsOf(selector: Record<string, string>, deployment: Manifest): boolean {
  const labels: Record<string, string> = deployment.body.spec.template.metadata.labels;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}
