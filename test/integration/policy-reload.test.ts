/**
 * Policy reload (what SIGHUP triggers in main): a valid new file applies to the next request and to
 * decisions on pending ones, with requests and grants kept; an invalid one is refused and the old
 * policy stays in force.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
`;

let h: BotHarness;
let logLines: Array<Record<string, any>>;

beforeEach(async () => {
  logLines = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  h = await startHarness(POLICY, { logger: pino({ level: 'info' }, sink) });
  addRedisClusters(h.aws, ['orders-redis', 'payments-redis']);
});

afterEach(async () => {
  await h.stop();
});

const statusOf = (id: number) => h.query<{ status: string }>('select status from requests where id = ?', id)[0]?.status;

async function answerTo(text: string, userId: string): Promise<string> {
  const reply = await h.command(text, userId);
  return reply.text ? String(JSON.parse(reply.text).text) : String((await h.slack.waitForResponse(reply.responseName)).body.text);
}

test('a valid new policy applies at once; requests and grants made under the old one are kept', async () => {
  await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
  await h.click('approve', 1, 'U0BOB');
  await waitUntil(() => statusOf(1) === 'active', 10_000, '#1 active');
  await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
  await h.approvalMessage(2);
  expect(await answerTo(`payments-redis ${SOURCE_GROUP} 1h`, 'U0ALICE')).toContain('No policy rule covers cluster payments-redis');

  h.writePolicy(`
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0CAROL]
  - match: "payments-*"
    approvers: [U0CAROL]
`);
  expect(h.bot.reloadPolicy()).toBe(true);

  expect(await answerTo(`payments-redis ${SOURCE_GROUP} 1h`, 'U0ALICE')).toContain('#3');
  // Deciding on a request made before the reload follows the new approvers.
  const bob = await h.click('approve', 2, 'U0BOB');
  expect(String((await h.slack.waitForResponse(bob.responseName)).body.text)).toContain('not an approver');
  await h.click('approve', 2, 'U0CAROL');
  await waitUntil(() => statusOf(2) === 'active', 10_000, '#2 active');
  expect(statusOf(1)).toBe('active');
  expect(h.aws.rules.size).toBe(1); // #1 and #2 share the one rule, still in place
});

test('an invalid new policy is refused and the old one stays in force', async () => {
  h.writePolicy('clusters:\n  - match: "orders-*"\n    approvers: [not-a-slack-id]\n');
  expect(h.bot.reloadPolicy()).toBe(false);
  h.writePolicy('this: is: not yaml');
  expect(h.bot.reloadPolicy()).toBe(false);
  const refusals = logLines.filter((line) => line.msg === 'policy reload refused; keeping the policy in force');
  expect(refusals).toHaveLength(2);
  expect(refusals[0]!.level).toBe(50); // error
  expect(refusals[0]!.err.message).toContain('approvers');

  await h.command(`orders-redis ${SOURCE_GROUP} 1h`, 'U0ALICE');
  await h.click('approve', 1, 'U0BOB');
  await waitUntil(() => statusOf(1) === 'active', 10_000, '#1 active under the old policy');
});

test('a roleArn the documented IAM policy would refuse is logged as a warning at start-up and on reload', async () => {
  const otherRole = (name: string) => `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
    roleArn: arn:aws:iam::210987654321:role/${name}
`;
  const roleWarnings = () => logLines.filter((line) => line.level === 40 && String(line.msg).includes('clusters.0.roleArn'));
  expect(roleWarnings()).toEqual([]);

  h.writePolicy(otherRole('deployer'));
  await h.restart();
  expect(roleWarnings().map((line) => line.msg)).toEqual([
    expect.stringMatching(/policy\.yml:7: clusters\.0\.roleArn: role "deployer" is not named cache-access: the sts:AssumeRole statement of docs\/iam-policy\.json/),
  ]);

  h.writePolicy(otherRole('admin'));
  expect(h.bot.reloadPolicy()).toBe(true);
  expect(roleWarnings().at(-1)?.msg).toMatch(/policy\.yml:7: clusters\.0\.roleArn: role "admin" is not named cache-access/);

  h.writePolicy(otherRole('cache-access'));
  expect(h.bot.reloadPolicy()).toBe(true);
  expect(roleWarnings()).toHaveLength(2);
});
