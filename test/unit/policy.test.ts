import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { InvalidInputError } from '../../src/domain/errors.js';
import { BUILT_IN_DEFAULTS, loadPolicy, parsePolicy } from '../../src/policy.js';

const EXAMPLE_PATH = fileURLToPath(new URL('../fixtures/policies/example.yml', import.meta.url));
const tempDir = mkdtempSync(join(tmpdir(), 'cache-access-policy-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

/** Joins lines so each case shows exactly which line a problem sits on. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function errorOf(text: string): Error {
  try {
    parsePolicy(text, 'policy.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as Error;
  }
  throw new Error('expected parsePolicy to throw');
}

describe('the spec example', () => {
  test('loads with the defaults it states and the rule overrides applied', () => {
    const policy = loadPolicy(EXAMPLE_PATH);

    expect(policy.rules).toEqual([
      {
        match: 'prod-*',
        approvers: ['U0123ABCD', 'S0456EFGH'],
        channel: 'C0789IJKL',
        allowedCidrs: ['10.0.0.0/8'],
        duration: 3_600,
        maxDuration: 7_200,
        minDuration: 300,
        pendingTimeout: 86_400,
        remindBefore: 600,
        maxTotal: 7_200,
        approvals: 1,
        selfApproval: false,
        requireReason: false,
        requireDedicatedGroup: false,
        ruleQuota: 60,
        maxCidrPrefix: { ipv4: 24, ipv6: 64 },
        approversFromTags: false,
        peeredVpcs: [],
      },
    ]);
    expect(policy.ruleFor('prod-orders')?.match).toBe('prod-*');
    expect(policy.ruleFor('staging-orders')).toBeUndefined();
  });

  test('the defaults it states are the built-in ones: without a defaults block it means the same', () => {
    const withoutDefaults = parsePolicy(
      yaml('clusters:', '  - match: "prod-*"', '    approvers: [U0123ABCD, S0456EFGH]', '    channel: C0789IJKL', '    maxDuration: 2h', '    allowedCidrs: [10.0.0.0/8]'),
    );
    expect(withoutDefaults.rules).toEqual(loadPolicy(EXAMPLE_PATH).rules);
    expect(BUILT_IN_DEFAULTS).toEqual({
      duration: 3_600,
      maxDuration: 28_800,
      minDuration: 300,
      pendingTimeout: 86_400,
      remindBefore: 600,
      approvals: 1,
      selfApproval: false,
      requireReason: false,
      requireDedicatedGroup: false,
      ruleQuota: 60,
      maxCidrPrefix: { ipv4: 24, ipv6: 64 },
      approversFromTags: false,
    });
  });
});

test('the shipped policy.example.yml loads, and shows every setting a rule may have', () => {
  const shipped = loadPolicy(fileURLToPath(new URL('../../policy.example.yml', import.meta.url)));
  const keys = new Set(shipped.rules.flatMap((rule) => Object.keys(rule)));
  for (const key of ['targetGroup', 'peeredVpcs', 'region', 'roleArn', 'requireDedicatedGroup', 'ruleQuota', 'maxCidrPrefix', 'autoApprove', 'approversFromTags', 'endSessions', 'breakGlass', 'reasonPattern', 'reasonExample', 'reasonLink']) {
    expect(keys).toContain(key);
  }
  expect(shipped.ruleFor('prod-orders')).toMatchObject({ requireDedicatedGroup: true, targetGroup: 'sg-0123456789abcdef0' });
});

test('a missing policy file is reported with its path', () => {
  const path = join(tempDir, 'absent.yml');
  expect(() => loadPolicy(path)).toThrow(InvalidInputError);
  expect(() => loadPolicy(path)).toThrow(path);
});

test('loadPolicy names the file in its errors', () => {
  const path = join(tempDir, 'policy.yml');
  writeFileSync(path, yaml('clusters:', '  - match: a', '    approvers: [U123]', '    colour: blue'));
  expect(() => loadPolicy(path)).toThrow(`${path}:4: clusters.0.colour: unknown key "colour"`);
});

describe('rules', () => {
  const policy = parsePolicy(
    yaml(
      'defaults:',
      '  duration: 30m',
      '  approvals: 2',
      'clusters:',
      '  - match: "prod-payments-*"',
      '    approvers: [W0PAYMENTS]',
      '    maxDuration: 1h',
      '    selfApproval: false',
      '  - match: "prod-*"',
      '    approvers: [S0SRE]',
      '    duration: 2h',
      '    approvals: 1',
      '    requireReason: true',
      '    allowedCidrs: [10.1.2.3/16, "2001:DB8::/32"]',
      '  - match: "*"',
      '    approvers: [U0ANYONE]',
      '    selfApproval: true',
      '    pendingTimeout: 1h',
    ),
  );

  test('the first rule whose glob matches wins', () => {
    expect(policy.ruleFor('prod-payments-redis')?.match).toBe('prod-payments-*');
    expect(policy.ruleFor('prod-orders')?.match).toBe('prod-*');
    expect(policy.ruleFor('staging-orders')?.match).toBe('*');
  });

  test('each rule overrides only what it names; the rest comes from defaults, then built-in defaults', () => {
    expect(policy.ruleFor('prod-payments-redis')).toEqual({
      match: 'prod-payments-*',
      approvers: ['W0PAYMENTS'],
      allowedCidrs: [],
      duration: 1_800,
      maxDuration: 3_600,
      minDuration: 300,
      pendingTimeout: 86_400,
      remindBefore: 600,
      maxTotal: 3_600,
      approvals: 2,
      selfApproval: false,
      requireReason: false,
      requireDedicatedGroup: false,
      ruleQuota: 60,
      maxCidrPrefix: { ipv4: 24, ipv6: 64 },
      approversFromTags: false,
      peeredVpcs: [],
    });
    expect(policy.ruleFor('prod-orders')).toEqual({
      match: 'prod-*',
      approvers: ['S0SRE'],
      allowedCidrs: ['10.1.0.0/16', '2001:db8::/32'],
      duration: 7_200,
      maxDuration: 28_800,
      minDuration: 300,
      pendingTimeout: 86_400,
      remindBefore: 600,
      maxTotal: 28_800,
      approvals: 1,
      selfApproval: false,
      requireReason: true,
      requireDedicatedGroup: false,
      ruleQuota: 60,
      maxCidrPrefix: { ipv4: 24, ipv6: 64 },
      approversFromTags: false,
      peeredVpcs: [],
    });
    expect(policy.ruleFor('anything')).toMatchObject({ duration: 1_800, approvals: 2, selfApproval: true, pendingTimeout: 3_600 });
  });

  test('target group, blast radius, quota, CIDR width, peered VPCs, region and role: per rule over defaults', () => {
    const placed = parsePolicy(
      yaml(
        'defaults:',
        '  requireDedicatedGroup: true',
        '  ruleQuota: 100',
        '  maxCidrPrefix: { ipv4: 28 }',
        'clusters:',
        '  - match: "shared-*"',
        '    approvers: [U123]',
        '    requireDedicatedGroup: false',
        '    maxCidrPrefix: { ipv6: 56 }',
        '    targetGroup: sg-0123456789abcdef0',
        '    peeredVpcs: [vpc-0fedcba9876543210]',
        '    region: us-east-1',
        '    roleArn: arn:aws:iam::210987654321:role/cache-access',
        '  - match: "*"',
        '    approvers: [U123]',
      ),
    );
    expect(placed.ruleFor('shared-redis')).toMatchObject({
      requireDedicatedGroup: false,
      ruleQuota: 100,
      maxCidrPrefix: { ipv4: 28, ipv6: 56 },
      targetGroup: 'sg-0123456789abcdef0',
      peeredVpcs: ['vpc-0fedcba9876543210'],
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::210987654321:role/cache-access',
    });
    const other = placed.ruleFor('orders')!;
    expect(other).toMatchObject({ requireDedicatedGroup: true, ruleQuota: 100, maxCidrPrefix: { ipv4: 28, ipv6: 64 }, peeredVpcs: [] });
    expect(other.targetGroup ?? other.region ?? other.roleArn).toBeUndefined();
  });

  test('a cluster no rule matches gets no rule', () => {
    const prodOnly = parsePolicy(yaml('clusters:', '  - match: "prod-*"', '    approvers: [U123]'));
    expect(prodOnly.ruleFor('staging-orders')).toBeUndefined();
    expect(prodOnly.ruleFor('prod')).toBeUndefined();
    expect(prodOnly.ruleFor('prod-orders')).toBeDefined();
  });

  test('ids match in any case, as ElastiCache treats them: a capitalised id cannot slip past its rule to a later one', () => {
    const strictFirst = parsePolicy(
      yaml('clusters:', '  - match: orders-redis', '    approvers: [U123]', '    approvals: 2', '  - match: "prod-*"', '    approvers: [U123]', '  - match: "*"', '    approvers: [U456]'),
    );
    expect(strictFirst.ruleFor('ORDERS-REDIS')?.match).toBe('orders-redis');
    expect(strictFirst.ruleFor('Orders-Redis')?.match).toBe('orders-redis');
    expect(strictFirst.ruleFor('PROD-Payments')?.match).toBe('prod-*');
    // A rule written in capitals covers the lower-case id AWS returns.
    const capitalRule = parsePolicy(yaml('clusters:', '  - match: "Billing-*"', '    approvers: [U123]'));
    expect(capitalRule.ruleFor('billing-redis')?.match).toBe('Billing-*');
    expect(capitalRule.ruleFor('orders-redis')).toBeUndefined();
  });
});

describe('errors name the file, the real line and the key', () => {
  test.each([
    ['unknown top-level key', yaml('clusters:', '  - match: a', '    approvers: [U123]', 'approver: [U456]'), 'policy.yml:4: approver: unknown key "approver"'],
    [
      'unknown key in defaults',
      yaml('defaults:', '  duration: 1h', '  maxDuraton: 2h', 'clusters:', '  - match: a', '    approvers: [U123]'),
      'policy.yml:3: defaults.maxDuraton: unknown key "maxDuraton"',
    ],
    [
      'unknown key in a cluster rule',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '  - match: b', '    approvers: [U123]', '    chanel: C123'),
      'policy.yml:6: clusters.1.chanel: unknown key "chanel"',
    ],
    [
      'unknown key whose value is a block on the following lines',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    allowedCidr:', '      - 10.0.0.0/8'),
      'policy.yml:4: clusters.0.allowedCidr: unknown key "allowedCidr"',
    ],
    [
      'bad duration text',
      yaml('defaults:', '  approvals: 1', '  duration: 2x', 'clusters:', '  - match: a', '    approvers: [U123]'),
      'policy.yml:3: defaults.duration: "2x" is not a duration',
    ],
    [
      'bad duration text in a rule',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    maxDuration: 0m'),
      'policy.yml:4: clusters.0.maxDuration: "0m" is zero',
    ],
    [
      'bad approver id',
      yaml('clusters:', '  - match: a', '    approvers:', '      - U123', '      - alice'),
      'policy.yml:5: clusters.0.approvers.1: must be a Slack user id',
    ],
    ['no approvers', yaml('clusters:', '  - match: a', '    approvers: []'), 'policy.yml:3: clusters.0.approvers: needs at least one approver'],
    ['missing approvers', yaml('clusters:', '  - match: a', '    channel: C123'), 'policy.yml:2: clusters.0.approvers:'],
    ['bad channel id', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    channel: "#ops"'), 'policy.yml:4: clusters.0.channel: must be a Slack channel id'],
    ['no rules', yaml('defaults:', '  duration: 1h', 'clusters: []'), 'policy.yml:3: clusters: list at least one cluster rule'],
    [
      'a CIDR that is not one',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    allowedCidrs: [10.0.0.0/8, 10.0.0.0/40]'),
      'policy.yml:4: clusters.0.allowedCidrs.1: 10.0.0.0/40 is not a CIDR',
    ],
    [
      'the whole IPv4 internet',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    allowedCidrs:', '      - 10.0.0.0/8', '      - 0.0.0.0/0'),
      'policy.yml:6: clusters.0.allowedCidrs.1: 0.0.0.0/0 opens the whole internet',
    ],
    [
      'the whole IPv6 internet',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    allowedCidrs: ["::/0"]'),
      'policy.yml:4: clusters.0.allowedCidrs.0: ::/0 opens the whole internet',
    ],
    [
      'a target group that is not a security group id',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    targetGroup: orders-sg'),
      'policy.yml:4: clusters.0.targetGroup: must be a security group id',
    ],
    [
      'a peered VPC that is not a VPC id',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    peeredVpcs:', '      - vpc-0123456789abcdef0', '      - pcx-12345678'),
      'policy.yml:6: clusters.0.peeredVpcs.1: must be VPC ids',
    ],
    ['a region that is not one', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    region: Ireland'), 'policy.yml:4: clusters.0.region: must be an AWS region'],
    [
      'a role that is not an IAM role ARN',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    roleArn: arn:aws:iam::123:user/bot'),
      'policy.yml:4: clusters.0.roleArn: must be an IAM role ARN',
    ],
    [
      'a rule quota no larger than the margin kept free',
      yaml('defaults:', '  ruleQuota: 5', 'clusters:', '  - match: a', '    approvers: [U123]'),
      'policy.yml:2: defaults.ruleQuota: must be more than the 5 rules cache-access keeps free',
    ],
    [
      'an IPv4 prefix limit beyond /32',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    maxCidrPrefix:', '      ipv4: 33'),
      'policy.yml:5: clusters.0.maxCidrPrefix.ipv4: ',
    ],
    [
      'an unknown key inside maxCidrPrefix',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    maxCidrPrefix: { ip4: 24 }'),
      'policy.yml:4: clusters.0.maxCidrPrefix.ip4: unknown key "ip4"',
    ],
    [
      'requireDedicatedGroup that is not a boolean',
      yaml('defaults:', '  requireDedicatedGroup: sometimes', 'clusters:', '  - match: a', '    approvers: [U123]'),
      'policy.yml:2: defaults.requireDedicatedGroup: ',
    ],
    [
      'targetGroup is per cluster, not a default',
      yaml('defaults:', '  targetGroup: sg-0123456789abcdef0', 'clusters:', '  - match: a', '    approvers: [U123]'),
      'policy.yml:2: defaults.targetGroup: unknown key "targetGroup"',
    ],
    [
      'duration above maxDuration (a default against a rule override)',
      yaml('defaults:', '  duration: 1h', 'clusters:', '  - match: a', '    approvers: [U123]', '  - match: b', '    approvers: [U123]', '    maxDuration: 30m'),
      'policy.yml:6: clusters.1 (b): duration must lie between minDuration and maxDuration',
    ],
    [
      'duration below minDuration',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    duration: 1m'),
      'policy.yml:2: clusters.0 (a): duration must lie between minDuration and maxDuration',
    ],
    [
      'minDuration above maxDuration',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    duration: 1h', '    minDuration: 3h', '    maxDuration: 2h'),
      'policy.yml:2: clusters.0 (a): duration must lie between minDuration and maxDuration',
    ],
    [
      'endSessions with an unknown auth',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    endSessions: { auth: password }'),
      'policy.yml:4: clusters.0.endSessions.auth',
    ],
    [
      'an endSessions secret that is not a Secrets Manager ARN',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    endSessions:', '      auth: secret', '      secretArn: arn:aws:ssm:eu-west-1:123456789012:parameter/x'),
      'policy.yml:6: clusters.0.endSessions.secretArn: must be a Secrets Manager secret ARN',
    ],
    [
      'an endSessions key its auth does not take',
      yaml('defaults:', '  endSessions:', '    auth: none', '    user: bot', 'clusters:', '  - match: a', '    approvers: [U123]'),
      'policy.yml:4: defaults.endSessions.user: unknown key "user"',
    ],
    [
      'endSessions by IAM without a user',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    endSessions: { auth: iam }'),
      'policy.yml:4: clusters.0.endSessions.user',
    ],
    [
      'an endSessions user id ElastiCache would refuse',
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    endSessions: { auth: iam, user: "cache access" }'),
      'policy.yml:4: clusters.0.endSessions.user: must be an ElastiCache user id',
    ],
  ])('%s', (_, text, message) => {
    expect(errorOf(text).message).toContain(message);
  });

  test.each([
    ['a tab used as indentation', yaml('clusters:', '  - match: a', '    approvers: [U123]', '\tduration: 1h'), 'policy.yml:4: not valid YAML'],
    ['a duplicate key', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    approvers: [U456]'), 'policy.yml:4: not valid YAML'],
    ['a mis-indented key', yaml('defaults:', '  duration: 1h', 'clusters:', '  - match: a', '   approvers: [U123]'), 'policy.yml:5: not valid YAML'],
  ])('YAML syntax error: %s', (_, text, message) => {
    expect(errorOf(text).message).toContain(message);
  });

  test('an empty file says what is missing', () => {
    expect(errorOf('').message).toMatch(/^policy\.yml:1: \(top level\): /);
  });
});

describe('approver routing: approversFromTags and autoApprove', () => {
  test('approversFromTags defaults to false and may be set in defaults or per rule', () => {
    const policy = parsePolicy(
      yaml('defaults:', '  approversFromTags: true', 'clusters:', '  - match: a', '    approvers: [U123]', '  - match: b', '    approvers: [U123]', '    approversFromTags: false'),
    );
    expect(policy.ruleFor('a')?.approversFromTags).toBe(true);
    expect(policy.ruleFor('b')?.approversFromTags).toBe(false);
    expect(parsePolicy(yaml('clusters:', '  - match: a', '    approvers: [U123]')).ruleFor('a')?.approversFromTags).toBe(false);
  });

  test('autoApprove reads its duration and requesters (users and user groups)', () => {
    const policy = parsePolicy(
      yaml('clusters:', '  - match: a', '    approvers: [U123]', '    autoApprove: { maxDuration: 30m, requesters: [S0ONCALL, U0ALICE] }'),
    );
    expect(policy.ruleFor('a')?.autoApprove).toEqual({ maxDuration: 1_800, requesters: ['S0ONCALL', 'U0ALICE'] });
    expect(parsePolicy(yaml('clusters:', '  - match: a', '    approvers: [U123]')).ruleFor('a')?.autoApprove).toBeUndefined();
  });

  test.each([
    ['autoApprove without requesters', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    autoApprove: { maxDuration: 30m, requesters: [] }'), 'policy.yml:4: clusters.0.autoApprove.requesters: name at least one requester'],
    ['autoApprove with a bad duration', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    autoApprove: { maxDuration: soon, requesters: [U1AB] }'), 'policy.yml:4: clusters.0.autoApprove.maxDuration: '],
    ['autoApprove with an unknown key', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    autoApprove: { maxDuration: 30m, requesters: [U1AB], always: true }'), 'unknown key "always"'],
    ['autoApprove is per cluster, not a default', yaml('defaults:', '  autoApprove: { maxDuration: 30m, requesters: [U1AB] }', 'clusters:', '  - match: a', '    approvers: [U123]'), 'policy.yml:2: defaults.autoApprove: unknown key "autoApprove"'],
    ['approversFromTags that is not a boolean', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    approversFromTags: yes please'), 'policy.yml:4: clusters.0.approversFromTags: '],
  ])('%s is refused', (_, text, message) => {
    expect(errorOf(text).message).toContain(message);
  });
});

describe('breakGlass', () => {
  test('reads its keys, fills maxDuration (1h) and perDay (2), and a rule\'s own replaces the defaults\' whole', () => {
    const policy = parsePolicy(
      yaml(
        'defaults:',
        '  breakGlass: { requesters: [S0ONCALL], notify: C0SECURITY }',
        'clusters:',
        '  - match: "orders-*"',
        '    approvers: [U123]',
        '    breakGlass: { maxDuration: 30m, requesters: [U0ALICE], perDay: 1 }',
        '  - match: "*"',
        '    approvers: [U123]',
      ),
    );
    expect(policy.ruleFor('orders-redis')?.breakGlass).toEqual({ maxDuration: 1_800, requesters: ['U0ALICE'], perDay: 1 });
    expect(policy.ruleFor('other')?.breakGlass).toEqual({ maxDuration: 3_600, requesters: ['S0ONCALL'], notify: 'C0SECURITY', perDay: 2 });
    expect(parsePolicy(yaml('clusters:', '  - match: a', '    approvers: [U123]')).ruleFor('a')?.breakGlass).toBeUndefined();
  });

  test.each([
    ['without requesters', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    breakGlass: { requesters: [] }'), 'policy.yml:4: clusters.0.breakGlass.requesters: name at least one requester'],
    ['with a requester that is no Slack id', yaml('defaults:', '  breakGlass:', '    requesters: [alice]', 'clusters:', '  - match: a', '    approvers: [U123]'), 'policy.yml:3: defaults.breakGlass.requesters.0: must be a Slack user id'],
    ['with a notify that is no channel id', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    breakGlass:', '      requesters: [U1AB]', '      notify: "#security"'), 'policy.yml:6: clusters.0.breakGlass.notify: must be a Slack channel id'],
    ['with perDay 0', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    breakGlass:', '      requesters: [U1AB]', '      perDay: 0'), 'policy.yml:6: clusters.0.breakGlass.perDay: '],
    ['with a bad duration', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    breakGlass:', '      requesters: [U1AB]', '      maxDuration: soon'), 'policy.yml:6: clusters.0.breakGlass.maxDuration: '],
    ['with an unknown key', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    breakGlass:', '      requesters: [U1AB]', '      approvers: [U1AB]'), 'policy.yml:6: clusters.0.breakGlass.approvers: unknown key "approvers"'],
    ['shorter than minDuration', yaml('clusters:', '  - match: a', '    approvers: [U123]', '    minDuration: 10m', '    breakGlass:', '      requesters: [U1AB]', '      maxDuration: 5m'), 'policy.yml:7: clusters.0 (a): breakGlass.maxDuration must be at least minDuration'],
  ])('%s is refused with the file, line and key', (_, text, message) => {
    expect(errorOf(text).message).toContain(message);
  });
});

describe('extensions and reminders: maxTotal and remindBefore', () => {
  test('maxTotal defaults to the rule\'s own maxDuration, and may be raised per rule or in the defaults', () => {
    const policy = parsePolicy(
      yaml(
        'defaults:',
        '  remindBefore: 5m',
        'clusters:',
        '  - match: "short-*"',
        '    approvers: [U0ALICE]',
        '    maxDuration: 2h',
        '  - match: "long-*"',
        '    approvers: [U0ALICE]',
        '    maxDuration: 2h',
        '    maxTotal: 6h',
        '    remindBefore: 15m',
      ),
    );
    expect(policy.ruleFor('short-redis')).toMatchObject({ maxTotal: 7_200, remindBefore: 300 });
    expect(policy.ruleFor('long-redis')).toMatchObject({ maxTotal: 21_600, remindBefore: 900 });
    expect(parsePolicy(yaml('defaults:', '  maxTotal: 12h', 'clusters:', '  - match: "*"', '    approvers: [U0ALICE]')).rules[0]?.maxTotal).toBe(43_200);
  });

  test('a maxTotal below maxDuration, or a remindBefore that is no duration, is refused with its line', () => {
    expect(errorOf(yaml('clusters:', '  - match: "*"', '    approvers: [U0ALICE]', '    maxTotal: 1h')).message).toBe(
      'policy.yml:2: clusters.0 (*): maxTotal must be at least maxDuration',
    );
    expect(errorOf(yaml('clusters:', '  - match: "*"', '    approvers: [U0ALICE]', '    remindBefore: soon')).message).toContain(
      'policy.yml:4: clusters.0.remindBefore: "soon" is not a duration',
    );
  });
});

describe('ticket references: reasonPattern, reasonExample and reasonLink', () => {
  const ticketed = (...lines: string[]) =>
    yaml('defaults:', "  reasonPattern: '[A-Z]+-\\d+'", '  reasonExample: OPS-1 why', 'clusters:', '  - match: "*"', '    approvers: [U0ALICE]', ...lines);

  test('set in the defaults, they apply to every rule, which may override them', () => {
    const policy = parsePolicy(
      yaml(
        'defaults:',
        "  reasonPattern: '[A-Z]+-\\d+'",
        '  reasonExample: OPS-1 why',
        '  reasonLink: https://tracker.example.com/browse/{0}',
        'clusters:',
        '  - match: "inc-*"',
        '    approvers: [U0ALICE]',
        "    reasonPattern: 'INC\\d+'",
        '    reasonExample: INC7 outage',
        '  - match: "*"',
        '    approvers: [U0ALICE]',
      ),
    );
    expect(policy.ruleFor('inc-redis')).toMatchObject({ reasonPattern: 'INC\\d+', reasonExample: 'INC7 outage', reasonLink: 'https://tracker.example.com/browse/{0}' });
    expect(policy.ruleFor('orders')).toMatchObject({ reasonPattern: '[A-Z]+-\\d+', reasonExample: 'OPS-1 why' });
  });

  test.each([
    ['a pattern that does not compile', ticketed("    reasonPattern: '[A-Z'"), 'policy.yml:7: clusters.0.reasonPattern: is not a valid regular expression'],
    ['a link without {0}', ticketed('    reasonLink: https://tracker.example.com/browse/'), 'policy.yml:7: clusters.0.reasonLink: must contain {0}'],
    ['a link that is not http(s)', ticketed('    reasonLink: ftp://tracker.example.com/{0}'), 'policy.yml:7: clusters.0.reasonLink: must be an http(s) URL'],
    ['a link with a character that ends a Slack link', ticketed("    reasonLink: 'https://t.example.com/{0}|x'"), 'policy.yml:7: clusters.0.reasonLink: must not contain spaces, <, > or |'],
    ['an example without a ticket', ticketed('    reasonExample: no ticket here'), 'policy.yml:5: clusters.0 (*): reasonExample "no ticket here" contains no match of reasonPattern [A-Z]+-\\d+'],
    ['a pattern without an example', yaml('clusters:', '  - match: "*"', '    approvers: [U0ALICE]', "    reasonPattern: 'X-\\d+'"), 'policy.yml:2: clusters.0 (*): reasonPattern needs a reasonExample'],
    ['a link without a pattern', yaml('clusters:', '  - match: "*"', '    approvers: [U0ALICE]', '    reasonLink: https://t.example.com/{0}'), 'policy.yml:2: clusters.0 (*): reasonExample and reasonLink need a reasonPattern'],
  ])('%s is refused with its line and key', (_name, text, expected) => {
    expect(errorOf(text).message).toContain(expected);
  });
});

describe('warnings: what loads but would not work with the documented IAM policy', () => {
  test('a roleArn naming a role other than cache-access is flagged with its file, line and key', () => {
    const path = join(tempDir, 'roles.yml');
    writeFileSync(
      path,
      yaml(
        'clusters:',
        '  - match: "payments-*"',
        '    approvers: [U0ALICE]',
        '    roleArn: arn:aws:iam::210987654321:role/cache-access',
        '  - match: "billing-*"',
        '    approvers: [U0ALICE]',
        '    region: us-east-1',
        '    roleArn: arn:aws:iam::210987654321:role/deployer',
        '  - match: "ledger-*"',
        '    approvers: [U0ALICE]',
        '    roleArn: arn:aws:iam::210987654321:role/team/cache-access',
        '  - match: "beijing-*"',
        '    approvers: [U0ALICE]',
        '    roleArn: arn:aws-cn:iam::210987654321:role/cache-access',
        '  - match: "*"',
        '    approvers: [U0ALICE]',
      ),
    );
    const policy = loadPolicy(path);
    expect(policy.rules).toHaveLength(5);
    const refused = 'is not named cache-access: the sts:AssumeRole statement of docs/iam-policy.json would refuse to assume it';
    expect(policy.warnings).toEqual([
      `${path}:8: clusters.1.roleArn: role "deployer" ${refused}`,
      // A path is part of the ARN the statement matches, so role/team/cache-access is refused too.
      `${path}:11: clusters.2.roleArn: role "team/cache-access" ${refused}`,
      `${path}:14: clusters.3.roleArn: partition "aws-cn" is not the documented "aws": the sts:AssumeRole statement of docs/iam-policy.json would refuse to assume it unless its ARNs are edited`,
    ]);
  });

  test('rules without a roleArn, or assuming cache-access, give no warning', () => {
    expect(loadPolicy(EXAMPLE_PATH).warnings).toEqual([]);
    expect(loadPolicy(fileURLToPath(new URL('../../policy.example.yml', import.meta.url))).warnings).toEqual([]);
  });
});

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-access-AbCdEf';

describe('endSessions', () => {
  test('is off unless set; set in defaults it applies to every rule, and a rule may choose its own', () => {
    expect(parsePolicy(yaml('clusters:', '  - match: a', '    approvers: [U123]')).rules[0]!.endSessions).toBeUndefined();

    const policy = parsePolicy(
      yaml(
        'defaults:',
        '  endSessions: { auth: none }',
        'clusters:',
        '  - match: orders-*',
        '    approvers: [U123]',
        '    endSessions: { auth: iam, user: cache-access }',
        '  - match: legacy-*',
        '    approvers: [U123]',
        `    endSessions: { auth: secret, secretArn: "${SECRET}" }`,
        '  - match: "*"',
        '    approvers: [U123]',
      ),
      'policy.yml',
    );
    expect(policy.rules.map((rule) => [rule.endSessions, rule.endSessionsSetAt])).toEqual([
      [{ auth: 'iam', user: 'cache-access' }, 'policy.yml:6: clusters.0.endSessions'],
      [{ auth: 'secret', secretArn: SECRET }, 'policy.yml:9: clusters.1.endSessions'],
      [{ auth: 'none' }, 'policy.yml:2: defaults.endSessions'],
    ]);
  });
});
