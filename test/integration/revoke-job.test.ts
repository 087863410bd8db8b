/**
 * The revoke job's guards that a mutation run (MUTATION.md) found no test for: a rule AWS acknowledged
 * removing but still lists, and a job that fires before the grant's end. The use case runs directly
 * against a real SQLite store and the EC2 adapter over the fake account.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { activate } from '../../src/app/activate.js';
import { revokeExpired } from '../../src/app/revoke.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { openJobWorld, type JobWorld } from '../support/job-world.js';

const firstAttempt = { attemptsMade: 0, finalAttempt: false };

let world: JobWorld;

beforeEach(() => {
  world = openJobWorld();
});

afterEach(() => world.close());

async function activeGrant(): Promise<AccessRequest> {
  const { id } = await world.approvedRequest(600);
  await activate(world.deps, id, firstAttempt);
  return (await world.deps.store.get(id))!;
}

test('a rule AWS says it removed but still lists keeps the grant active and the job retrying until it is gone', async () => {
  const grant = await activeGrant();
  world.clock.now = grant.expiresAt!;
  world.aws.answerWithoutEffect('RevokeSecurityGroupIngress', { Return: true });

  await expect(revokeExpired(world.deps, grant.id, firstAttempt)).rejects.toThrow('still in');
  expect((await world.deps.store.get(grant.id))!.status).toBe('active');
  expect((await world.deps.store.liveRules()).map((rule) => rule.id)).toContain(grant.ruleRecordId);

  await revokeExpired(world.deps, grant.id, { attemptsMade: 1, finalAttempt: false });
  expect((await world.deps.store.get(grant.id))!.status).toBe('expired');
  expect(world.aws.rules.size).toBe(0);
});

test('a revoke job firing more than a second before the end is retried and leaves the access in place', async () => {
  const grant = await activeGrant();
  world.clock.now = new Date(grant.expiresAt!.getTime() - 1_001);

  await expect(revokeExpired(world.deps, grant.id, firstAttempt)).rejects.toThrow('not due until');
  expect((await world.deps.store.get(grant.id))!.status).toBe('active');
  expect(world.aws.rules.size).toBe(1);
});

test('a revoke job firing within a second of the end (clock skew between hosts) ends the access', async () => {
  const grant = await activeGrant();
  world.clock.now = new Date(grant.expiresAt!.getTime() - 1_000);

  await revokeExpired(world.deps, grant.id, firstAttempt);
  expect((await world.deps.store.get(grant.id))!.status).toBe('expired');
  expect(world.aws.rules.size).toBe(0);
});
