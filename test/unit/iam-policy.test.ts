/**
 * docs/iam-policy.json against the code: it grants every AWS action the adapters send, nothing
 * beyond, and the mutating ones only on security groups tagged cache-access:managed=true. Requests
 * are checked with a small evaluator of the policy grammar the file uses (unknown operators fail),
 * fed with the exact calls the real Ec2Firewall sends, and authorized the way EC2 does (Service
 * Authorization Reference): AuthorizeSecurityGroupIngress on the group, with the group's tags, and
 * on the new rule (plus ec2:CreateTags for its tags), with the request's tags, only when the call
 * carries TagSpecifications; RevokeSecurityGroupIngress on the group alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  type AuthorizeSecurityGroupIngressCommandInput,
  RevokeSecurityGroupIngressCommand,
  type RevokeSecurityGroupIngressCommandInput,
  type Tag,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, test } from 'vitest';
import { Ec2Firewall } from '../../src/adapters/aws/ec2-firewall.js';
import { DOCUMENTED_PARTITION, DOCUMENTED_ROLE_NAME } from '../../src/policy.js';
import { ec2Client } from '../fixtures/aws/sdk.js';

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

interface Policy {
  Version: string;
  Statement: Statement[];
}

/** The condition keys present when IAM authorizes one action on one resource. */
type RequestContext = Record<string, string | string[]>;

/** One authorization IAM makes for a request; a request goes through only if all of its own do. */
interface Authorization {
  action: string;
  resource: string;
  context?: RequestContext;
}

const policy = JSON.parse(readFileSync('docs/iam-policy.json', 'utf8')) as Policy;

const MUTATING = ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress', 'ec2:CreateTags'];
/**
 * Granted though no code sends it: EC2 authorizes tags given at creation as ec2:CreateTags, and a cluster
 * node authorizes the IAM authentication token the bot signs (endSessions) as elasticache:Connect.
 */
const DEPENDENT = ['ec2:CreateTags', 'elasticache:Connect'];

const MANAGED_GROUP = { 'cache-access:managed': 'true' };
const GROUP_ID = 'sg-0aaaaaaaaaaaaaaaa';
/** The rule being added has no id yet; EC2 names it with a wildcard. */
const NEW_RULE_ARN = 'arn:aws:ec2:eu-west-1:123456789012:security-group-rule/*';
const groupArn = (groupId: string | undefined) => `arn:aws:ec2:eu-west-1:123456789012:security-group/${groupId}`;

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** IAM's `*` and `?` wildcards in actions and ARNs. */
function matchesPattern(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}

function conditionHolds(operator: string, key: string, expected: string[], context: RequestContext): boolean {
  const actual = context[key];
  switch (operator) {
    case 'StringEquals':
      return typeof actual === 'string' && expected.includes(actual);
    case 'ForAllValues:StringEquals':
      // IAM: true when the key is absent; other conditions must demand the tags.
      return actual === undefined || list(actual).every((value) => expected.includes(value));
    case 'Null':
      // "true": the key is absent from the context; "false": it is present.
      return expected.every((absent) => (actual === undefined) === (absent === 'true'));
    default:
      throw new Error(`the test's evaluator does not know the condition operator ${operator}`);
  }
}

function allows({ action, resource, context = {} }: Authorization): boolean {
  return policy.Statement.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).some((pattern) => matchesPattern(pattern, action)) &&
      list(statement.Resource).some((pattern) => matchesPattern(pattern, resource)) &&
      Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
        Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, list(expected), context)),
      ),
  );
}

const permits = (authorizations: Authorization[]): boolean => authorizations.every(allows);

const resourceTags = (tags: Record<string, string>): RequestContext =>
  Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value]));

/**
 * What EC2 authorizes for an AuthorizeSecurityGroupIngress call on a group tagged `groupTags`. The
 * group is authorized with its own tags only: the request's tags belong to the rule, whose
 * authorizations exist only when the call carries TagSpecifications.
 */
function authorizeIngress(input: AuthorizeSecurityGroupIngressCommandInput, groupTags: Record<string, string>): Authorization[] {
  const onGroup = { action: 'ec2:AuthorizeSecurityGroupIngress', resource: groupArn(input.GroupId), context: resourceTags(groupTags) };
  const specs = input.TagSpecifications ?? [];
  if (specs.length === 0) return [onGroup];
  const tags: Tag[] = specs.filter((spec) => spec.ResourceType === 'security-group-rule').flatMap((spec) => spec.Tags ?? []);
  const requestTags: RequestContext = {
    ...Object.fromEntries(tags.map((tag) => [`aws:RequestTag/${tag.Key}`, tag.Value ?? ''])),
    'aws:TagKeys': tags.map((tag) => tag.Key ?? ''),
  };
  return [
    onGroup,
    { action: 'ec2:AuthorizeSecurityGroupIngress', resource: NEW_RULE_ARN, context: requestTags },
    { action: 'ec2:CreateTags', resource: NEW_RULE_ARN, context: { ...requestTags, 'ec2:CreateAction': 'AuthorizeSecurityGroupIngress' } },
  ];
}

/** RevokeSecurityGroupIngress is authorized on the group alone: IAM never sees which rule goes, nor its tags. */
function revokeIngress(input: RevokeSecurityGroupIngressCommandInput, groupTags: Record<string, string>): Authorization[] {
  return [{ action: 'ec2:RevokeSecurityGroupIngress', resource: groupArn(input.GroupId), context: resourceTags(groupTags) }];
}

/** `service:Action` for every SDK command the source constructs, from the clients it imports. */
function actionsSentByCode(): Set<string> {
  const actions = new Set<string>();
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const source = readFileSync(join('src', file), 'utf8');
    for (const [, names = '', service = ''] of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)) {
      for (const name of names.split(',').map((part) => part.trim())) {
        if (/^\w+Command$/.test(name) && source.includes(`new ${name}(`)) {
          // IAM's service prefixes have no hyphens: client-secrets-manager's actions are secretsmanager:….
          actions.add(`${service.replace(/-/g, '')}:${name.slice(0, -'Command'.length)}`);
        }
      }
    }
  }
  return actions;
}

/** The calls the real Ec2Firewall sends to add a rule and to remove it. */
let sentAuthorize: AuthorizeSecurityGroupIngressCommandInput;
let sentRevoke: RevokeSecurityGroupIngressCommandInput;

beforeAll(async () => {
  const ec2 = ec2Client();
  const mock = mockClient(ec2);
  mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true, SecurityGroupRules: [{ SecurityGroupRuleId: 'sgr-1' }] });
  mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
  const firewall = new Ec2Firewall({ ec2 });
  await firewall.authorize(
    { securityGroupId: GROUP_ID, protocol: 'tcp', port: 6379, source: { kind: 'cidr', cidr: '10.1.2.0/24' } },
    'cache-access #42 alice until 2026-11-26T14:00Z',
    { grantId: 42, expiresAt: new Date('2026-11-26T14:00:00Z') },
  );
  await firewall.revoke(GROUP_ID, 'sgr-1');
  sentAuthorize = mock.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input;
  sentRevoke = mock.commandCalls(RevokeSecurityGroupIngressCommand)[0]!.args[0].input;
  mock.restore();
});

/** The firewall's own call with its rule tags changed by `edit`. */
function withRuleTags(edit: (tags: Tag[]) => Tag[]): AuthorizeSecurityGroupIngressCommandInput {
  const [spec] = sentAuthorize.TagSpecifications ?? [];
  return { ...sentAuthorize, TagSpecifications: [{ ...spec, Tags: edit(spec?.Tags ?? []) }] };
}

const without = (key: string) => (tags: Tag[]) => tags.filter((tag) => tag.Key !== key);

describe('docs/iam-policy.json', () => {
  test('is an IAM policy document of the current version with named Allow statements', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.length).toBeGreaterThan(0);
    for (const statement of policy.Statement) {
      // The evaluator models Allow only; a Deny statement needs it extended first.
      expect(statement.Effect).toBe('Allow');
      expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
    }
    expect(new Set(policy.Statement.map((s) => s.Sid)).size).toBe(policy.Statement.length);
  });

  test('grants every action the code sends, and nothing else', () => {
    const sent = actionsSentByCode();
    // Guards the scan itself: both clients are in use.
    expect([...sent]).toEqual(expect.arrayContaining(['ec2:AuthorizeSecurityGroupIngress', 'elasticache:DescribeReplicationGroups']));
    const granted = new Set(policy.Statement.flatMap((statement) => list(statement.Action)));
    expect([...sent].filter((action) => !granted.has(action))).toEqual([]);
    const explained = [...DEPENDENT];
    expect([...granted].filter((action) => !sent.has(action) && !explained.includes(action))).toEqual([]);
  });

  test('lets the read actions look at any cluster and security group', () => {
    const reads = [...actionsSentByCode()].filter(
      (action) => !MUTATING.includes(action) && !action.startsWith('sts:') && !action.startsWith('secretsmanager:'),
    );
    for (const action of reads) expect(allows({ action, resource: '*' }), action).toBe(true);
  });

  test('reads only secrets named cache-access/…, and signs in to clusters only as users named cache-access…', () => {
    const secret = (name: string) => ({ action: 'secretsmanager:GetSecretValue', resource: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}` });
    expect(allows(secret('cache-access/orders-AbCdEf'))).toBe(true);
    expect(allows(secret('prod-database-AbCdEf'))).toBe(false);
    const connect = (resource: string) => ({ action: 'elasticache:Connect', resource: `arn:aws:elasticache:eu-west-1:123456789012:${resource}` });
    expect(allows(connect('replicationgroup:orders-redis'))).toBe(true);
    expect(allows(connect('user:cache-access'))).toBe(true);
    expect(allows(connect('user:admin'))).toBe(false);
  });

  test('allows assuming only roles named cache-access, the name the policy check warns about', () => {
    expect(allows({ action: 'sts:AssumeRole', resource: `arn:aws:iam::210987654321:role/${DOCUMENTED_ROLE_NAME}` })).toBe(true);
    expect(allows({ action: 'sts:AssumeRole', resource: 'arn:aws:iam::210987654321:role/admin' })).toBe(false);
    expect(allows({ action: 'sts:AssumeRole', resource: `arn:aws:iam::210987654321:role/team/${DOCUMENTED_ROLE_NAME}` })).toBe(false);
  });

  test(`names only the ${DOCUMENTED_PARTITION} partition, the one the policy check accepts without a warning`, () => {
    expect(allows({ action: 'sts:AssumeRole', resource: `arn:${DOCUMENTED_PARTITION}:iam::210987654321:role/${DOCUMENTED_ROLE_NAME}` })).toBe(true);
    expect(allows({ action: 'sts:AssumeRole', resource: `arn:aws-cn:iam::210987654321:role/${DOCUMENTED_ROLE_NAME}` })).toBe(false);
  });

  test('allows the rule the firewall adds, tags and all, on a group tagged cache-access:managed=true', () => {
    const authorizations = authorizeIngress(sentAuthorize, MANAGED_GROUP);
    // Guards the call itself: it tags the rule, so the rule and its tags are authorized too.
    expect(authorizations.map(({ action, resource }) => `${action} ${resource}`)).toEqual([
      `ec2:AuthorizeSecurityGroupIngress ${groupArn(GROUP_ID)}`,
      `ec2:AuthorizeSecurityGroupIngress ${NEW_RULE_ARN}`,
      `ec2:CreateTags ${NEW_RULE_ARN}`,
    ]);
    expect(permits(authorizations)).toBe(true);
  });

  test('refuses the same call on a group not tagged cache-access:managed=true', () => {
    expect(permits(authorizeIngress(sentAuthorize, {}))).toBe(false);
    expect(permits(authorizeIngress(sentAuthorize, { 'cache-access:managed': 'false' }))).toBe(false);
  });

  test('refuses a tagged rule that lacks any of cache-access\'s tags, or carries another', () => {
    for (const key of ['cache-access:grant-id', 'cache-access:expires-at', 'cache-access:managed']) {
      expect(permits(authorizeIngress(withRuleTags(without(key)), MANAGED_GROUP)), `without ${key}`).toBe(false);
    }
    const notManaged = withRuleTags((tags) => [...without('cache-access:managed')(tags), { Key: 'cache-access:managed', Value: 'false' }]);
    expect(permits(authorizeIngress(notManaged, MANAGED_GROUP))).toBe(false);
    const foreign = withRuleTags((tags) => [...tags, { Key: 'owner', Value: 'mallory' }]);
    expect(permits(authorizeIngress(foreign, MANAGED_GROUP))).toBe(false);
    expect(permits(authorizeIngress(withRuleTags(() => []), MANAGED_GROUP))).toBe(false);
  });

  test('cannot refuse an Authorize without TagSpecifications on a managed group: only the code tags every rule', () => {
    const untagged = { ...sentAuthorize, TagSpecifications: undefined };
    expect(authorizeIngress(untagged, MANAGED_GROUP)).toHaveLength(1);
    // What the README states: with the role's credentials, an untagged rule of any source goes in.
    expect(permits(authorizeIngress(untagged, MANAGED_GROUP))).toBe(true);
    expect(permits(authorizeIngress(untagged, {}))).toBe(false);
  });

  test('refuses revoking on a group not tagged managed, but cannot tell the rules cache-access added from others', () => {
    expect(permits(revokeIngress(sentRevoke, MANAGED_GROUP))).toBe(true);
    expect(permits(revokeIngress(sentRevoke, {}))).toBe(false);
    // What the README states: only the code limits revokes to its own rules.
    const someoneElses = { ...sentRevoke, SecurityGroupRuleIds: ['sgr-0ffffffffffffffff'] };
    expect(permits(revokeIngress(someoneElses, MANAGED_GROUP))).toBe(true);
  });

  test('refuses tagging outside rule creation', () => {
    const [, , tagging] = authorizeIngress(sentAuthorize, MANAGED_GROUP);
    const { 'ec2:CreateAction': _createAction, ...plainCreateTags } = tagging!.context!;
    // A plain CreateTags call (no ec2:CreateAction) could relabel anyone's rule or group as managed.
    expect(allows({ action: 'ec2:CreateTags', resource: tagging!.resource, context: plainCreateTags })).toBe(false);
    expect(allows({ action: 'ec2:CreateTags', resource: groupArn(GROUP_ID), context: tagging!.context })).toBe(false);
  });

  test('puts a cache-access:managed condition on every statement that grants a mutating action', () => {
    for (const statement of policy.Statement.filter((s) => list(s.Action).some((action) => MUTATING.includes(action)))) {
      expect(list(statement.Resource), statement.Sid).not.toContain('*');
      const conditions = Object.values(statement.Condition ?? {}).flatMap((keys) => Object.entries(keys));
      expect(conditions, statement.Sid).toContainEqual([expect.stringMatching(/^aws:(Resource|Request)Tag\/cache-access:managed$/), 'true']);
    }
  });
});
