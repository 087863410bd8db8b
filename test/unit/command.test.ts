import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, test } from 'vitest';
import { parseCommand, USAGE, type Command } from '../../src/domain/command.js';
import { formatDuration } from '../../src/domain/durations.js';
import { InvalidInputError } from '../../src/domain/errors.js';

const SG = 'sg-0a1b2c3d4e5f60789';

describe('parseCommand', () => {
  test.each([
    ['help', { kind: 'help' }],
    ['  HELP  ', { kind: 'help' }],
    ['', { kind: 'open-modal' }],
    ['   \n\t ', { kind: 'open-modal' }],
    [`orders-redis ${SG}`, { kind: 'request', clusterId: 'orders-redis', source: { kind: 'security-group', groupId: SG }, reason: '' }],
    [
      `orders-redis ${SG} 2h`,
      { kind: 'request', clusterId: 'orders-redis', source: { kind: 'security-group', groupId: SG }, durationSeconds: 7_200, reason: '' },
    ],
    [
      `orders-redis ${SG} 1h30m checkout latency`,
      {
        kind: 'request',
        clusterId: 'orders-redis',
        source: { kind: 'security-group', groupId: SG },
        durationSeconds: 5_400,
        reason: 'checkout latency',
      },
    ],
    [
      `orders-redis ${SG} investigating   the checkout\tlatency since the 14:00 deploy`,
      {
        kind: 'request',
        clusterId: 'orders-redis',
        source: { kind: 'security-group', groupId: SG },
        reason: 'investigating the checkout latency since the 14:00 deploy',
      },
    ],
    [
      ' sessions 10.1.2.3/24 15m debug ',
      { kind: 'request', clusterId: 'sessions', source: { kind: 'cidr', cidr: '10.1.2.0/24' }, durationSeconds: 900, reason: 'debug' },
    ],
    [
      'sessions 2001:DB8::1/48 why',
      { kind: 'request', clusterId: 'sessions', source: { kind: 'cidr', cidr: '2001:db8::/48' }, reason: 'why' },
    ],
    [
      `break-glass orders-redis ${SG} 30m checkout down INC-7`,
      { kind: 'break-glass', clusterId: 'orders-redis', source: { kind: 'security-group', groupId: SG }, durationSeconds: 1_800, reason: 'checkout down INC-7' },
    ],
    [
      `Break-Glass orders-redis ${SG} checkout down`,
      { kind: 'break-glass', clusterId: 'orders-redis', source: { kind: 'security-group', groupId: SG }, reason: 'checkout down' },
    ],
    // Followed by a source, it is a request for a cluster named break-glass.
    [`break-glass ${SG} 1h why`, { kind: 'request', clusterId: 'break-glass', source: { kind: 'security-group', groupId: SG }, durationSeconds: 3_600, reason: 'why' }],
    ['list', { kind: 'list' }],
    [' LIST ', { kind: 'list' }],
    ['status 42', { kind: 'status', requestId: 42 }],
    ['status #42', { kind: 'status', requestId: 42 }],
    ['revoke #7', { kind: 'revoke', requestId: 7 }],
    ['Cancel 3', { kind: 'cancel', requestId: 3 }],
    ['extend #42 1h30m', { kind: 'extend', requestId: 42, durationSeconds: 5_400 }],
    // A command word followed by a source is still a request for a cluster of that name.
    ['status sg-0123abcd', { kind: 'request', clusterId: 'status', source: { kind: 'security-group', groupId: 'sg-0123abcd' }, reason: '' }],
    ['list 10.0.0.0/8', { kind: 'request', clusterId: 'list', source: { kind: 'cidr', cidr: '10.0.0.0/8' }, reason: '' }],
    [
      'help sg-0123abcd',
      { kind: 'request', clusterId: 'help', source: { kind: 'security-group', groupId: 'sg-0123abcd' }, reason: '' },
    ],
  ] satisfies Array<[string, Command]>)('%j', (text, command) => {
    expect(parseCommand(text)).toEqual(command);
  });

  test.each([
    [`1orders ${SG}`, 'not a cluster id'],
    [`orders_redis ${SG}`, 'not a cluster id'],
    [`${'a'.repeat(41)} ${SG}`, 'not a cluster id'],
    ['orders-redis', 'Say which source'],
    ['orders-redis sg-0123abc', 'not a valid security group id'],
    ['orders-redis sg-0a1b2c3d4e5f6078', 'not a valid security group id'],
    ['orders-redis sg-0123abcz', 'not a valid security group id'],
    ['orders-redis 10.0.0.0/33', 'neither a security group id nor a CIDR'],
    ['orders-redis 10.1.2.3', 'neither a security group id nor a CIDR'],
    ['orders-redis somewhere', 'neither a security group id nor a CIDR'],
    [`orders-redis ${SG} 2x reason`, '"2x" is not a duration'],
    [`orders-redis ${SG} 0m reason`, '"0m" is zero'],
    ['status', 'Say which request'],
    ['revoke #0', 'Say which request'],
    ['cancel 42 now', 'takes only a request id'],
    ['extend 42', 'Say by how much'],
    ['extend #42 2h please', 'Say by how much'],
    ['extend 42 2x', '"2x" is not a duration'],
    [`break-glass orders-redis ${SG} 30m`, 'Break-glass needs a reason'],
    [`break-glass orders-redis ${SG}`, 'Break-glass needs a reason'],
    ['break-glass orders-redis', 'Say which source'],
    [`break-glass 1orders ${SG} why`, 'not a cluster id'],
  ])('%j is refused: %s, followed by the usage', (text, problem) => {
    let caught: unknown;
    try {
      parseCommand(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    const message = (caught as Error).message;
    expect(message).toContain(problem);
    expect(message.endsWith(`\n${USAGE}`)).toBe(true);
  });
});

test('any text gives a Command or an InvalidInputError with the usage, never anything else', () => {
  const word = fc.oneof(
    fc.string(),
    fc.constantFrom('help', 'list', 'status', 'revoke', 'cancel', 'extend', '#42', '7', 'orders-redis', SG, 'sg-0123abcd', '10.0.0.0/8', '::/0', '2h', '0m', '1h30m', '99999999999999999999d'),
    fc.stringMatching(/^[0-9a-fA-F.:/%]{1,40}$/),
  );
  const text = fc.oneof(fc.string({ unit: 'binary' }), fc.array(word, { maxLength: 6 }).map((words) => words.join(' ')));
  fc.assert(
    fc.property(text, (input) => {
      try {
        const command = parseCommand(input);
        expect(['help', 'open-modal', 'request', 'list', 'status', 'revoke', 'cancel', 'extend']).toContain(command.kind);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        expect((error as Error).message).toContain(USAGE);
      }
    }),
    { numRuns: 1_000 },
  );
});

const clusterId = fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/);

/** A CIDR already in canonical form (host bits cleared), built from raw bytes. */
function canonicalCidrOf(byteCount: 4 | 16) {
  return fc
    .tuple(fc.uint8Array({ minLength: byteCount, maxLength: byteCount }), fc.integer({ min: 0, max: byteCount * 8 }))
    .map(([bytes, prefix]) => {
      const masked = Array.from(bytes, (byte, i) => byte & (0xff << (8 - Math.min(8, Math.max(0, prefix - i * 8)))) & 0xff);
      return { kind: 'cidr' as const, cidr: `${ipaddr.fromByteArray(masked).toString()}/${prefix}` };
    });
}

const source = fc.oneof(
  fc.stringMatching(/^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/).map((groupId) => ({ kind: 'security-group' as const, groupId })),
  canonicalCidrOf(4),
  canonicalCidrOf(16),
);
const reasonWord = fc.stringMatching(/^\S{1,12}$/);

test('a valid command text round-trips through parseCommand', () => {
  fc.assert(
    fc.property(
      clusterId,
      source,
      fc.option(fc.integer({ min: 1, max: 30 * 86_400 }), { nil: undefined }),
      fc.array(reasonWord, { maxLength: 8 }),
      (cluster, src, durationSeconds, reasonWords) => {
        // Without a duration, a reason starting with a digit would be read as one.
        fc.pre(durationSeconds !== undefined || !/^\d/.test(reasonWords[0] ?? ''));
        const sourceText = src.kind === 'cidr' ? src.cidr : src.groupId;
        const durationText = durationSeconds === undefined ? [] : [formatDuration(durationSeconds)];
        const text = [cluster, sourceText, ...durationText, ...reasonWords].join(' ');

        const expected: Command = { kind: 'request', clusterId: cluster, source: src, reason: reasonWords.join(' ') };
        if (durationSeconds !== undefined) expected.durationSeconds = durationSeconds;
        expect(parseCommand(text)).toStrictEqual(expected);
      },
    ),
  );
});
