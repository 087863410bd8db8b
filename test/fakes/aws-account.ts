/**
 * A small, stateful AWS account behind aws-sdk-client-mock: ElastiCache clusters, security groups and
 * their ingress rules. The real SDK clients are used; only `send` is answered here, with the shapes
 * and error names AWS returns. Tests can inject faults per action and inspect the rules.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
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
  ReplicationGroupNotFoundFault,
  type CacheCluster,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';

export const VPC = 'vpc-0aaaaaaaaaaaaaaa1';
export const OTHER_VPC = 'vpc-0bbbbbbbbbbbbbbb2';

export interface FakeCluster {
  id: string;
  engine: 'redis' | 'valkey' | 'memcached';
  port: number;
  securityGroupIds: string[];
}

type Fault = () => Error;

export class FakeAwsAccount {
  readonly rules = new Map<string, SecurityGroupRule>();
  readonly groups = new Map<string, string>([]); // group id → vpc id
  readonly replicationGroups = new Map<string, FakeCluster>();
  /** Every EC2 call made, in order, as [command name, input]. */
  readonly ec2Calls: Array<[string, Record<string, unknown>]> = [];
  private readonly faults = new Map<string, Fault[]>();
  private nextRule = 1;
  private readonly ec2Mock = mockClient(EC2Client);
  private readonly elastiCacheMock = mockClient(ElastiCacheClient);

  constructor() {
    this.ec2Mock.on(DescribeSecurityGroupsCommand).callsFake((input) => this.run('DescribeSecurityGroups', input, () => {
      const id = input.GroupIds?.[0] ?? '';
      const vpc = this.groups.get(id);
      if (!vpc) throw ec2Error('InvalidGroup.NotFound', 400, `The security group '${id}' does not exist`);
      return { SecurityGroups: [{ GroupId: id, GroupName: `group-${id}`, VpcId: vpc, OwnerId: '123456789012' }] };
    }));
    this.ec2Mock.on(AuthorizeSecurityGroupIngressCommand).callsFake((input) =>
      this.run('AuthorizeSecurityGroupIngress', input, () => this.authorize(input)),
    );
    this.ec2Mock.on(RevokeSecurityGroupIngressCommand).callsFake((input) => this.run('RevokeSecurityGroupIngress', input, () => {
      const ids: string[] = input.SecurityGroupRuleIds ?? [];
      for (const id of ids) {
        if (!this.rules.has(id)) {
          throw ec2Error('InvalidSecurityGroupRuleId.NotFound', 400, `The security group rule ID '${id}' does not exist`);
        }
      }
      ids.forEach((id) => this.rules.delete(id));
      return { Return: true };
    }));
    this.ec2Mock.on(DescribeSecurityGroupRulesCommand).callsFake((input) => this.run('DescribeSecurityGroupRules', input, () => {
      const ids: string[] | undefined = input.SecurityGroupRuleIds;
      if (ids) {
        const missing = ids.find((id) => !this.rules.has(id));
        if (missing) throw ec2Error('InvalidSecurityGroupRuleId.NotFound', 400, `The security group rule ID '${missing}' does not exist`);
        return { SecurityGroupRules: ids.map((id) => this.rules.get(id)!) };
      }
      const groupFilter = (input.Filters ?? []).find((f: { Name?: string }) => f.Name === 'group-id')?.Values ?? [];
      return { SecurityGroupRules: [...this.rules.values()].filter((r) => groupFilter.length === 0 || groupFilter.includes(r.GroupId!)) };
    }));
    this.elastiCacheMock.on(DescribeReplicationGroupsCommand).callsFake(async (input) => {
      const cluster = this.replicationGroups.get(input.ReplicationGroupId ?? '');
      if (!cluster) throw new ReplicationGroupNotFoundFault({ message: `ReplicationGroup ${input.ReplicationGroupId} not found.`, $metadata: { httpStatusCode: 404 } });
      return { ReplicationGroups: [replicationGroup(cluster)] };
    });
    this.elastiCacheMock.on(DescribeCacheClustersCommand).callsFake(async (input) => {
      const rgId = (input.CacheClusterId ?? '').replace(/-00\d$/, '');
      const cluster = this.replicationGroups.get(rgId);
      if (!cluster || !input.CacheClusterId?.match(/-00\d$/)) {
        throw new CacheClusterNotFoundFault({ message: `CacheCluster ${input.CacheClusterId} not found.`, $metadata: { httpStatusCode: 404 } });
      }
      return { CacheClusters: [memberCluster(cluster, input.CacheClusterId)] };
    });
  }

  addGroup(id: string, vpcId = VPC): void {
    this.groups.set(id, vpcId);
  }

  addReplicationGroup(cluster: FakeCluster): void {
    this.replicationGroups.set(cluster.id, cluster);
  }

  /** A rule someone made by hand in the console: no cache-access tags. */
  addManualRule(groupId: string, port: number, sourceGroupId: string): string {
    const id = this.newRuleId();
    this.rules.set(id, {
      SecurityGroupRuleId: id, GroupId: groupId, IsEgress: false, IpProtocol: 'tcp', FromPort: port, ToPort: port,
      ReferencedGroupInfo: { GroupId: sourceGroupId, UserId: '123456789012' }, Tags: [],
    });
    return id;
  }

  /** The next `count` calls of `action` fail with `fault` (e.g. throttling). */
  failNext(action: string, count: number, fault: Fault): void {
    this.faults.set(action, [...(this.faults.get(action) ?? []), ...Array.from({ length: count }, () => fault)]);
  }

  callsOf(action: string): Array<Record<string, unknown>> {
    return this.ec2Calls.filter(([name]) => name === action).map(([, input]) => input);
  }

  restore(): void {
    this.ec2Mock.restore();
    this.elastiCacheMock.restore();
  }

  private async run<T>(action: string, input: Record<string, unknown>, answer: () => T): Promise<T> {
    this.ec2Calls.push([action, input]);
    const fault = this.faults.get(action)?.shift();
    if (fault) throw fault();
    return answer();
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

  private newRuleId(): string {
    return `sgr-${(this.nextRule++).toString(16).padStart(17, '0')}`;
  }
}

export function ec2Error(name: string, httpStatusCode: number, message: string): EC2ServiceException {
  return new EC2ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, requestId: 'a1b2c3d4-0000-4000-8000-000000000000', attempts: 1, totalRetryDelay: 0 },
    message,
  });
}

function replicationGroup(cluster: FakeCluster): ReplicationGroup {
  const address = `${cluster.id}.abc123.ng.0001.euw1.cache.amazonaws.com`;
  return {
    ReplicationGroupId: cluster.id,
    Status: 'available',
    Engine: cluster.engine,
    MemberClusters: [`${cluster.id}-001`, `${cluster.id}-002`],
    NodeGroups: [{ NodeGroupId: '0001', Status: 'available', PrimaryEndpoint: { Address: address, Port: cluster.port } }],
    ClusterEnabled: false,
    TransitEncryptionEnabled: true,
  };
}

function memberCluster(cluster: FakeCluster, id: string): CacheCluster {
  return {
    CacheClusterId: id,
    ReplicationGroupId: cluster.id,
    Engine: cluster.engine,
    CacheClusterStatus: 'available',
    CacheSubnetGroupName: 'cache-subnets',
    SecurityGroups: cluster.securityGroupIds.map((id) => ({ SecurityGroupId: id, Status: 'active' })),
    CacheNodes: [{ CacheNodeId: '0001', Endpoint: { Address: `${id}.abc123.0001.euw1.cache.amazonaws.com`, Port: cluster.port } }],
  };
}
