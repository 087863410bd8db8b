import { pino } from 'pino';
import { expect, test } from 'vitest';
import { explainUpstream } from '../../src/adapters/slack/upstream-explanation.js';
import { userMessageFor } from '../../src/adapters/slack/user-message.js';
import { UpstreamError } from '../../src/domain/errors.js';

function render(error: unknown): { text: string; logged: string } {
  const lines: string[] = [];
  const text = userMessageFor(error, pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), { userId: 'U0ALICE' });
  return { text, logged: lines.join('') };
}

test('a Redis failure shows its code and meaning; the host and port go only to the log', () => {
  const { text, logged } = render(new UpstreamError('redis', 'QUEUE_UNAVAILABLE', 'Could not add job grant-1: connect ECONNREFUSED 10.20.30.40:6379', true));

  expect(text).toContain('QUEUE_UNAVAILABLE');
  expect(text).toContain('job queue');
  expect(text).toContain('try again in a minute');
  expect(text).not.toContain('10.20.30.40');
  expect(logged).toContain('10.20.30.40:6379');
});

test.each([
  ['RequestLimitExceeded', 'limiting how often'],
  ['ThrottlingException', 'limiting how often'],
  ['AccessDenied', 'not allowed'],
  ['UnauthorizedOperation', 'not allowed'],
  ['AssumeRoleUnavailable', 'not allowed'],
  ['InvalidGroup.NotFound', 'does not know'],
  ['ReplicationGroupNotFoundFault', 'does not know'],
  ['RulesPerSecurityGroupLimitExceeded', 'quota'],
  ['TimeoutError', 'could not reach AWS'],
  ['ECONNRESET', 'could not reach AWS'],
  ['InvalidParameterValue', 'did not do what cache-access asked'],
])('AWS %s is explained as "%s"', (code, meaning) => {
  expect(explainUpstream('aws', code)).toContain(meaning);
});
