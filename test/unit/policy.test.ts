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
        approvals: 1,
        selfApproval: false,
        requireReason: false,
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
      approvals: 1,
      selfApproval: false,
      requireReason: false,
    });
  });
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
      approvals: 2,
      selfApproval: false,
      requireReason: false,
    });
    expect(policy.ruleFor('prod-orders')).toEqual({
      match: 'prod-*',
      approvers: ['S0SRE'],
      allowedCidrs: ['10.1.0.0/16', '2001:db8::/32'],
      duration: 7_200,
      maxDuration: 28_800,
      minDuration: 300,
      pendingTimeout: 86_400,
      approvals: 1,
      selfApproval: false,
      requireReason: true,
    });
    expect(policy.ruleFor('anything')).toMatchObject({ duration: 1_800, approvals: 2, selfApproval: true, pendingTimeout: 3_600 });
  });

  test('a cluster no rule matches gets no rule', () => {
    const prodOnly = parsePolicy(yaml('clusters:', '  - match: "prod-*"', '    approvers: [U123]'));
    expect(prodOnly.ruleFor('staging-orders')).toBeUndefined();
    expect(prodOnly.ruleFor('prod')).toBeUndefined();
    expect(prodOnly.ruleFor('prod-orders')).toBeDefined();
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
