import { describe, expect, test } from 'vitest';
import { InvalidInputError } from '../../src/domain/errors.js';
import { canonicalCidr, cidrPrefix, cidrWithin, isWholeInternet, parseSource, SOURCE_HELP } from '../../src/domain/source.js';

describe('parseSource', () => {
  test.each(['sg-0123abcd', 'sg-0a1b2c3d4e5f60789'])('%s (8 or 17 hex digits) is a security group', (groupId) => {
    expect(parseSource(groupId)).toEqual({ kind: 'security-group', groupId });
  });

  test.each([
    'sg-0123abc', // 7
    'sg-0123abcde', // 9
    'sg-0a1b2c3d4e5f6078', // 16
    'sg-0a1b2c3d4e5f607890', // 18
    'sg-0123abcg', // not hex
    'sg-0123ABCD', // AWS ids are lower case
    'SG-0123abcd',
    'sg-',
  ])('%s is refused as a security group id', (text) => {
    expect(() => parseSource(text)).toThrow(InvalidInputError);
    expect(() => parseSource(text)).toThrow('not a valid security group id');
  });

  test.each([
    ['10.1.2.0/24', '10.1.2.0/24'],
    ['10.1.2.3/24', '10.1.2.0/24'],
    ['192.168.7.9/32', '192.168.7.9/32'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:DB8:0:0::1/32', '2001:db8::/32'],
    ['2001:db8:1:2:3:4:5:6/64', '2001:db8:1:2::/64'],
    ['::1/128', '::1/128'],
  ])('%s is the CIDR %s', (text, cidr) => {
    expect(parseSource(text)).toEqual({ kind: 'cidr', cidr });
  });

  test.each([
    '10.1.2.3', // no prefix
    '10.0.0.0/33',
    '2001:db8::/129',
    '256.0.0.0/8',
    '10.0.0/24',
    '10/8', // ipaddr.js alone would read this as 0.0.0.0/8
    '012.1.2.3/32', // …and this, in octal, as 10.1.2.3/32
    '0xa.0.0.0/8',
    '167772161/32',
    'fe80::1%eth0/64',
    'orders',
    '',
  ])('%j is refused with the accepted forms in the message', (text) => {
    expect(() => parseSource(text)).toThrow(InvalidInputError);
    expect(() => parseSource(text)).toThrow(SOURCE_HELP);
  });
});

test('canonicalCidr is idempotent', () => {
  for (const text of ['10.1.2.3/24', '2001:DB8::1/32', '0.0.0.0/0', '::ffff:1.2.3.4/128']) {
    const once = canonicalCidr(text);
    expect(canonicalCidr(once)).toBe(once);
  }
});

describe('cidrWithin', () => {
  test.each([
    ['10.1.2.0/24', '10.0.0.0/8', true],
    ['10.0.0.0/8', '10.0.0.0/8', true],
    ['10.1.2.3/32', '10.1.2.0/24', true],
    ['10.0.0.0/7', '10.0.0.0/8', false], // wider than the allowed range
    ['11.0.0.0/8', '10.0.0.0/8', false],
    ['10.1.2.0/24', '0.0.0.0/0', true],
    ['2001:db8:1::/48', '2001:db8::/32', true],
    ['2001:db8::/32', '2001:db8::/32', true],
    ['2001:db8::/31', '2001:db8::/32', false],
    ['2001:db9::/48', '2001:db8::/32', false],
    ['10.0.0.0/8', '::/0', false], // different families never contain each other
    ['2001:db8::/32', '0.0.0.0/0', false],
    ['::ffff:10.1.2.3/128', '10.0.0.0/8', false],
  ])('%s within %s is %s', (inner, outer, expected) => {
    expect(cidrWithin(inner, outer)).toBe(expected);
  });
});

describe('isWholeInternet', () => {
  test.each([
    ['0.0.0.0/0', true],
    ['::/0', true],
    ['0.0.0.0/1', false],
    ['10.0.0.0/8', false],
    ['::/1', false],
  ])('%s → %s', (cidr, expected) => {
    expect(isWholeInternet(cidr)).toBe(expected);
  });
});

describe('cidrPrefix', () => {
  test.each([
    ['10.1.2.0/24', { family: 'ipv4', prefix: 24 }],
    ['10.1.2.3/32', { family: 'ipv4', prefix: 32 }],
    ['0.0.0.0/0', { family: 'ipv4', prefix: 0 }],
    ['2001:db8::/64', { family: 'ipv6', prefix: 64 }],
    ['::ffff:10.0.0.0/104', { family: 'ipv6', prefix: 104 }],
  ])('%s', (cidr, expected) => {
    expect(cidrPrefix(cidr)).toEqual(expected);
  });
});
