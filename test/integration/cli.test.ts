/**
 * The admin CLI through its real bin (the compiled dist/cli.js run by node), against a real SQLite
 * file seeded through the store, real Redis (a database of its own, so the bot's default queue
 * prefix is free to use) and, for reconcile, EC2 over HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SqliteGrantStore } from '../../src/adapters/db/grant-store.js';
import { openDatabase, type OpenedDatabase } from '../../src/adapters/db/open.js';
import { QUEUE_NAME } from '../../src/adapters/queue/jobs.js';
import { transition } from '../../src/domain/lifecycle.js';
import type { AccessRequest, NewAccessRequest } from '../../src/domain/request.js';
import { buildProgram, runProgram, testAwsEnv, type BuiltProgram } from '../fakes/built-program.js';
import { startFakeEc2, type FakeEc2 } from '../fakes/fake-ec2-server.js';
import { redisDatabase } from '../support/redis-database.js';
import { requestDraft } from '../support/request-fixtures.js';

const DAY_MS = 86_400_000;
const now = Date.now();
const ago = (ms: number) => new Date(now - ms);

const PAST_TENSE = { approve: 'approved', deny: 'denied' } as const;
const REQUESTED = { durationSeconds: 3600, reason: 'cli-test' };
const REQUESTED_JSON = '{"durationSeconds":3600,"reason":"cli-test"}';

const POLICY = `clusters:\n  - match: "orders-*"\n    approvers: [U0APPROVER]\n`;

describe('cache-access admin CLI', () => {
  let program: BuiltProgram;
  let dir: string;
  let database: OpenedDatabase;
  let store: SqliteGrantStore;
  let env: Record<string, string>;
  /** Database 3 of the run's server: no other test file uses it. */
  const redisUrl = redisDatabase(inject('redisUrl'), 3);
  const queue = new Queue(QUEUE_NAME, { connection: { url: redisUrl } });

  beforeAll(async () => {
    program = await buildProgram();
  }, 180_000);
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    program?.remove();
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cache-access-cli-'));
    writeFileSync(join(dir, 'policy.yml'), POLICY);
    database = openDatabase(join(dir, 'cache-access.db'));
    store = new SqliteGrantStore(database.db);
    env = {
      DATABASE_PATH: join(dir, 'cache-access.db'),
      REDIS_URL: redisUrl,
      POLICY_FILE: join(dir, 'policy.yml'),
      USER: 'olga',
      ...testAwsEnv(dir),
    };
  });
  afterEach(async () => {
    database.close();
    rmSync(dir, { recursive: true, force: true });
    await queue.obliterate({ force: true });
  });

  const cli = (...args: string[]) => runProgram(join(program.dist, 'cli.js'), args, env);

  /** A stored request moved through `events` of the lifecycle, each recorded at `at`. */
  async function seed(overrides: Partial<NewAccessRequest>, path: Array<'approve' | 'activate' | 'expire' | 'deny'>, at = ago(DAY_MS)): Promise<AccessRequest> {
    let request = (await store.create(requestDraft({ createdAt: at, ...overrides }), { at, actor: 'U0REQUESTER', type: 'requested', detail: REQUESTED })).request;
    for (const step of path) {
      if (step === 'activate') {
        const rule = await store.recordRuleIntent({ ...request, version: request.version + 1 }, ruleOf(request), [{ at, actor: 'system', type: 'rule-requested', detail: ruleOf(request) }]);
        await store.markRuleInPlace(rule.id, `sgr-0000000000000000${request.id}`, 'cache-access');
        request = (await store.get(request.id))!;
      }
      const event =
        step === 'approve' ? { type: 'approve' as const, by: 'U0APPROVER', selfApproval: false }
        : step === 'deny' ? { type: 'deny' as const, by: 'U0APPROVER' }
        : step === 'activate' ? { type: 'activate' as const, ruleRecordId: request.ruleRecordId! }
        : { type: 'expire' as const };
      const { next } = transition(request, event, at);
      const actor = 'by' in event ? String(event.by) : 'system';
      await store.save(next, [
        step === 'activate' ? { at, actor, type: 'activated', detail: { origin: 'cache-access', sharedWith: [] } }
        : step === 'expire' ? { at, actor, type: 'expired', detail: { outcome: 'removed' } }
        : { at, actor, type: PAST_TENSE[step] },
      ]);
      request = next;
    }
    return request;
  }

  /** A break-glass grant opened a day ago, not reviewed. */
  async function brokenGlass(): Promise<AccessRequest> {
    const at = ago(DAY_MS);
    const { request } = await store.create(requestDraft({ createdAt: at }), { at, actor: 'U0REQUESTER', type: 'requested', detail: REQUESTED });
    const { next } = transition(request, { type: 'break-glass', by: request.requesterId }, at);
    await store.save(next, [{ at, actor: request.requesterId, type: 'break-glass', detail: { policyMatch: 'orders-*' } }]);
    return next;
  }

  const ruleOf = (request: AccessRequest) => ({ securityGroupId: request.targetGroupId, protocol: 'tcp' as const, port: request.port, source: request.source });

  describe('grants', () => {
    it('lists every request as a table, and filters by status and cluster', async () => {
      const active = await seed({}, ['approve', 'activate']);
      const denied = await seed({ clusterId: 'orders-valkey' }, ['deny']);
      const pending = await seed({ clusterId: 'orders-valkey', requesterName: 'bo' }, []);

      const all = await cli('grants');
      expect(all.exitCode).toBe(0);
      const lines = all.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID\s+STATUS\s+CLUSTER\s+SOURCE\s+REQUESTER\s+CREATED\s+EXPIRES$/);
      expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
        [`#${active.id}`, 'active', 'orders-redis'],
        [`#${denied.id}`, 'denied', 'orders-valkey'],
        [`#${pending.id}`, 'pending', 'orders-valkey'],
      ]);
      expect(lines[1]).toContain(active.expiresAt!.toISOString().replace(/\.\d{3}Z$/, 'Z'));

      const activeOnly = await cli('grants', '--status', 'active');
      expect(activeOnly.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0])).toEqual([`#${active.id}`]);

      const valkey = await cli('grants', '--cluster', 'orders-valkey', '--status', 'pending');
      expect(valkey.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/).slice(0, 5))).toEqual([
        [`#${pending.id}`, 'pending', 'orders-valkey', 'sg-0bbbbbbbbbbbbbbbb', 'bo'],
      ]);

      const none = await cli('grants', '--cluster', 'nothing-here');
      expect(none).toMatchObject({ exitCode: 0, stdout: 'No requests match.\n' });
    });

    it('--unreviewed lists only break-glass grants no approver has reviewed', async () => {
      await seed({}, ['approve', 'activate']);
      const unreviewed = await brokenGlass();
      const reviewed = await brokenGlass();
      const { next } = transition(reviewed, { type: 'review', by: 'U0APPROVER' }, ago(DAY_MS / 2));
      await store.save(next, [{ at: ago(DAY_MS / 2), actor: 'U0APPROVER', type: 'break-glass-reviewed' }]);

      const result = await cli('grants', '--unreviewed');
      expect(result.exitCode).toBe(0);
      expect(result.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/).slice(0, 2))).toEqual([[`#${unreviewed.id}`, 'approved']]);
    });

    it('refuses an unknown status with exit code 2', async () => {
      const result = await cli('grants', '--status', 'open');
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('--status must be one of pending, approved, active');
      expect(result.stdout).toBe('');
    });
  });

  describe('show', () => {
    it('prints the request and its full event history', async () => {
      const request = await seed({ reason: 'checkout, "slow" again' }, ['approve', 'activate']);

      const result = await cli('show', `#${request.id}`);

      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`Request #${request.id}`);
      expect(result.stdout).toMatch(/Status:\s+active/);
      expect(result.stdout).toMatch(/Reason:\s+checkout, "slow" again/);
      expect(result.stdout).toMatch(/Approvals:\s+U0APPROVER \(1 required\)/);
      const history = result.stdout.split('History:\n')[1]!.trimEnd().split('\n');
      expect(history.map((line) => line.trim().split(/\s+/).slice(1, 3))).toEqual([
        ['U0REQUESTER', 'requested'],
        ['U0APPROVER', 'approved'],
        ['system', 'rule-requested'],
        ['system', 'activated'],
      ]);
      expect(history[0]).toContain(REQUESTED_JSON);
    });

    it('exits 3 for a request that does not exist', async () => {
      const result = await cli('show', '999');
      expect(result).toMatchObject({ exitCode: 3, stdout: '' });
      expect(result.stderr).toContain('There is no request #999.');
    });
  });

  describe('revoke', () => {
    it('records the operator and the reason, and enqueues the revoke job due now', async () => {
      const request = await seed({}, ['approve', 'activate']);

      const result = await cli('revoke', String(request.id), '--reason', 'incident 4711: contain');

      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(`Revocation of #${request.id} requested by operator:olga`);
      expect((await store.history(request.id)).at(-1)).toMatchObject({
        actor: 'operator:olga',
        type: 'revoke-requested',
        detail: { reason: 'incident 4711: contain' },
      });
      const job = await queue.getJob(`revoke-${request.id}`);
      expect(job?.data).toEqual({ requestId: request.id });
      expect(await job!.getState()).toBe('waiting');
      // The workers do the removal: the request itself is untouched until they run.
      expect((await store.get(request.id))!.status).toBe('active');
    });

    it('with an audit webhook, also queues the delivery of the new event for the bot\'s workers', async () => {
      const request = await seed({}, ['approve', 'activate']);
      env = { ...env, AUDIT_WEBHOOK_URL: 'http://127.0.0.1:9/audit', AUDIT_WEBHOOK_SECRET: 'k' };

      const result = await cli('revoke', String(request.id), '--reason', 'incident 4711: contain');

      expect(result.exitCode).toBe(0);
      const job = await queue.getJob(`audit-${request.id}`);
      expect(job?.data).toEqual({ requestId: request.id });
    });

    it('takes --operator over $USER', async () => {
      const request = await seed({}, ['approve', 'activate']);
      const result = await cli('revoke', String(request.id), '--reason', 'leaver', '--operator', 'sec-oncall');
      expect(result.exitCode).toBe(0);
      expect((await store.history(request.id)).at(-1)!.actor).toBe('operator:sec-oncall');
    });

    it('exits 3 for a request that is not active, recording and enqueuing nothing', async () => {
      const request = await seed({}, ['approve', 'activate', 'expire']);
      const before = (await store.history(request.id)).length;

      const result = await cli('revoke', String(request.id), '--reason', 'too late');

      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain(`#${request.id} is expired, not active`);
      expect(await store.history(request.id)).toHaveLength(before);
      expect(await queue.getJob(`revoke-${request.id}`)).toBeUndefined();
    });

    it('needs a reason (exit 2)', async () => {
      const request = await seed({}, ['approve', 'activate']);
      const result = await cli('revoke', String(request.id));
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('revoke needs --reason');
    });

    it('exits 1 when Redis is unreachable', async () => {
      const request = await seed({}, ['approve', 'activate']);
      env.REDIS_URL = 'redis://127.0.0.1:1';
      const result = await cli('revoke', String(request.id), '--reason', 'redis down');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('Redis did not answer');
    }, 45_000);
  });

  describe('audit', () => {
    it('prints the events since then as CSV with a header row and quoted fields', async () => {
      await seed({ reason: 'old' }, ['approve'], ago(30 * DAY_MS));
      const recent = await seed({ clusterId: 'orders-valkey' }, ['approve'], ago(DAY_MS));
      // A kind this version does not write (another version's), read and exported as it was stored.
      database.sqlite
        .prepare('INSERT INTO events (request_id, at, actor, type, detail) VALUES (?, ?, ?, ?, ?)')
        .run(recent.id, now - DAY_MS / 2, 'operator:olga', 'note', JSON.stringify({ reason: 'a, "quoted"\nnote' }));

      const result = await cli('audit', '--since', '7d', '--format', 'csv');

      expect(result.exitCode).toBe(0);
      expect(parseCsv(result.stdout)).toEqual([
        ['at', 'request', 'cluster', 'actor', 'type', 'detail'],
        [ago(DAY_MS).toISOString(), String(recent.id), 'orders-valkey', 'U0REQUESTER', 'requested', REQUESTED_JSON],
        [ago(DAY_MS).toISOString(), String(recent.id), 'orders-valkey', 'U0APPROVER', 'approved', ''],
        [ago(DAY_MS / 2).toISOString(), String(recent.id), 'orders-valkey', 'operator:olga', 'note', '{"reason":"a, \\"quoted\\"\\nnote"}'],
      ]);
      expect(result.stdout.endsWith('\r\n')).toBe(true);
    });

    it('--unreviewed keeps only the events of break-glass grants no approver has reviewed', async () => {
      await seed({}, ['approve']);
      const unreviewed = await brokenGlass();

      const json = await cli('audit', '--since', '7d', '--format', 'json', '--unreviewed');
      expect(json.exitCode).toBe(0);
      expect(JSON.parse(json.stdout).map((e: { requestId: number; type: string }) => [e.requestId, e.type])).toEqual([
        [unreviewed.id, 'requested'],
        [unreviewed.id, 'break-glass'],
      ]);
    });

    it('prints them as a JSON array, and csv is the default format', async () => {
      const recent = await seed({}, [], ago(2 * 3600_000));
      await seed({}, [], ago(3 * DAY_MS));

      const json = await cli('audit', '--since', '1d', '--format', 'json');
      expect(json.exitCode).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual([
        { at: ago(2 * 3600_000).toISOString(), requestId: recent.id, clusterId: 'orders-redis', actor: 'U0REQUESTER', type: 'requested', detail: REQUESTED },
      ]);

      const csv = await cli('audit', '--since', '1d');
      expect(parseCsv(csv.stdout)).toHaveLength(2);
    });

    it('refuses a missing or malformed --since and an unknown format (exit 2)', async () => {
      for (const args of [['audit'], ['audit', '--since', 'a week'], ['audit', '--since', '7d', '--format', 'xml']]) {
        const result = await cli(...args);
        expect(result.exitCode, args.join(' ')).toBe(2);
        expect(result.stderr).toMatch(/--since|duration|--format must be csv or json/);
      }
    });
  });

  describe('reconcile', () => {
    let ec2: FakeEc2;
    beforeEach(async () => {
      ec2 = await startFakeEc2();
    });
    afterEach(() => ec2.close());

    it('runs one pass against AWS and Redis and prints what it did', async () => {
      const approved = await seed({}, ['approve']);
      const active = await seed({ source: { kind: 'cidr', cidr: '10.1.2.0/24' } }, ['approve', 'activate'], new Date());
      env.AWS_ENDPOINT_URL = ec2.url;

      const result = await cli('reconcile');

      expect(result.stdout).toContain(`Grant jobs requeued: #${approved.id}`);
      expect(result.stdout).toContain(`Revoke jobs checked: #${active.id}`);
      expect(result.stdout).toContain(`Reminder jobs checked: #${active.id}`);
      // EC2 holds no rule at all: the active grant's rule was removed by hand.
      expect(result.stdout).toContain(`Rules removed outside cache-access: #${active.id}`);
      expect(result.stdout).toContain('Reconcile pass complete.');
      expect(result.exitCode).toBe(0);
      expect(await store.get(active.id)).toMatchObject({ status: 'revoked', endedBy: 'aws' });
      expect(await queue.getJob(`grant-${approved.id}`)).toBeDefined();
      expect(ec2.calls.map((call) => call.action)).toContain('DescribeSecurityGroupRules');
      // Without SLACK_BOT_TOKEN nobody is told; the log (stderr) says so.
      expect(result.stderr).toContain('SLACK_BOT_TOKEN is not set');
    });

    it('reports a step it could not run and exits 1 when AWS is unreachable', async () => {
      await seed({}, ['approve', 'activate']);
      env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
      env.AWS_MAX_ATTEMPTS = '1';

      const result = await cli('reconcile');

      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/^Error: list tagged rules \(eu-west-1 with the bot’s own credentials\): /m);
      expect(result.stdout).toContain('Reconcile pass incomplete: 1 step(s) failed.');
    });
  });

  describe('usage', () => {
    it('--help describes the commands and exit codes; each command has its own', async () => {
      const program = await cli('--help');
      expect(program.exitCode).toBe(0);
      for (const command of ['grants', 'show', 'revoke', 'reconcile', 'audit']) expect(program.stdout).toContain(`  ${command}`);
      expect(program.stdout).toContain('3  not found');

      const revoke = await cli('revoke', '--help');
      expect(revoke.exitCode).toBe(0);
      expect(revoke.stdout).toContain('Usage: cache-access revoke <id> --reason');
      expect(revoke.stdout).toContain('--operator');
    });

    it('exits 2 with a message for no command, an unknown command or option, or a bad id', async () => {
      const cases: Array<[string[], string]> = [
        [[], 'A command is required'],
        [['frobnicate'], 'Unknown command "frobnicate"'],
        [['grants', '--colour'], "Unknown option '--colour'"],
        [['show'], 'show needs exactly one request id'],
        [['show', 'abc'], '"abc" is not a request id'],
        [['reconcile', 'now'], 'reconcile takes no arguments'],
      ];
      for (const [args, message] of cases) {
        const result = await cli(...args);
        expect(result.exitCode, args.join(' ')).toBe(2);
        expect(result.stderr).toContain(message);
      }
    });

    it('exits 2 for invalid settings', async () => {
      env.REDIS_URL = 'localhost:6379';
      const result = await cli('grants');
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('REDIS_URL must be a redis:// or rediss:// URL');
    });
  });
});

/** RFC 4180 rows: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), (i += 1);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      (row = []), (field = ''), (i += 1);
    } else field += c;
  }
  return rows;
}
