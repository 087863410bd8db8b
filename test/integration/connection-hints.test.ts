/**
 * After the grant, through the real HTTP endpoint: the requester's DM says how to connect (endpoint,
 * port, TLS, AUTH or RBAC, a ready command line), and at revocation both the requester and the
 * approvers are told that connections already open may survive the rule's removal.
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { RecordedCall } from '../fakes/fake-slack-server.js';
import { startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';

const POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "*"
    approvers: [U0BOB]
    channel: C0APPROVALS
`;
const TARGET = 'sg-0e0000000000000e1';
const SOURCE = 'sg-0e0000000000000e2';

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  h.aws.addGroup(TARGET);
  h.aws.addGroup(SOURCE);
  h.aws.addReplicationGroup({ id: 'secure-redis', engine: 'redis', port: 6379, securityGroupIds: [TARGET], tls: true, auth: 'auth-token', clusterMode: true });
  h.aws.addReplicationGroup({ id: 'rbac-redis', engine: 'redis', port: 6379, securityGroupIds: [TARGET], tls: true, auth: 'rbac' });
  h.aws.addReplicationGroup({ id: 'plain-valkey', engine: 'valkey', port: 6380, securityGroupIds: [TARGET], tls: false });
});

afterEach(async () => {
  await h.stop();
});

const isDm = (call: RecordedCall) => call.method === 'chat.postMessage' && String(call.body.channel).startsWith('D');

async function grantAndReadDm(clusterId: string, duration = '1h'): Promise<string> {
  await h.command(`${clusterId} ${SOURCE} ${duration}`, 'U0ALICE');
  await h.click('approve', 1, 'U0BOB');
  const dm = await h.slack.waitFor((call) => isDm(call) && JSON.stringify(call.body).includes('Access is open'));
  return JSON.stringify(dm.body.blocks);
}

test('a TLS cluster with an AUTH token in cluster mode: redis-cli with --tls, -c and --askpass', async () => {
  const shown = await grantAndReadDm('secure-redis');
  const endpoint = 'secure-redis.abc123.ng.0001.euw1.cache.amazonaws.com';
  expect(shown).toContain(`*How to connect:* \`${endpoint}:6379\` · TLS required (in-transit encryption) · AUTH token required`);
  expect(shown).toContain(`\`\`\`redis-cli -h ${endpoint} -p 6379 --tls -c --askpass\`\`\``);
});

test('an RBAC cluster: the user is asked for by name', async () => {
  const shown = await grantAndReadDm('rbac-redis');
  expect(shown).toContain('RBAC: sign in with your ElastiCache user and password');
  expect(shown).toContain('--tls --user YOUR_USER --askpass```');
});

test('a Valkey cluster without TLS or AUTH: a plain valkey-cli line', async () => {
  const shown = await grantAndReadDm('plain-valkey');
  const endpoint = 'plain-valkey.abc123.ng.0001.euw1.cache.amazonaws.com';
  expect(shown).toContain(`\`${endpoint}:6380\` · no TLS · no AUTH`);
  expect(shown).toContain(`\`\`\`valkey-cli -h ${endpoint} -p 6380\`\`\``);
  expect(shown).not.toContain('--tls');
});

test('at expiry, the requester and the approvers learn that open connections may survive', async () => {
  await grantAndReadDm('plain-valkey', '1s');
  await waitUntil(() => h.query<{ status: string }>('select status from requests')[0]?.status === 'expired', 10_000, 'expiry');
  const note = 'may stay open after its removal (AWS connection tracking)';
  const dm = await h.slack.waitFor((call) => isDm(call) && JSON.stringify(call.body).includes('expired at'));
  expect(JSON.stringify(dm.body.blocks)).toContain(note);
  const approval = await waitUntil(() =>
    h.slack.callsTo('chat.update').find((call) => call.body.channel === 'C0APPROVALS' && JSON.stringify(call.body.blocks).includes('expired at')),
  );
  expect(JSON.stringify(approval.body.blocks)).toContain(note);
});
