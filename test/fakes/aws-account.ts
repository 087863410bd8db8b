/**
 * A small, stateful AWS account behind aws-sdk-client-mock: ElastiCache clusters, security groups,
 * their ingress rules and network interfaces, and VPC peerings. The real SDK clients are used; only
 * `send` is answered here, with the shapes and error names AWS returns. Tests can inject faults per
 * action, inspect the rules, and see which region and credentials each call was made with.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcPeeringConnectionsCommand,
  EC2Client,
  EC2ServiceException,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import {
  CacheClusterNotFoundFault,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
  ReplicationGroupNotFoundFault,
  type CacheCluster,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

export const VPC = 'vpc-0aaaaaaaaaaaaaaa1';
export const OTHER_VPC = 'vpc-0bbbbbbbbbbbbbbb2';
export const ACCOUNT = '123456789012';

export interface FakeCluster {
  id: string;
  engine: 'redis' | 'valkey' | 'memcached';
  port: number;
  securityGroupIds: string[];
  /** In-transit encryption; on unless set to false. */
  tls?: boolean;
  auth?: 'none' | 'auth-token' | 'rbac';
  clusterMode?: boolean;
  /** The replication group's own tags (ListTagsForResource on its ARN). */
  tags?: Record<string, string>;
  /** Where each member node listens (its CacheNodes endpoint); two nodes on made-up hosts when absent. */
  nodes?: Array<{ host: string; port: number }>;
}

export interface FakeGroup {
  vpcId: string;
  ownerId: string;
  tags: Record<string, string>;
}

/** Where a call went: the region and access key of the client that sent it. */
export interface CallOrigin {
  action: string;
  region: string;
  accessKeyId: string;
}

type Fault = () => Error;

export class FakeAwsAccount {
  readonly rules = new Map<string, SecurityGroupRule>();
  readonly groups = new Map<string, FakeGroup>();
  readonly replicationGroups = new Map<string, FakeCluster>();
  /** Network interfaces other than the clusters' own, by id. */
  readonly interfaces = new Map<string, { groupIds: string[]; description: string; privateIps: string[] }>();
  readonly peerings: Array<{ id: string; requesterVpc: string; accepterVpc: string; accepterOwner: string; status: string }> = [];
  /** Every EC2 call made, in order, as [command name, input]. */
  readonly ec2Calls: Array<[string, Record<string, unknown>]> = [];
  /** Every call made, EC2 and ElastiCache, with the region and credentials it was sent with. */
  readonly origins: CallOrigin[] = [];
  private readonly faults = new Map<string, Fault[]>();
  private nextRule = 1;
  private readonly held = new Set<string>();
  private readonly unapplied = new Map<string, Record<string, unknown>>();
  private region: string | undefined;
  private readonly ec2Mock = mockClient(EC2Client);
  private readonly elastiCacheMock = mockClient(ElastiCacheClient);
  private readonly secretsMock = mockClient(SecretsManagerClient);
  /** Secrets Manager's secrets, by ARN, as the text they hold. */
  readonly secrets = new Map<string, string>();

  constructor() {
    this.ec2Mock.on(DescribeSecurityGroupsCommand).callsFake((input, getClient) => this.run('DescribeSecurityGroups', input, () => {
      const id = input.GroupIds?.[0] ?? '';
      const group = this.groups.get(id);
      if (!group) throw ec2Error('InvalidGroup.NotFound', 400, `The security group '${id}' does not exist`);
      const tags = Object.entries(group.tags).map(([Key, Value]) => ({ Key, Value }));
      return { SecurityGroups: [{ GroupId: id, GroupName: `group-${id}`, VpcId: group.vpcId, OwnerId: group.ownerId, Tags: tags }] };
    }, getClient));
    this.ec2Mock.on(DescribeNetworkInterfacesCommand).callsFake((input, getClient) => this.run('DescribeNetworkInterfaces', input, () => {
      const wanted: string[] = (input.Filters ?? []).find((f: { Name?: string }) => f.Name === 'group-id')?.Values ?? [];
      const inGroup = (groupIds: string[]) => wanted.length === 0 || groupIds.some((id) => wanted.includes(id));
      return { NetworkInterfaces: this.allInterfaces().filter((eni) => inGroup(eni.groupIds)).map(networkInterface) };
    }, getClient));
    this.ec2Mock.on(DescribeVpcPeeringConnectionsCommand).callsFake((input, getClient) => this.run('DescribeVpcPeeringConnections', input, () => {
      const filter = (name: string): string[] | undefined =>
        (input.Filters ?? []).find((f: { Name?: string }) => f.Name === name)?.Values;
      const matches = (name: string, value: string) => !filter(name) || filter(name)!.includes(value);
      const found = this.peerings.filter((p) =>
        matches('status-code', p.status) && matches('requester-vpc-info.vpc-id', p.requesterVpc) && matches('accepter-vpc-info.vpc-id', p.accepterVpc),
      );
      return {
        VpcPeeringConnections: found.map((p) => ({
          VpcPeeringConnectionId: p.id,
          Status: { Code: p.status },
          RequesterVpcInfo: { VpcId: p.requesterVpc, OwnerId: ACCOUNT, Region: 'eu-west-1' },
          AccepterVpcInfo: { VpcId: p.accepterVpc, OwnerId: p.accepterOwner, Region: 'eu-west-1' },
        })),
      };
    }, getClient));
    this.ec2Mock.on(AuthorizeSecurityGroupIngressCommand).callsFake((input, getClient) =>
      this.run('AuthorizeSecurityGroupIngress', input, () => this.authorize(input), getClient),
    );
    this.ec2Mock.on(RevokeSecurityGroupIngressCommand).callsFake((input, getClient) => this.run('RevokeSecurityGroupIngress', input, () => {
      const ids: string[] = input.SecurityGroupRuleIds ?? [];
      for (const id of ids) {
        if (!this.rules.has(id)) {
          throw ec2Error('InvalidSecurityGroupRuleId.NotFound', 400, `The security group rule ID '${id}' does not exist`);
        }
      }
      ids.forEach((id) => this.rules.delete(id));
      return { Return: true };
    }, getClient));
    this.ec2Mock.on(DescribeSecurityGroupRulesCommand).callsFake((input, getClient) => this.run('DescribeSecurityGroupRules', input, () => {
      const ids: string[] | undefined = input.SecurityGroupRuleIds;
      if (ids) {
        const missing = ids.find((id) => !this.rules.has(id));
        if (missing) throw ec2Error('InvalidSecurityGroupRuleId.NotFound', 400, `The security group rule ID '${missing}' does not exist`);
        return { SecurityGroupRules: ids.map((id) => this.rules.get(id)!) };
      }
      const filter = (name: string): string[] => (input.Filters ?? []).find((f: { Name?: string }) => f.Name === name)?.Values ?? [];
      const [groups, tagKeys] = [filter('group-id'), filter('tag-key')];
      return {
        SecurityGroupRules: [...this.rules.values()].filter(
          (r) =>
            (groups.length === 0 || groups.includes(r.GroupId!)) &&
            (tagKeys.length === 0 || (r.Tags ?? []).some((t) => tagKeys.includes(t.Key!))),
        ),
      };
    }, getClient));
    this.elastiCacheMock.on(DescribeReplicationGroupsCommand).callsFake(async (input, getClient) => {
      await this.recordOrigin('DescribeReplicationGroups', getClient);
      this.throwInjectedFault('DescribeReplicationGroups');
      if (input.ReplicationGroupId === undefined) {
        return { ReplicationGroups: [...this.replicationGroups.values()].map(replicationGroup) };
      }
      // AWS finds ids in any case ("This parameter is not case sensitive") and answers with the stored, lower-case one.
      const cluster = this.replicationGroups.get(input.ReplicationGroupId.toLowerCase());
      if (!cluster) throw new ReplicationGroupNotFoundFault({ message: `ReplicationGroup ${input.ReplicationGroupId} not found.`, $metadata: { httpStatusCode: 404 } });
      return { ReplicationGroups: [replicationGroup(cluster)] };
    });
    this.elastiCacheMock.on(DescribeCacheClustersCommand).callsFake(async (input, getClient) => {
      await this.recordOrigin('DescribeCacheClusters', getClient);
      if (input.CacheClusterId === undefined) {
        return { CacheClusters: [...this.replicationGroups.values()].flatMap((c) => memberIds(c).map((id) => memberCluster(c, id))) };
      }
      const id = input.CacheClusterId.toLowerCase(); // in any case, as for replication groups
      const cluster = this.replicationGroups.get(id.replace(/-00\d$/, ''));
      if (!cluster || !/-00\d$/.test(id)) {
        throw new CacheClusterNotFoundFault({ message: `CacheCluster ${input.CacheClusterId} not found.`, $metadata: { httpStatusCode: 404 } });
      }
      return { CacheClusters: [memberCluster(cluster, id)] };
    });
    this.secretsMock.on(GetSecretValueCommand).callsFake(async (input, getClient) => {
      await this.recordOrigin('GetSecretValue', getClient);
      this.throwInjectedFault('GetSecretValue');
      const secret = this.secrets.get(input.SecretId ?? '');
      if (secret === undefined) {
        throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: { httpStatusCode: 400 } });
      }
      return { ARN: input.SecretId, SecretString: secret };
    });
    this.elastiCacheMock.on(ListTagsForResourceCommand).callsFake(async (input, getClient) => {
      await this.recordOrigin('ListTagsForResource', getClient);
      const id = /:replicationgroup:(.+)$/.exec(input.ResourceName ?? '')?.[1] ?? '';
      const cluster = this.replicationGroups.get(id);
      if (!cluster) throw new ReplicationGroupNotFoundFault({ message: `ReplicationGroup ${id} not found.`, $metadata: { httpStatusCode: 404 } });
      return { TagList: Object.entries(cluster.tags ?? {}).map(([Key, Value]) => ({ Key, Value })) };
    });
  }

  /** Sets a replication group's tags, as the console's "Manage tags" would. */
  tagCluster(id: string, tags: Record<string, string>): void {
    const cluster = this.replicationGroups.get(id);
    if (!cluster) throw new Error(`no replication group ${id} in the fake account`);
    cluster.tags = { ...tags };
  }

  addGroup(id: string, vpcId = VPC, options: { ownerId?: string; tags?: Record<string, string> } = {}): void {
    this.groups.set(id, { vpcId, ownerId: options.ownerId ?? ACCOUNT, tags: options.tags ?? {} });
  }

  /** A network interface that is not an ElastiCache node's, e.g. an EC2 instance's, with its private addresses. */
  addNetworkInterface(id: string, groupIds: string[], description: string, privateIps: string[] = []): void {
    this.interfaces.set(id, { groupIds, description, privateIps });
  }

  addPeering(id: string, requesterVpc: string, accepterVpc: string, accepterOwner = ACCOUNT, status = 'active'): void {
    this.peerings.push({ id, requesterVpc, accepterVpc, accepterOwner, status });
  }

  /** `count` hand-made inbound rules on the group, from distinct /32s. */
  fillRules(groupId: string, count: number): void {
    for (let i = 0; i < count; i++) {
      const id = this.newRuleId();
      this.rules.set(id, {
        SecurityGroupRuleId: id, GroupId: groupId, IsEgress: false, IpProtocol: 'tcp', FromPort: 443, ToPort: 443,
        CidrIpv4: `10.200.${Math.floor(i / 256)}.${i % 256}/32`, Tags: [],
      });
    }
  }

  addReplicationGroup(cluster: FakeCluster): void {
    this.replicationGroups.set(cluster.id, cluster);
  }

  /** A rule someone made by hand in the console: no cache-access tags. */
  addManualRule(groupId: string, port: number, sourceGroupId: string, tags: Array<{ Key: string; Value: string }> = []): string {
    const id = this.newRuleId();
    this.rules.set(id, {
      SecurityGroupRuleId: id, GroupId: groupId, IsEgress: false, IpProtocol: 'tcp', FromPort: port, ToPort: port,
      ReferencedGroupInfo: { GroupId: sourceGroupId, UserId: '123456789012' }, Tags: tags,
    });
    return id;
  }

  /** The next call of `action` takes effect in AWS but never answers, as if the caller died waiting. */
  holdNext(action: string): void {
    this.held.add(action);
  }

  /** The next call of `action` answers `reply` but changes nothing yet, as AWS's eventual consistency may. */
  answerWithoutEffect(action: string, reply: Record<string, unknown>): void {
    this.unapplied.set(action, reply);
  }

  /** The next `count` calls of `action` (an EC2 action, or DescribeReplicationGroups) fail with `fault` (e.g. throttling). */
  failNext(action: string, count: number, fault: Fault): void {
    this.faults.set(action, [...(this.faults.get(action) ?? []), ...Array.from({ length: count }, () => fault)]);
  }

  callsOf(action: string): Array<Record<string, unknown>> {
    return this.ec2Calls.filter(([name]) => name === action).map(([, input]) => input);
  }

  restore(): void {
    this.ec2Mock.restore();
    this.elastiCacheMock.restore();
    this.secretsMock.restore();
  }

  /**
   * Keeps the account's EC2 resources in `region` only, as AWS does: a call sent to another region finds
   * no group and no rule there. Unset, every region sees them.
   */
  liveOnlyIn(region: string): void {
    this.region = region;
  }

  private async run<T>(action: string, input: Record<string, unknown>, answer: () => T, getClient?: () => any): Promise<T> {
    this.ec2Calls.push([action, input]);
    if (getClient) await this.recordOrigin(action, getClient);
    const sentTo = getClient && this.origins.at(-1)!.region;
    if (this.region !== undefined && sentTo !== undefined && sentTo !== this.region) return answerElsewhere(action, input) as T;
    this.throwInjectedFault(action);
    const reply = this.unapplied.get(action);
    if (reply && this.unapplied.delete(action)) return reply as T;
    const result = answer();
    if (this.held.delete(action)) return new Promise<T>(() => {}); // done in AWS; the reply never comes
    return result;
  }

  private throwInjectedFault(action: string): void {
    const fault = this.faults.get(action)?.shift();
    if (fault) throw fault();
  }

  private authorize(input: Record<string, any>) {
    const permission = input.IpPermissions[0];
    const pair = permission.UserIdGroupPairs?.[0];
    const cidr = permission.IpRanges?.[0]?.CidrIp;
    const cidr6 = permission.Ipv6Ranges?.[0]?.CidrIpv6;
    const same = [...this.rules.values()].find(
      (r) => r.GroupId === input.GroupId && !r.IsEgress && r.IpProtocol === permission.IpProtocol && r.FromPort === permission.FromPort &&
        r.ToPort === permission.ToPort && r.ReferencedGroupInfo?.GroupId === pair?.GroupId && r.CidrIpv4 === cidr && r.CidrIpv6 === cidr6,
    );
    if (same) {
      throw ec2Error('InvalidPermission.Duplicate', 400, `the specified rule "peer: ${pair?.GroupId ?? cidr}, TCP, from port: ${permission.FromPort}, to port: ${permission.ToPort}, ALLOW" already exists`);
    }
    const id = this.newRuleId();
    const rule: SecurityGroupRule = {
      SecurityGroupRuleId: id, GroupId: input.GroupId, GroupOwnerId: '123456789012', IsEgress: false,
      IpProtocol: permission.IpProtocol, FromPort: permission.FromPort, ToPort: permission.ToPort,
      CidrIpv4: cidr, CidrIpv6: cidr6, ReferencedGroupInfo: pair ? { GroupId: pair.GroupId, UserId: '123456789012' } : undefined,
      Description: pair?.Description ?? permission.IpRanges?.[0]?.Description ?? permission.Ipv6Ranges?.[0]?.Description,
      Tags: input.TagSpecifications?.[0]?.Tags ?? [],
    };
    this.rules.set(id, rule);
    return { Return: true, SecurityGroupRules: [rule] };
  }

  private async recordOrigin(action: string, getClient: () => any): Promise<void> {
    const { config } = getClient();
    const region = await config.region().catch(() => '');
    const credentials = await config.credentials().catch(() => ({ accessKeyId: '' }));
    this.origins.push({ action, region, accessKeyId: credentials.accessKeyId });
  }

  /** Every network interface: one per cluster member (named as ElastiCache names them), and the added ones. */
  private allInterfaces(): Array<{ id: string; groupIds: string[]; description: string; privateIps: string[] }> {
    const nodes = [...this.replicationGroups.values()].flatMap((c) =>
      memberIds(c).map((member) => ({ id: `eni-${member}`, groupIds: c.securityGroupIds, description: `ElastiCache ${member}`, privateIps: [] })),
    );
    return [...nodes, ...[...this.interfaces].map(([id, eni]) => ({ id, ...eni }))];
  }

  private newRuleId(): string {
    return `sgr-${(this.nextRule++).toString(16).padStart(17, '0')}`;
  }
}

/** What EC2 answers in a region where the account has none of the groups and rules asked about. */
function answerElsewhere(action: string, input: Record<string, any>): unknown {
  if (action === 'DescribeSecurityGroupRules') {
    if (!input.SecurityGroupRuleIds) return { SecurityGroupRules: [] };
    throw ec2Error('InvalidSecurityGroupRuleId.NotFound', 400, `The security group rule ID '${input.SecurityGroupRuleIds[0]}' does not exist`);
  }
  const group = input.GroupId ?? input.GroupIds?.[0] ?? '';
  throw ec2Error('InvalidGroup.NotFound', 400, `The security group '${group}' does not exist`);
}

export function ec2Error(name: string, httpStatusCode: number, message: string): EC2ServiceException {
  return new EC2ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, requestId: 'a1b2c3d4-0000-4000-8000-000000000000', attempts: 1, totalRetryDelay: 0 },
    message,
  });
}

function memberIds(cluster: FakeCluster): string[] {
  return Array.from({ length: cluster.nodes?.length ?? 2 }, (_, i) => `${cluster.id}-00${i + 1}`);
}

function networkInterface(eni: { id: string; groupIds: string[]; description: string; privateIps: string[] }) {
  return {
    NetworkInterfaceId: eni.id,
    Description: eni.description,
    PrivateIpAddresses: eni.privateIps.map((PrivateIpAddress, i) => ({ PrivateIpAddress, Primary: i === 0 })),
    Groups: eni.groupIds.map((GroupId) => ({ GroupId, GroupName: `group-${GroupId}` })),
    VpcId: VPC,
    OwnerId: ACCOUNT,
    Status: 'in-use' as const,
  };
}

function replicationGroup(cluster: FakeCluster): ReplicationGroup {
  const address = `${cluster.id}.abc123.ng.0001.euw1.cache.amazonaws.com`;
  return {
    ReplicationGroupId: cluster.id,
    ARN: `arn:aws:elasticache:eu-west-1:${ACCOUNT}:replicationgroup:${cluster.id}`,
    Status: 'available',
    Engine: cluster.engine,
    MemberClusters: memberIds(cluster),
    NodeGroups: [{ NodeGroupId: '0001', Status: 'available', PrimaryEndpoint: { Address: address, Port: cluster.port } }],
    ClusterEnabled: cluster.clusterMode ?? false,
    TransitEncryptionEnabled: cluster.tls ?? true,
    AuthTokenEnabled: cluster.auth === 'auth-token',
    ...(cluster.auth === 'rbac' ? { UserGroupIds: ['app-users'] } : {}),
  };
}

function memberCluster(cluster: FakeCluster, id: string): CacheCluster {
  const node = cluster.nodes?.[Number(id.slice(-3)) - 1];
  return {
    CacheClusterId: id,
    ReplicationGroupId: cluster.id,
    Engine: cluster.engine,
    CacheClusterStatus: 'available',
    CacheSubnetGroupName: 'cache-subnets',
    SecurityGroups: cluster.securityGroupIds.map((id) => ({ SecurityGroupId: id, Status: 'active' })),
    CacheNodes: [{ CacheNodeId: '0001', Endpoint: { Address: node?.host ?? `${id}.abc123.0001.euw1.cache.amazonaws.com`, Port: node?.port ?? cluster.port } }],
    TransitEncryptionEnabled: cluster.tls ?? true,
  };
}
