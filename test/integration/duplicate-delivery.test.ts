/**
 * The same job delivered twice at once (a stalled job retried while the first run is alive, two
 * workers racing) has one effect: one rule, one activation, one end, one message each. Use cases run
 * directly against a real SQLite store and the EC2 firewall adapter over the fake AWS account.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { activate } from '../../src/app/activate.js';
import type { UseCaseDeps } from '../../src/app/deps.js';
import { revokeExpired } from '../../src/app/revoke.js';
import type { FakeAwsAccount } from '../fakes/aws-account.js';
import type { RecordingNotifier } from '../fakes/recording-ports.js';
import { openJobWorld, type JobWorld } from '../support/job-world.js';

const attempt = { attemptsMade: 0, finalAttempt: false };

let world: JobWorld;
let aws: FakeAwsAccount;
let notifier: RecordingNotifier;
let clock: { now: Date };
let deps: UseCaseDeps;

beforeEach(() => {
  world = openJobWorld();
  ({ aws, notifier, clock, deps } = world);
});

afterEach(() => world.close());

const approvedRequest = async (): Promise<number> => (await world.approvedRequest(60)).id;

const eventsOf = async (id: number, type: string) => (await deps.store.history(id)).filter((e) => e.type === type);

test('a grant job delivered twice at once adds one rule and activates once', async () => {
  const id = await approvedRequest();
  await Promise.all([activate(deps, id, attempt), activate(deps, id, attempt)]);

  expect((await deps.store.get(id))?.status).toBe('active');
  expect(aws.rules.size).toBe(1);
  expect(await eventsOf(id, 'activated')).toHaveLength(1);
  expect(notifier.told.filter((t) => t.status === 'active')).toHaveLength(1);

  await activate(deps, id, attempt); // and once more, later: nothing to do
  expect(aws.callsOf('AuthorizeSecurityGroupIngress').length).toBeLessThanOrEqual(2);
  expect(await eventsOf(id, 'activated')).toHaveLength(1);
});

test('a revoke job delivered twice at once removes the rule and records the end once', async () => {
  const id = await approvedRequest();
  await activate(deps, id, attempt);
  clock.now = new Date((await deps.store.get(id))!.expiresAt!.getTime() + 10);

  await Promise.all([revokeExpired(deps, id, attempt), revokeExpired(deps, id, attempt)]);

  expect((await deps.store.get(id))?.status).toBe('expired');
  expect(aws.rules.size).toBe(0);
  expect(await eventsOf(id, 'expired')).toHaveLength(1);
  expect(notifier.told.filter((t) => t.status === 'expired')).toHaveLength(1);
});
