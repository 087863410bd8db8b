/**
 * docs/iam-policy.json against the code: it grants every AWS action the adapters send, nothing
 * beyond, and the mutating ones only on security groups tagged cache-access:managed=true. Requests
 * are checked with a small evaluator of the policy grammar the file uses (unknown operators fail),
 * fed with the exact tags the real Ec2Firewall puts on a rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorizeSecurityGroupIngressCommand, type Tag } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, test } from 'vitest';
import { Ec2Firewall } from '../../src/adapters/aws/ec2-firewall.js';
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

type RequestContext = Record<string, string | string[]>;

interface AwsRequest {
  action: string;
  resource: string;
  context?: RequestContext;
}

const policy = JSON.parse(readFileSync('docs/iam-policy.json', 'utf8')) as Policy;

const MUTATING = ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress', 'ec2:CreateTags'];
/** Granted though no code sends it: EC2 authorizes tags given at creation as ec2:CreateTags. */
const DEPENDENT = ['ec2:CreateTags'];
// Read-only, and listed for the deployment in issue 5; no adapter sends it yet.
const MANAGED = { 'aws:ResourceTag/cache-access:managed': 'true' };

const GROUP_ARN = 'arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0aaaaaaaaaaaaaaaa';
const RULE_ARN = 'arn:aws:ec2:eu-west-1:123456789012:security-group-rule/sgr-0123456789abcdef0';

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
    default:
      throw new Error(`the test's evaluator does not know the condition operator ${operator}`);
  }
}

function allows({ action, resource, context = {} }: AwsRequest): boolean {
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

/** `service:Action` for every SDK command the source constructs, from the clients it imports. */
function actionsSentByCode(): Set<string> {
  const actions = new Set<string>();
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const source = readFileSync(join('src', file), 'utf8');
    for (const [, names = '', service = ''] of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)) {
      for (const name of names.split(',').map((part) => part.trim())) {
        if (/^\w+Command$/.test(name) && source.includes(`new ${name}(`)) {
          actions.add(`${service}:${name.slice(0, -'Command'.length)}`);
        }
      }
    }
  }
  return actions;
}

/** The request-tag context EC2 evaluates when Ec2Firewall adds a rule, taken from its real call. */
let ruleTags: RequestContext;

beforeAll(async () => {
  const ec2 = ec2Client();
  const mock = mockClient(ec2);
  mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true, SecurityGroupRules: [{ SecurityGroupRuleId: 'sgr-1' }] });
  await new Ec2Firewall({ ec2 }).authorize(
    { securityGroupId: 'sg-0aaaaaaaaaaaaaaaa', protocol: 'tcp', port: 6379, source: { kind: 'cidr', cidr: '10.1.2.0/24' } },
    'cache-access #42 alice until 2026-11-26T14:00Z',
    { grantId: 42, expiresAt: new Date('2026-11-26T14:00:00Z') },
  );
  const [call] = mock.commandCalls(AuthorizeSecurityGroupIngressCommand);
  const specs = call?.args[0].input.TagSpecifications ?? [];
  expect(specs.map((spec) => spec.ResourceType)).toEqual(['security-group-rule']);
  const tags: Tag[] = specs[0]?.Tags ?? [];
  ruleTags = {
    ...Object.fromEntries(tags.map((tag) => [`aws:RequestTag/${tag.Key}`, tag.Value ?? ''])),
    'aws:TagKeys': tags.map((tag) => tag.Key ?? ''),
  };
  mock.restore();
});

describe('docs/iam-policy.json', () => {
  test('is an IAM policy document of the current version with named Allow statements', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.length).toBeGreaterThan(0);
    for (const statement of policy.Statement) {
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
    const reads = [...actionsSentByCode()].filter((action) => !MUTATING.includes(action) && !action.startsWith('sts:'));
    for (const action of reads) expect(allows({ action, resource: '*' }), action).toBe(true);
  });

  test('allows assuming only roles named cache-access (one per account the policy reaches)', () => {
    expect(allows({ action: 'sts:AssumeRole', resource: 'arn:aws:iam::210987654321:role/cache-access' })).toBe(true);
    expect(allows({ action: 'sts:AssumeRole', resource: 'arn:aws:iam::210987654321:role/admin' })).toBe(false);
  });

  test('allows adding and revoking ingress only on security groups tagged cache-access:managed=true', () => {
    for (const action of ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress']) {
      expect(allows({ action, resource: GROUP_ARN, context: MANAGED }), action).toBe(true);
      expect(allows({ action, resource: GROUP_ARN }), `${action} on an untagged group`).toBe(false);
      expect(allows({ action, resource: GROUP_ARN, context: { 'aws:ResourceTag/cache-access:managed': 'false' } })).toBe(false);
    }
  });

  test('allows the rule the firewall adds, with exactly the tags it puts on it', () => {
    expect(allows({ action: 'ec2:AuthorizeSecurityGroupIngress', resource: RULE_ARN, context: ruleTags })).toBe(true);
    const tagging = { ...ruleTags, 'ec2:CreateAction': 'AuthorizeSecurityGroupIngress' };
    expect(allows({ action: 'ec2:CreateTags', resource: RULE_ARN, context: tagging })).toBe(true);
  });

  test('refuses rules without the managed tag or with foreign tags, and tagging outside rule creation', () => {
    const { 'aws:RequestTag/cache-access:managed': _managed, ...unmanaged } = ruleTags;
    expect(allows({ action: 'ec2:AuthorizeSecurityGroupIngress', resource: RULE_ARN, context: unmanaged })).toBe(false);
    const foreign = { ...ruleTags, 'aws:TagKeys': [...list(ruleTags['aws:TagKeys'] ?? []), 'owner'] };
    expect(allows({ action: 'ec2:AuthorizeSecurityGroupIngress', resource: RULE_ARN, context: foreign })).toBe(false);
    // A plain CreateTags call (no ec2:CreateAction) could relabel anyone's rule or group as managed.
    expect(allows({ action: 'ec2:CreateTags', resource: RULE_ARN, context: ruleTags })).toBe(false);
    expect(allows({ action: 'ec2:CreateTags', resource: GROUP_ARN, context: { ...ruleTags, ...MANAGED } })).toBe(false);
  });

  test('puts a cache-access:managed condition on every statement that grants a mutating action', () => {
    for (const statement of policy.Statement.filter((s) => list(s.Action).some((action) => MUTATING.includes(action)))) {
      expect(list(statement.Resource), statement.Sid).not.toContain('*');
      const conditions = Object.values(statement.Condition ?? {}).flatMap((keys) => Object.entries(keys));
      expect(conditions, statement.Sid).toContainEqual([expect.stringMatching(/^aws:(Resource|Request)Tag\/cache-access:managed$/), 'true']);
    }
  });
});
