/** The approval message's blast-radius lines stay readable and within Slack's limits however much a group protects. */
import { expect, test } from 'vitest';
import type { GrantFacts } from '../../src/app/ports.js';
import { approvalMessage } from '../../src/adapters/slack/blocks.js';
import type { AccessRequest } from '../../src/domain/request.js';
import { validateBlocks } from '../fakes/fake-slack-server.js';

const T0 = new Date('2026-01-01T10:00:00Z');
const pending: AccessRequest = {
  id: 9,
  status: 'pending',
  requesterId: 'U0REQUEST1',
  requesterName: 'alice',
  clusterId: 'orders-redis',
  engine: 'redis',
  endpoint: 'orders-redis.abc123.ng.0001.euw1.cache.amazonaws.com',
  port: 6379,
  vpcId: 'vpc-0123456789abcdef0',
  targetGroupId: 'sg-0aaaaaaaaaaaaaaaa',
  source: { kind: 'security-group', groupId: 'sg-0bbbbbbbbbbbbbbbb' },
  durationSeconds: 3600,
  reason: '',
  policyMatch: '*',
  approvalsRequired: 1,
  approvals: [],
  createdAt: T0,
  version: 1,
};

function withFacts(exposure: GrantFacts['exposure'], headroom?: number) {
  const facts: GrantFacts = {
    accountId: '123456789012',
    region: 'eu-west-1',
    exposure,
    ...(headroom === undefined ? {} : { headroom }),
    connection: { tls: true, auth: 'none', clusterMode: false },
  };
  return { ...pending, facts };
}

test('hundreds of clusters and long interface descriptions: ten of each listed, the rest counted, the message stays valid', () => {
  const otherInterfaces = Array.from({ length: 500 }, (_, i) => `<worker ${i}> ${'x'.repeat(250)}`);
  const otherClusters = Array.from({ length: 200 }, (_, i) => `cluster-${i}`);
  const { blocks } = approvalMessage(withFacts({ otherClusters, otherInterfaces }, 1));
  const shown = JSON.stringify(blocks);
  expect(validateBlocks(blocks)).toEqual([]);
  expect(shown).toContain('also protects `cluster-0`, `cluster-1`');
  expect(shown).toContain('`cluster-9`, and 190 more and 500 other network interfaces (&lt;worker 0&gt;');
  expect(shown).toContain('&lt;worker 9&gt;');
  expect(shown).not.toContain('worker 10&gt;');
  expect(shown).toContain('; and 490 more)');
  expect(shown).toContain('Only 1 more inbound rule fits');
});

test('the descriptions are escaped: an interface cannot mention or link', () => {
  const shown = JSON.stringify(approvalMessage(withFacts({ otherClusters: [], otherInterfaces: ['<!channel> & <https://x.example|y>'] })).blocks);
  expect(shown).toContain('1 network interface (&lt;!channel&gt; &amp; &lt;https://x.example|y&gt;)');
  expect(shown).not.toContain('<!channel>');
});

test('a request recorded without facts shows no blast radius rather than a wrong one', () => {
  const shown = JSON.stringify(approvalMessage(pending).blocks);
  expect(shown).not.toContain('protects');
  expect(shown).not.toContain('Account / region');
});

test('the Approve confirmation says how much else the rule opens', () => {
  const blocks = approvalMessage(withFacts({ otherClusters: ['sessions-redis'], otherInterfaces: ['bastion', 'batch'] })).blocks;
  expect(JSON.stringify(blocks)).toContain('It also opens 3 other cluster(s) and network interface(s) in that group.');
  expect(JSON.stringify(approvalMessage(withFacts({ otherClusters: [], otherInterfaces: [] })).blocks)).not.toContain('also opens');
});
