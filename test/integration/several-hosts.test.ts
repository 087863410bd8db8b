/**
 * Several hosts: two `--role web` and two `--role worker` processes of the built program (dist/main.js)
 * share one PostgreSQL for the records, with the jobs in that PostgreSQL too (QUEUE_BACKEND=postgres, no
 * Redis) or in Redis. A burst of grants comes in through both web processes as Slack sends it (signed
 * slash commands, then signed Approve clicks by the approver the policy names). AWS (EC2 and ElastiCache
 * over HTTP) holds every AuthorizeSecurityGroupIngress open until both workers have grant jobs waiting on
 * it; then one worker is SIGKILLed and AWS answers, so the rules of the dead worker's calls exist in AWS
 * while its records still say "pending", as after a host lost mid-call.
 */
import { describe, expect, inject, test, vi } from 'vitest';
import type { AccessRequest } from '../../src/domain/request.js';
import type { RunningProgram } from '../fakes/built-program.js';
import { freePort } from '../support/free-port.js';
import { flushRedis, redisDatabase } from '../support/redis-database.js';
import { RECONCILE_SECONDS, RECOVERY_BOUND_MS, requestAndApprove, severalHostsSuite, unexpectedWarnings } from '../support/several-hosts.js';

const GRANTS = 40;
const GRANT_SECONDS = 3;
/**
 * How long after its expiry a grant's rule goes. No revoke job can be on the killed worker (it died
 * before any grant was active), so this is the live worker's lag alone: its delayed job, the database
 * and AWS round trips, with eight processes sharing two cores.
 */
const REVOKE_LAG_BOUND_MS = 5_000;

/** A Redis database no other test file uses: the program runs with BullMQ's default key prefix. */
const REDIS_DB = 6;

describe.each([
  { jobs: 'postgres', redis: false },
  { jobs: 'redis', redis: true },
] as const)('two web and two worker processes, jobs on $jobs', ({ jobs, redis }) => {
  const suite = severalHostsSuite();

  test('a burst of grants with a worker killed mid-call: each rule added once, removed by id at expiry, none left; one reconcile pass per interval', async () => {
    // Without Redis, REDIS_URL points where nothing listens.
    const redisUrl = redis ? redisDatabase(inject('redisUrl'), REDIS_DB) : `redis://127.0.0.1:${await freePort()}`;
    if (redis) await flushRedis(redisUrl);
    const hosts = await suite.start({ web: ['web-a', 'web-b'], worker: ['worker-a', 'worker-b'], jobs, redisUrl });
    const { ec2, store, workers, workersStartedAt } = hosts;
    const [workerA, workerB] = workers as [RunningProgram, RunningProgram];

    const authorizeHeld = ec2.holdAuthorize();
    await requestAndApprove(hosts, GRANTS, GRANT_SECONDS);

    // Both workers have grant jobs waiting on AWS: kill one, then let AWS answer every call.
    await authorizeHeld;
    await vi.waitFor(() => expect(new Set(ec2.heldAuthorizes)).toEqual(new Set(['worker-a', 'worker-b'])), { timeout: 30_000, interval: 50 });
    workerA.child.kill('SIGKILL');
    await workerA.exited(5_000);
    const killedAt = Date.now();
    ec2.releaseAuthorize();

    await vi.waitFor(async () => expect(await store.findByStatus('expired')).toHaveLength(GRANTS), {
      timeout: RECOVERY_BOUND_MS + GRANT_SECONDS * 1000 + REVOKE_LAG_BOUND_MS,
      interval: 250,
    });
    const endedAt = Date.now();

    // Each grant got one rule, added once; the dead worker's grants were taken up by the live one, whose
    // Authorize AWS refused as a duplicate, so it adopted the rule the dead worker's call had made.
    const grants = await Promise.all(Array.from({ length: GRANTS }, async (_, i) => (await store.get(i + 1))!));
    const authorizers = (grant: AccessRequest) =>
      ec2.calls.filter((call) => call.action === 'AuthorizeSecurityGroupIngress' && grantIdTag(call.params) === String(grant.id)).map((call) => call.caller);
    const takenOver = grants.filter((grant) => authorizers(grant).includes('worker-a'));
    expect(takenOver.length).toBeGreaterThan(0);
    // Which workers called, in order: the AWS SDK may send a refused call again by itself (it retries an error
    // once it has corrected for clock skew, as under `npm run test:clock-ahead`), and a refused call adds nothing.
    const callers = (grant: AccessRequest) => authorizers(grant).filter((caller, i, all) => caller !== all[i - 1]);
    for (const grant of grants) {
      expect(callers(grant), `#${grant.id}`).toEqual(takenOver.includes(grant) ? ['worker-a', 'worker-b'] : ['worker-b']);
    }
    expect(ec2.added.map((rule) => rule.tags['cache-access:grant-id']).sort()).toEqual(grants.map((grant) => String(grant.id)).sort());

    // Each grant was active, then expired, its rule removed by its id within the lag bound of its expiry.
    for (const grant of grants) {
      const history = (await store.history(grant.id)).map((event) => event.type);
      expect(history.filter((type) => type === 'activated' || type === 'expired'), `#${grant.id}`).toEqual(['activated', 'expired']);
      const awsRuleId = (await store.getRule(grant.ruleRecordId!))!.awsRuleId!;
      expect(ec2.added.find((rule) => rule.ruleId === awsRuleId)?.tags['cache-access:grant-id']).toBe(String(grant.id));
      const revokes = ec2.calls.filter((call) => call.action === 'RevokeSecurityGroupIngress' && call.params.get('SecurityGroupRuleId.1') === awsRuleId);
      expect(revokes.length, `#${grant.id}`).toBeGreaterThan(0);
      const lateMs = revokes[0]!.at - grant.expiresAt!.getTime();
      expect(lateMs, `#${grant.id} revoked ${lateMs} ms after expiry`).toBeGreaterThanOrEqual(-1_000);
      expect(lateMs, `#${grant.id} revoked ${lateMs} ms after expiry`).toBeLessThanOrEqual(REVOKE_LAG_BOUND_MS);
    }
    for (const grant of takenOver) expect(grant.activatedAt!.getTime()).toBeLessThanOrEqual(killedAt + RECOVERY_BOUND_MS);
    expect(ec2.rules.size).toBe(0);
    expect(ec2.calls.filter((call) => call.action === 'RevokeSecurityGroupIngress').every((call) => call.params.has('SecurityGroupRuleId.1'))).toBe(true);

    // The reconciler: besides each worker's pass at start-up, one pass per interval between the two, not one
    // each: at most one per interval since the first worker started, plus the pass the dead worker was running
    // when killed, which runs again once its lock runs out.
    const passes = [workerA, workerB].flatMap((running) => running.lines.filter((line) => line.msg === 'reconcile pass'));
    const firstStart = Math.min(...workersStartedAt);
    const intervals = Math.ceil((endedAt - firstStart) / (RECONCILE_SECONDS * 1000));
    expect(passes.length - 2).toBeLessThanOrEqual(intervals + 1);
    // No warnings but one: a kill just after the dead worker took a reconcile run, before it added the next,
    // stalls the schedule, and the live worker's watchdog repairs that and says so.
    expect(unexpectedWarnings(workers, (line) => String(line.msg).startsWith('reconcile scheduler overdue'))).toEqual([]);
  }, 300_000);
});

function grantIdTag(params: URLSearchParams): string | undefined {
  for (let i = 1; params.has(`TagSpecification.1.Tag.${i}.Key`); i += 1) {
    if (params.get(`TagSpecification.1.Tag.${i}.Key`) === 'cache-access:grant-id') return params.get(`TagSpecification.1.Tag.${i}.Value`) ?? undefined;
  }
  return undefined;
}
