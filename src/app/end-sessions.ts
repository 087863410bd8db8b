import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import { describeSource } from '../domain/request.js';
import { connectionsToClose, joinAddresses, NO_ADDRESSES, type AddressSet } from '../domain/sessions.js';
import type { EndSessions } from '../policy.js';
import type { UseCaseDeps } from './deps.js';
import { isEvent } from './history-events.js';
import { recordedLocation } from './location.js';
import type { AwsLocation, CacheNode, ClusterInfo, EventKind, JobAttempt, NodeCredentials } from './ports.js';
import { postToThreads } from './revoke.js';

export const SESSIONS_ENDED = 'sessions-ended' satisfies EventKind;
export const SESSIONS_NOT_ENDED = 'sessions-not-ended' satisfies EventKind;

/** Tries per node, the first wait between them, doubled each time (0.5 s, 1 s, 2 s). */
export interface NodeRetry {
  attempts: number;
  firstDelayMs: number;
}
export const NODE_RETRY: NodeRetry = { attempts: 4, firstDelayMs: 500 };

export const MEMCACHED_SESSIONS_NOTE =
  'Memcached cannot close a client connection: connections opened while the rule was in place stay open until the client closes them.';

type NodeOutcome = { node: string; closed: number } | { node: string; code: string; reason: string };

/** How the policy in force says to sign in to the grant's cluster to end its sessions; undefined when it should not. */
export function sessionEnding(deps: UseCaseDeps, request: AccessRequest): EndSessions | undefined {
  if (request.engine === 'memcached') return undefined;
  return deps.policy().ruleFor(request.clusterId)?.endSessions;
}

/**
 * The end-sessions job, after a grant's rule was removed: on every node of the cluster, closes the
 * connections from addresses the grant let in that no remaining rule of the cluster's groups lets in.
 * A node that cannot be reached or refuses is tried again a few times, then recorded as not ended.
 * Idempotent: once an outcome is recorded for the grant, a second delivery does nothing.
 */
export async function endSessions(deps: UseCaseDeps, requestId: number, attempt: JobAttempt, retry: NodeRetry = NODE_RETRY): Promise<void> {
  const request = await deps.store.get(requestId);
  if (!request || (request.status !== 'expired' && request.status !== 'revoked')) return;
  const auth = sessionEnding(deps, request);
  if (!auth || !(await ownRuleRemoved(deps, request)) || (await alreadyDone(deps, requestId))) return;
  const { location } = recordedLocation(deps, request.location, request.clusterId);
  let plan: { cluster: ClusterInfo; nodes: CacheNode[]; credentials: NodeCredentials; granted: AddressSet; stillAllowed: AddressSet };
  try {
    plan = await planFor(deps, request, auth, location);
  } catch (error) {
    // AWS or Secrets Manager failed: BullMQ retries the job; after its last try the failure is the outcome.
    if (!attempt.finalAttempt) throw error;
    return record(deps, request, [{ node: request.clusterId, ...failureOf(error) }]);
  }
  const { cluster, nodes, credentials, granted, stillAllowed } = plan;
  const outcomes = await Promise.all(
    nodes.map((node) =>
      onNode(node, retry, async () => {
        const session = await deps.liveSessions.open(node, { tls: cluster.connection.tls, credentials });
        try {
          const doomed = connectionsToClose(await session.clients(), { ownId: session.ownId, granted, stillAllowed });
          return await session.kill(doomed.map((client) => client.id));
        } finally {
          await session.close();
        }
      }),
    ),
  );
  await record(deps, request, outcomes);
}

/** Only a rule cache-access made, removed as this grant ended, leaves sessions of its own to close. */
async function ownRuleRemoved(deps: UseCaseDeps, request: AccessRequest): Promise<boolean> {
  if (request.ruleRecordId === undefined) return false;
  const rule = await deps.store.getRule(request.ruleRecordId);
  return rule?.state === 'removed' && rule.origin === 'cache-access';
}

async function alreadyDone(deps: UseCaseDeps, requestId: number): Promise<boolean> {
  return (await deps.store.history(requestId)).some((event) => event.type === SESSIONS_ENDED || event.type === SESSIONS_NOT_ENDED);
}

async function planFor(deps: UseCaseDeps, request: AccessRequest, auth: EndSessions, location: AwsLocation) {
  const cluster = await deps.directory.findCluster(request.clusterId, location);
  if (!cluster) throw new UpstreamError('aws', 'ClusterNotFound', `Cluster ${request.clusterId} no longer exists.`, true);
  const [nodes, granted, stillAllowed, credentials] = await Promise.all([
    deps.network.nodes(cluster, location),
    grantedAddresses(deps, request, location),
    stillAllowedAddresses(deps, cluster, request.port, location),
    deps.sessionCredentials.forCluster(auth, cluster, location),
  ]);
  return { cluster, nodes, credentials, granted, stillAllowed };
}

/** A CIDR's addresses; a security group's interface addresses when the grant became active and now. */
async function grantedAddresses(deps: UseCaseDeps, request: AccessRequest, location: AwsLocation): Promise<AddressSet> {
  const { source } = request;
  if (source.kind === 'cidr') return { cidrs: [source.cidr], addresses: [] };
  const history = await deps.store.history(request.id);
  const recorded = history.flatMap((event) => (isEvent(event, 'activated') ? (event.detail.sourceAddresses ?? []) : []));
  const now = await deps.network.groupAddresses(source.groupId, location);
  return { cidrs: [], addresses: [...new Set([...recorded, ...now])] };
}

/** What the rules left on the cluster's groups still let in on the port, judged the same way. */
async function stillAllowedAddresses(deps: UseCaseDeps, cluster: ClusterInfo, port: number, location: AwsLocation): Promise<AddressSet> {
  const sources = await deps.network.ingressSources(cluster.securityGroupIds, port, location);
  const cidrs = sources.flatMap((source) => (source.kind === 'cidr' ? [source.cidr] : []));
  const groups = [...new Set(sources.flatMap((source) => (source.kind === 'security-group' ? [source.groupId] : [])))];
  const addresses = await Promise.all(groups.map((groupId) => deps.network.groupAddresses(groupId, location)));
  return joinAddresses({ cidrs, addresses: [] }, ...addresses.map((list) => ({ ...NO_ADDRESSES, addresses: list })));
}

async function onNode(node: CacheNode, retry: NodeRetry, work: () => Promise<number>): Promise<NodeOutcome> {
  for (let tried = 1; ; tried++) {
    try {
      return { node: node.id, closed: await work() };
    } catch (error) {
      if (tried >= retry.attempts) return { node: node.id, ...failureOf(error) };
      await sleep(retry.firstDelayMs * 2 ** (tried - 1));
    }
  }
}

/** Records and tells what happened: the event log, a warning for nodes left open, the thread and the requester. */
async function record(deps: UseCaseDeps, request: AccessRequest, outcomes: NodeOutcome[]): Promise<void> {
  const at = deps.clock.now();
  const ended = outcomes.flatMap((o) => ('closed' in o ? [o] : []));
  const failed = outcomes.flatMap((o) => ('reason' in o ? [o] : []));
  const closed = ended.reduce((sum, o) => sum + o.closed, 0);
  if (ended.length > 0 || failed.length === 0) {
    await deps.store.recordEvent(request.id, { at, actor: 'system', type: SESSIONS_ENDED, detail: { closed, nodes: ended } });
  }
  if (failed.length > 0) {
    await deps.store.recordEvent(request.id, { at, actor: 'system', type: SESSIONS_NOT_ENDED, detail: { nodes: failed } });
    deps.logger.warn({ requestId: request.id, clusterId: request.clusterId, nodes: failed }, 'open sessions not ended on some nodes');
  }
  const connections = closed === 1 ? '1 open connection' : `${closed} open connections`;
  const from = describeSource(request.source);
  // The code only: the services' messages name hosts and accounts, which belong in the log.
  const left = failed.map((o) => `\`${o.node}\` (${o.code})`).join(', ');
  const failure = failed.length > 0 ? ` Could not close connections on ${left}: those stay open until their clients close them.` : '';
  await postToThreads(deps, request, `:scissors: Access #${request.id}: closed ${connections} from \`${from}\` to \`${request.clusterId}\`.${failure}`);
  await deps.notifier
    .tellRequester(request, `:scissors: ${connections} you had to \`${request.clusterId}\` ${closed === 1 ? 'was' : 'were'} closed as access ended.${failure}`)
    .then((ref) => deps.store.addMessageRefs([ref]))
    .catch((error: unknown) => deps.logger.error({ err: error, requestId: request.id }, 'could not tell the requester about closed sessions'));
}

/** A failure's code (for Slack) and message (for the log and the record); never a credential. */
function failureOf(error: unknown): { code: string; reason: string } {
  const code = error instanceof UpstreamError ? error.upstreamCode : 'Error';
  return { code, reason: error instanceof Error ? error.message : String(error) };
}
