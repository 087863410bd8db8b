/**
 * AWS at the adapter edge, in memory: the Firewall and ClusterDirectory ports over a map of rules, with a
 * fixed latency per call to mimic EC2. Every mutating call is reported (grant id, wall-clock time it was
 * issued) so the benchmark can time approvals and revocations from outside the bot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AuthorizeResult,
  ClusterDirectory,
  ClusterInfo,
  Firewall,
  GroupExposure,
  RuleSpec,
  RuleTags,
  SecurityGroupInfo,
  TaggedRule,
} from '../src/app/ports.js';

export const BENCH_CLUSTERS = 20;
export const BENCH_VPC = 'vpc-0bench000';
const ACCOUNT = '123456789012';

/** bench-00 … bench-19, each alone in its own security group. */
export function clusterName(n: number): string {
  return `bench-${String(n % BENCH_CLUSTERS).padStart(2, '0')}`;
}
export function groupOf(clusterId: string): string {
  return `sg-0be${clusterId.slice(-2).padStart(5, '0')}`;
}

export interface AwsCall {
  type: 'authorize' | 'revoke';
  grantId?: number;
  /** Wall-clock ms (sub-millisecond) when the call was issued, before its latency. */
  at: number;
}

interface StoredRule extends TaggedRule {
  key: string;
}

export class InMemoryAws {
  private readonly rules = new Map<string, StoredRule>();
  private readonly byKey = new Map<string, string>();
  private nextRuleNumber = 1;

  constructor(
    private readonly options: { latencyMs: number; onCall?: (call: AwsCall) => void },
  ) {}

  /** Puts a rule in place without a call, as a database seeded with active grants expects. */
  seedRule(spec: RuleSpec, grantId: number, awsRuleId = this.newRuleId()): string {
    const key = keyOf(spec);
    this.rules.set(awsRuleId, { awsRuleId, securityGroupId: spec.securityGroupId, grantId, key });
    this.byKey.set(key, awsRuleId);
    return awsRuleId;
  }

  readonly firewall: Firewall = {
    authorize: async (spec: RuleSpec, _description: string, tags: RuleTags): Promise<AuthorizeResult> => {
      this.options.onCall?.({ type: 'authorize', grantId: tags.grantId, at: performance.timeOrigin + performance.now() });
      await this.latency();
      const key = keyOf(spec);
      const existing = this.byKey.get(key);
      if (existing) return { outcome: 'duplicate', awsRuleId: existing, grantId: this.rules.get(existing)?.grantId };
      return { outcome: 'created', awsRuleId: this.seedRule(spec, tags.grantId) };
    },
    revoke: async (_group: string, awsRuleId: string) => {
      this.options.onCall?.({ type: 'revoke', grantId: this.rules.get(awsRuleId)?.grantId, at: performance.timeOrigin + performance.now() });
      await this.latency();
      const rule = this.rules.get(awsRuleId);
      if (!rule) return 'already-gone';
      this.rules.delete(awsRuleId);
      this.byKey.delete(rule.key);
      return 'removed';
    },
    ruleExists: async (_group: string, awsRuleId: string) => {
      await this.latency();
      return this.rules.has(awsRuleId);
    },
    listTaggedRules: async (groups: string[]) => {
      await this.latency();
      const wanted = new Set(groups);
      return [...this.rules.values()]
        .filter((rule) => wanted.has(rule.securityGroupId))
        .map(({ awsRuleId, securityGroupId, grantId }) => ({ awsRuleId, securityGroupId, grantId }));
    },
  };

  readonly directory: ClusterDirectory = {
    findCluster: async (id: string): Promise<ClusterInfo | undefined> => {
      await this.latency();
      if (!/^bench-\d\d$/.test(id)) return undefined;
      return {
        id,
        kind: 'replication-group',
        engine: 'redis',
        endpoint: `${id}.abc123.euw1.cache.amazonaws.com`,
        port: 6379,
        vpcId: BENCH_VPC,
        securityGroupIds: [groupOf(id)],
        memberIds: [`${id}-001`],
        accountId: ACCOUNT,
        region: 'eu-west-1',
        connection: { tls: true, auth: 'none', clusterMode: false },
      };
    },
    findSecurityGroup: async (id: string): Promise<SecurityGroupInfo | undefined> => {
      await this.latency();
      return { id, name: id, vpcId: BENCH_VPC, ownerId: ACCOUNT, tags: { 'cache-access:managed': 'true' } };
    },
    exposureOf: async (groupId: string): Promise<GroupExposure> => {
      await this.latency();
      let inboundRuleCount = 0;
      for (const rule of this.rules.values()) if (rule.securityGroupId === groupId) inboundRuleCount += 1;
      return { otherClusters: [], otherInterfaces: [], inboundRuleCount };
    },
    findPeering: async () => {
      await this.latency();
      return undefined;
    },
    clusterTags: async () => {
      await this.latency();
      return {};
    },
    listClusterIds: async () => {
      await this.latency();
      return Array.from({ length: BENCH_CLUSTERS }, (_, n) => clusterName(n));
    },
  };

  private newRuleId(): string {
    const n = this.nextRuleNumber++;
    return `sgr-${n.toString(16).padStart(17, '0')}`;
  }

  private async latency(): Promise<void> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
  }
}

function keyOf(spec: RuleSpec): string {
  const source = spec.source.kind === 'cidr' ? spec.source.cidr : spec.source.groupId;
  return `${spec.securityGroupId}|${spec.protocol}|${spec.port}|${source}`;
}
