/** Firewall over EC2 security-group ingress rules. Rules are only ever removed by their rule id. */
import {
  AuthorizeSecurityGroupIngressCommand,
  type AuthorizeSecurityGroupIngressCommandOutput,
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroupRule,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { AuthorizeResult, AwsLocation, Firewall, PeeredSource, RuleSpec, RuleTags, TaggedRule } from '../../app/ports.js';
import { UpstreamError } from '../../domain/errors.js';
import { canonicalCidr } from '../../domain/source.js';
import type { AwsClientPool } from './client-pool.js';
import { awsErrorCode, callAws, callAwsUnlessAbsent, toUpstreamError } from './aws-errors.js';

const DUPLICATE = 'InvalidPermission.Duplicate';
const GRANT_ID_TAG = 'cache-access:grant-id';
// A rule, or the group holding it, that no longer exists is as good as revoked.
const RULE_ABSENT: ReadonlySet<string> = new Set([
  'InvalidSecurityGroupRuleId.NotFound',
  'InvalidPermission.NotFound',
  'InvalidGroup.NotFound',
]);

export class Ec2Firewall implements Firewall {
  private readonly ec2: EC2Client;

  private readonly clients: AwsClientPool | undefined;

  /** `clients` reaches other regions and accounts (policy `region` / `roleArn`); `ec2` is the bot's own. */
  constructor({ ec2, clients }: { ec2: EC2Client; clients?: AwsClientPool }) {
    this.ec2 = ec2;
    this.clients = clients;
  }

  private client(location: AwsLocation | undefined): EC2Client {
    return this.clients && location ? this.clients.for(location).ec2 : this.ec2;
  }

  async authorize(spec: RuleSpec, description: string, tags: RuleTags, location?: AwsLocation): Promise<AuthorizeResult> {
    let created: AuthorizeSecurityGroupIngressCommandOutput;
    try {
      created = await this.client(location).send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: spec.securityGroupId,
          IpPermissions: [ingressPermission(spec, description)],
          TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: ruleTags(tags) }],
        }),
      );
    } catch (error) {
      if (awsErrorCode(error) !== DUPLICATE) throw toUpstreamError(error, 'AuthorizeSecurityGroupIngress');
      const existing = await this.findIdenticalRule(spec, location);
      if (existing?.SecurityGroupRuleId === undefined) {
        // Removed between the two calls: a retry adds it afresh.
        throw new UpstreamError('aws', DUPLICATE, 'The identical rule AWS reported vanished before it could be read.', true);
      }
      return { outcome: 'duplicate', awsRuleId: existing.SecurityGroupRuleId, grantId: grantIdOf(existing.Tags) };
    }
    const awsRuleId = created.SecurityGroupRules?.[0]?.SecurityGroupRuleId;
    if (awsRuleId === undefined) {
      // Retryable: the retry meets InvalidPermission.Duplicate and finds the rule, tags and all.
      throw new UpstreamError('aws', 'MissingRuleId', 'AWS added the ingress rule but did not say its id.', true);
    }
    return { outcome: 'created', awsRuleId };
  }

  async revoke(securityGroupId: string, awsRuleId: string, location?: AwsLocation): Promise<'removed' | 'already-gone'> {
    const output = await callAwsUnlessAbsent('RevokeSecurityGroupIngress', RULE_ABSENT, () =>
      this.client(location).send(
        new RevokeSecurityGroupIngressCommand({ GroupId: securityGroupId, SecurityGroupRuleIds: [awsRuleId] }),
      ),
    );
    if (output === undefined || output.Return === false || (output.UnknownIpPermissions?.length ?? 0) > 0) {
      return 'already-gone';
    }
    return 'removed';
  }

  async ruleExists(securityGroupId: string, awsRuleId: string, location?: AwsLocation): Promise<boolean> {
    const output = await callAwsUnlessAbsent('DescribeSecurityGroupRules', RULE_ABSENT, () =>
      this.client(location).send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [awsRuleId] })),
    );
    return (output?.SecurityGroupRules ?? []).some(
      (rule) => rule.SecurityGroupRuleId === awsRuleId && rule.GroupId === securityGroupId,
    );
  }

  async listTaggedRules(securityGroupIds: string[], location?: AwsLocation): Promise<TaggedRule[]> {
    const found: TaggedRule[] = [];
    // AWS takes at most 200 values per filter.
    for (let i = 0; i < securityGroupIds.length; i += 200) {
      const filters = [
        { Name: 'group-id', Values: securityGroupIds.slice(i, i + 200) },
        { Name: 'tag-key', Values: [GRANT_ID_TAG] },
      ];
      let nextToken: string | undefined;
      do {
        const page = await callAws('DescribeSecurityGroupRules', () =>
          this.client(location).send(new DescribeSecurityGroupRulesCommand({ Filters: filters, NextToken: nextToken, MaxResults: 1000 })),
        );
        for (const rule of page.SecurityGroupRules ?? []) {
          if (rule.IsEgress || !rule.SecurityGroupRuleId || !rule.GroupId) continue;
          found.push({ awsRuleId: rule.SecurityGroupRuleId, securityGroupId: rule.GroupId, grantId: grantIdOf(rule.Tags) });
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return found;
  }

  /** The rule AWS already holds for exactly this permission, if it is still there. */
  private async findIdenticalRule(spec: RuleSpec, location: AwsLocation | undefined): Promise<SecurityGroupRule | undefined> {
    const filters = [{ Name: 'group-id', Values: [spec.securityGroupId] }];
    let nextToken: string | undefined;
    do {
      const page = await callAws('DescribeSecurityGroupRules', () =>
        this.client(location).send(new DescribeSecurityGroupRulesCommand({ Filters: filters, NextToken: nextToken })),
      );
      const match = page.SecurityGroupRules?.find((rule) => isSamePermission(rule, spec));
      if (match) return match;
      nextToken = page.NextToken;
    } while (nextToken);
    return undefined;
  }
}

function ingressPermission(spec: RuleSpec & { source: PeeredSource }, description: string): IpPermission {
  const ports = { IpProtocol: spec.protocol, FromPort: spec.port, ToPort: spec.port };
  const { source } = spec;
  if (source.kind === 'security-group') {
    // A group in a peered VPC is named with its account and the peering connection.
    const peer = source.peering && { UserId: source.peering.accountId, VpcPeeringConnectionId: source.peering.peeringConnectionId };
    return { ...ports, UserIdGroupPairs: [{ GroupId: source.groupId, ...peer, Description: description }] };
  }
  if (isIpv6(source.cidr)) return { ...ports, Ipv6Ranges: [{ CidrIpv6: source.cidr, Description: description }] };
  return { ...ports, IpRanges: [{ CidrIp: source.cidr, Description: description }] };
}

function ruleTags(tags: RuleTags): Tag[] {
  return [
    { Key: GRANT_ID_TAG, Value: String(tags.grantId) },
    { Key: 'cache-access:expires-at', Value: tags.expiresAt.toISOString() },
    { Key: 'cache-access:managed', Value: 'true' },
  ];
}

/** The grant a rule's cache-access tag names; undefined for rules made by anyone else. */
function grantIdOf(tags: Tag[] | undefined): number | undefined {
  const value = tags?.find((tag) => tag.Key === GRANT_ID_TAG)?.Value;
  const id = value === undefined ? Number.NaN : Number(value);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

function isIpv6(cidr: string): boolean {
  return cidr.includes(':');
}

/** AWS's notion of "the same rule": direction, protocol, port range and source. */
function isSamePermission(rule: SecurityGroupRule, spec: RuleSpec): boolean {
  const sameShape =
    rule.IsEgress === false &&
    (rule.IpProtocol === 'tcp' || rule.IpProtocol === '6') &&
    rule.FromPort === spec.port &&
    rule.ToPort === spec.port;
  if (!sameShape) return false;
  const { source } = spec;
  if (source.kind === 'security-group') return rule.ReferencedGroupInfo?.GroupId === source.groupId;
  // AWS may spell an IPv6 range differently from us; compare canonical forms.
  const ruleCidr = isIpv6(source.cidr) ? rule.CidrIpv6 : rule.CidrIpv4;
  return ruleCidr !== undefined && canonicalCidr(ruleCidr) === canonicalCidr(source.cidr);
}
