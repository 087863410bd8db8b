import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, test } from 'vitest';
import { Ec2Firewall } from '../../src/adapters/aws/ec2-firewall.js';
import type { RuleSpec } from '../../src/app/ports.js';
import { UpstreamError } from '../../src/domain/errors.js';
import { ec2Client, ec2Error, throttled, unauthorized } from '../fixtures/aws/sdk.js';

const TARGET = 'sg-0aaaaaaaaaaaaaaaa';
const SOURCE_GROUP = 'sg-0bbbbbbbbbbbbbbbb';
const RULE_ID = 'sgr-0123456789abcdef0';
const DESCRIPTION = 'cache-access #42 alice until 2026-11-26T14:00Z';
const TAGS = { grantId: 42, expiresAt: new Date('2026-11-26T14:00:00.000Z') };
const EXPECTED_TAGS = [
  { Key: 'cache-access:grant-id', Value: '42' },
  { Key: 'cache-access:expires-at', Value: '2026-11-26T14:00:00.000Z' },
  { Key: 'cache-access:managed', Value: 'true' },
];

const fromGroup: RuleSpec = {
  securityGroupId: TARGET,
  protocol: 'tcp',
  port: 6379,
  source: { kind: 'security-group', groupId: SOURCE_GROUP },
};

const ec2 = ec2Client();
const aws = mockClient(ec2);
const firewall = new Ec2Firewall({ ec2 });

beforeEach(() => aws.reset());

function ingressRule(overrides: Partial<SecurityGroupRule>): SecurityGroupRule {
  return {
    SecurityGroupRuleId: 'sgr-0fffffffffffffff0',
    GroupId: TARGET,
    GroupOwnerId: '123456789012',
    IsEgress: false,
    IpProtocol: 'tcp',
    FromPort: 6379,
    ToPort: 6379,
    Tags: [],
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('authorize', () => {
  test('adds one tcp rule for the port from a security group, with description and tags', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).resolves({
      Return: true,
      SecurityGroupRules: [ingressRule({ SecurityGroupRuleId: RULE_ID, ReferencedGroupInfo: { GroupId: SOURCE_GROUP } })],
    });

    const result = await firewall.authorize(fromGroup, DESCRIPTION, TAGS);

    expect(result).toEqual({ outcome: 'created', awsRuleId: RULE_ID });
    const calls = aws.commandCalls(AuthorizeSecurityGroupIngressCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      GroupId: TARGET,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 6379,
          ToPort: 6379,
          UserIdGroupPairs: [{ GroupId: SOURCE_GROUP, Description: DESCRIPTION }],
        },
      ],
      TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: EXPECTED_TAGS }],
    });
  });

  test('an IPv4 range goes in IpRanges', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true, SecurityGroupRules: [{ SecurityGroupRuleId: RULE_ID }] });

    await firewall.authorize({ ...fromGroup, port: 11211, source: { kind: 'cidr', cidr: '10.1.2.0/24' } }, DESCRIPTION, TAGS);

    expect(aws.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 11211, ToPort: 11211, IpRanges: [{ CidrIp: '10.1.2.0/24', Description: DESCRIPTION }] },
    ]);
  });

  test('an IPv6 range goes in Ipv6Ranges', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true, SecurityGroupRules: [{ SecurityGroupRuleId: RULE_ID }] });

    await firewall.authorize({ ...fromGroup, source: { kind: 'cidr', cidr: '2001:db8:1::/48' } }, DESCRIPTION, TAGS);

    expect(aws.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, Ipv6Ranges: [{ CidrIpv6: '2001:db8:1::/48', Description: DESCRIPTION }] },
    ]);
  });

  test('on InvalidPermission.Duplicate it pages through the group rules to the identical one and returns its tags', async () => {
    aws
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(
        ec2Error(
          'InvalidPermission.Duplicate',
          400,
          `the specified rule "peer: ${SOURCE_GROUP}, TCP, from port: 6379, to port: 6379, ALLOW" already exists`,
        ),
      );
    const existing = ingressRule({
      SecurityGroupRuleId: RULE_ID,
      ReferencedGroupInfo: { GroupId: SOURCE_GROUP, UserId: '123456789012' },
      Tags: [
        { Key: 'cache-access:grant-id', Value: '17' },
        { Key: 'team', Value: 'payments' },
      ],
    });
    aws
      .on(DescribeSecurityGroupRulesCommand)
      .resolvesOnce({
        SecurityGroupRules: [
          // Near misses: egress, another port, a port range, another source, a CIDR.
          ingressRule({ IsEgress: true, ReferencedGroupInfo: { GroupId: SOURCE_GROUP } }),
          ingressRule({ FromPort: 6380, ToPort: 6380, ReferencedGroupInfo: { GroupId: SOURCE_GROUP } }),
          ingressRule({ FromPort: 0, ToPort: 65535, ReferencedGroupInfo: { GroupId: SOURCE_GROUP } }),
          ingressRule({ ReferencedGroupInfo: { GroupId: 'sg-0cccccccccccccccc' } }),
          ingressRule({ CidrIpv4: '10.0.0.0/8' }),
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({ SecurityGroupRules: [existing] });

    const result = await firewall.authorize(fromGroup, DESCRIPTION, TAGS);

    expect(result).toEqual({ outcome: 'duplicate', awsRuleId: RULE_ID, grantId: 17 });
    const describes = aws.commandCalls(DescribeSecurityGroupRulesCommand).map((call) => call.args[0].input);
    expect(describes).toEqual([
      { Filters: [{ Name: 'group-id', Values: [TARGET] }] },
      { Filters: [{ Name: 'group-id', Values: [TARGET] }], NextToken: 'page-2' },
    ]);
  });

  test('a duplicate CIDR rule is recognised even when AWS spells the range differently', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).rejects(ec2Error('InvalidPermission.Duplicate', 400, 'already exists'));
    aws.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [
        ingressRule({ CidrIpv4: '10.1.2.0/24' }),
        ingressRule({ SecurityGroupRuleId: RULE_ID, CidrIpv6: '2001:0db8:0001::/48' }),
      ],
    });

    const result = await firewall.authorize({ ...fromGroup, source: { kind: 'cidr', cidr: '2001:db8:1::/48' } }, DESCRIPTION, TAGS);

    expect(result).toEqual({ outcome: 'duplicate', awsRuleId: RULE_ID, grantId: undefined });
  });

  test('a duplicate whose rule has vanished by the time we look is retryable, so the retry adds it afresh', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).rejects(ec2Error('InvalidPermission.Duplicate', 400, 'already exists'));
    aws.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });

    const error = await rejection(firewall.authorize(fromGroup, DESCRIPTION, TAGS));

    expect(error).toMatchObject({ upstreamCode: 'InvalidPermission.Duplicate', retryable: true });
  });

  test('listTaggedRules pages through the tagged ingress rules of the groups and reads the grant ids', async () => {
    aws
      .on(DescribeSecurityGroupRulesCommand)
      .resolvesOnce({
        SecurityGroupRules: [
          ingressRule({ SecurityGroupRuleId: 'sgr-00000000000000001', Tags: [{ Key: 'cache-access:grant-id', Value: '4' }] }),
          ingressRule({ SecurityGroupRuleId: 'sgr-00000000000000002', IsEgress: true, Tags: [{ Key: 'cache-access:grant-id', Value: '5' }] }),
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        SecurityGroupRules: [ingressRule({ SecurityGroupRuleId: 'sgr-00000000000000003', Tags: [{ Key: 'cache-access:grant-id', Value: 'junk' }] })],
      });

    const rules = await firewall.listTaggedRules([TARGET]);

    expect(rules).toEqual([
      { awsRuleId: 'sgr-00000000000000001', securityGroupId: TARGET, grantId: 4 },
      { awsRuleId: 'sgr-00000000000000003', securityGroupId: TARGET, grantId: undefined },
    ]);
    const filters = aws.commandCalls(DescribeSecurityGroupRulesCommand).map((call) => call.args[0].input);
    expect(filters[0]).toEqual({
      Filters: [
        { Name: 'group-id', Values: [TARGET] },
        { Name: 'tag-key', Values: ['cache-access:grant-id'] },
      ],
      MaxResults: 1000,
    });
    expect(filters[1]).toMatchObject({ NextToken: 'page-2' });
  });

  test('a success that names no rule is a retryable UpstreamError, so the retry finds it as a duplicate', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    const error = await rejection(firewall.authorize(fromGroup, DESCRIPTION, TAGS));

    expect(error).toMatchObject({ upstreamCode: 'MissingRuleId', retryable: true });
  });

  test('throttling is a retryable UpstreamError', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).rejects(throttled());

    const error = await rejection(firewall.authorize(fromGroup, DESCRIPTION, TAGS));

    expect(error).toMatchObject({ service: 'aws', upstreamCode: 'RequestLimitExceeded', retryable: true });
    expect(error.message).toContain('AuthorizeSecurityGroupIngress');
  });

  test('UnauthorizedOperation is a permanent UpstreamError', async () => {
    aws.on(AuthorizeSecurityGroupIngressCommand).rejects(unauthorized());

    const error = await rejection(firewall.authorize(fromGroup, DESCRIPTION, TAGS));

    expect(error).toMatchObject({ service: 'aws', upstreamCode: 'UnauthorizedOperation', retryable: false });
  });

  test('a missing target group is a permanent UpstreamError, not a duplicate', async () => {
    aws
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(ec2Error('InvalidGroup.NotFound', 400, `The security group '${TARGET}' does not exist`));

    const error = await rejection(firewall.authorize(fromGroup, DESCRIPTION, TAGS));

    expect(error).toMatchObject({ upstreamCode: 'InvalidGroup.NotFound', retryable: false });
    expect(aws.commandCalls(DescribeSecurityGroupRulesCommand)).toHaveLength(0);
  });
});

describe('revoke', () => {
  test('removes the rule by its id only', async () => {
    aws.on(RevokeSecurityGroupIngressCommand).resolves({
      Return: true,
      RevokedSecurityGroupRules: [{ SecurityGroupRuleId: RULE_ID, GroupId: TARGET, IsEgress: false }],
    });

    expect(await firewall.revoke(TARGET, RULE_ID)).toBe('removed');
    const calls = aws.commandCalls(RevokeSecurityGroupIngressCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ GroupId: TARGET, SecurityGroupRuleIds: [RULE_ID] });
  });

  test.each([
    ['InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${RULE_ID}' does not exist`],
    ['InvalidPermission.NotFound', 'The specified rule does not exist in this security group.'],
    ['InvalidGroup.NotFound', `The security group '${TARGET}' does not exist`],
  ])('%s means already gone', async (code, message) => {
    aws.on(RevokeSecurityGroupIngressCommand).rejects(ec2Error(code, 400, message));

    expect(await firewall.revoke(TARGET, RULE_ID)).toBe('already-gone');
  });

  test('a reply that revoked nothing means already gone', async () => {
    aws.on(RevokeSecurityGroupIngressCommand).resolvesOnce({ Return: false }).resolvesOnce({
      Return: true,
      UnknownIpPermissions: [{ IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379 }],
    });

    expect(await firewall.revoke(TARGET, RULE_ID)).toBe('already-gone');
    expect(await firewall.revoke(TARGET, RULE_ID)).toBe('already-gone');
  });

  test('throttling is retryable; a malformed rule id is permanent, not "gone"', async () => {
    aws
      .on(RevokeSecurityGroupIngressCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(ec2Error('InvalidSecurityGroupRuleId.Malformed', 400, 'Invalid id: "sgr-x"'));

    expect(await rejection(firewall.revoke(TARGET, RULE_ID))).toMatchObject({ retryable: true });
    expect(await rejection(firewall.revoke(TARGET, 'sgr-x'))).toMatchObject({
      upstreamCode: 'InvalidSecurityGroupRuleId.Malformed',
      retryable: false,
    });
  });
});

describe('ruleExists', () => {
  test('true when AWS returns the rule in that group, asking by rule id', async () => {
    aws.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [ingressRule({ SecurityGroupRuleId: RULE_ID })] });

    expect(await firewall.ruleExists(TARGET, RULE_ID)).toBe(true);
    expect(aws.commandCalls(DescribeSecurityGroupRulesCommand)[0]?.args[0].input).toEqual({ SecurityGroupRuleIds: [RULE_ID] });
  });

  test('false when the rule id belongs to another group', async () => {
    aws.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [ingressRule({ SecurityGroupRuleId: RULE_ID, GroupId: 'sg-0dddddddddddddddd' })],
    });

    expect(await firewall.ruleExists(TARGET, RULE_ID)).toBe(false);
  });

  test('false when AWS says the rule id does not exist', async () => {
    aws
      .on(DescribeSecurityGroupRulesCommand)
      .rejects(ec2Error('InvalidSecurityGroupRuleId.NotFound', 400, `The security group rule ID '${RULE_ID}' does not exist`));

    expect(await firewall.ruleExists(TARGET, RULE_ID)).toBe(false);
  });

  test('throttling throws a retryable UpstreamError rather than answering', async () => {
    aws.on(DescribeSecurityGroupRulesCommand).rejects(throttled());

    expect(await rejection(firewall.ruleExists(TARGET, RULE_ID))).toMatchObject({ retryable: true });
  });
});
