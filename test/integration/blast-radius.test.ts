/**
 * What a grant opens, through the real HTTP endpoint: the approval message names the account and
 * region and everything else the target group protects on that port (other clusters, other network
 * interfaces), warns when the group is nearly full; requireDedicatedGroup and the rule quota refuse.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ACCOUNT } from '../fakes/aws-account.js';
import { startHarness, type BotHarness } from '../support/bot-harness.js';

const POLICY = `
clusters:
  - match: "strict-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    requireDedicatedGroup: true
  - match: "small-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    ruleQuota: 20
  - match: "*"
    approvers: [U0BOB]
    channel: C0APPROVALS
    region: eu-west-1
`;
const SHARED = 'sg-0c0000000000000c1';
const DEDICATED = 'sg-0c0000000000000c2';
const SMALL = 'sg-0c0000000000000c3';
const SOURCE = 'sg-0a1b2c3d4e5f60789';

let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(POLICY);
  for (const group of [SHARED, DEDICATED, SMALL, SOURCE]) h.aws.addGroup(group);
  h.aws.addReplicationGroup({ id: 'orders-redis', engine: 'redis', port: 6379, securityGroupIds: [SHARED] });
  h.aws.addReplicationGroup({ id: 'strict-redis', engine: 'redis', port: 6379, securityGroupIds: [SHARED] });
  h.aws.addReplicationGroup({ id: 'sessions-redis', engine: 'redis', port: 6379, securityGroupIds: [SHARED] });
  // In the group, but listening on another port: the rule does not open it.
  h.aws.addReplicationGroup({ id: 'metrics-valkey', engine: 'valkey', port: 6380, securityGroupIds: [SHARED] });
  h.aws.addReplicationGroup({ id: 'lonely-redis', engine: 'redis', port: 6379, securityGroupIds: [DEDICATED] });
  h.aws.addReplicationGroup({ id: 'small-redis', engine: 'redis', port: 6379, securityGroupIds: [SMALL] });
  h.aws.addNetworkInterface('eni-0aaa0000000000001', [SHARED], 'Primary network interface of i-0abc (bastion)');
  h.aws.addNetworkInterface('eni-0aaa0000000000002', [SHARED, SMALL], 'batch worker');
  h.aws.addNetworkInterface('eni-0aaa0000000000003', [SHARED], '');
});

afterEach(async () => {
  await h.stop();
});

async function approvalText(command: string): Promise<string> {
  await h.command(command, 'U0ALICE');
  return JSON.stringify((await h.approvalMessage(1)).body.blocks);
}

async function refusal(text: string): Promise<string> {
  const reply = await h.command(text, 'U0ALICE');
  const answer = reply.text ? JSON.parse(reply.text) : (await h.slack.waitForResponse(reply.responseName)).body;
  expect(answer.response_type).toBe('ephemeral');
  expect(h.query('select count(*) as n from requests')).toEqual([{ n: 0 }]);
  expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
  return String(answer.text);
}

describe('the approval message says exactly what the rule opens', () => {
  test('other clusters on the port and the other network interfaces, by description', async () => {
    const shown = await approvalText(`orders-redis ${SOURCE} 1h`);
    expect(shown).toContain(
      `\`${SHARED}\` also protects \`sessions-redis\`, \`strict-redis\` and 3 other network interfaces (Primary network interface of i-0abc (bastion); batch worker; eni-0aaa0000000000003)`,
    );
    expect(shown).not.toContain('metrics-valkey');
    // The cluster's own nodes are what the request is for, not collateral.
    expect(shown).not.toContain('ElastiCache orders-redis');
    const [lookup] = h.aws.callsOf('DescribeNetworkInterfaces') as any[];
    expect(lookup.Filters).toEqual([{ Name: 'group-id', Values: [SHARED] }]);
  });

  test('a dedicated group is said to protect nothing else', async () => {
    const shown = await approvalText(`lonely-redis ${SOURCE} 1h`);
    expect(shown).toContain(`\`${DEDICATED}\` protects nothing else: the rule opens \`lonely-redis\` only.`);
  });

  test('names the account and the region, and looks the cluster up there', async () => {
    const shown = await approvalText(`lonely-redis ${SOURCE} 1h`);
    expect(shown).toContain(`*Account / region*\\n\`${ACCOUNT}\` / \`eu-west-1\``);
    const lookups = h.aws.origins.filter((o) => o.action === 'DescribeReplicationGroups');
    expect(lookups.map((o) => o.region)).toEqual(['eu-west-1']);
  });
});

describe('requireDedicatedGroup', () => {
  test('refuses a group that protects anything else, saying what', async () => {
    const text = await refusal(`strict-redis ${SOURCE} 1h`);
    expect(text).toContain(`${SHARED} also protects orders-redis, sessions-redis and 3 other network interfaces`);
    expect(text).toContain('the policy requires a security group of its own for strict-redis');
  });
});

describe('rule quota headroom', () => {
  // small-*: ruleQuota 20, so cache-access fills the group up to 15 rules.
  test('refuses when a new rule would not fit', async () => {
    h.aws.fillRules(SMALL, 15);
    const text = await refusal(`small-redis ${SOURCE} 1h`);
    expect(text).toContain(`${SMALL} already has 15 inbound rules, and cache-access fills it only up to 15 (ruleQuota 20 minus 5 kept free)`);
  });

  test('shows the headroom when it is low', async () => {
    h.aws.fillRules(SMALL, 11);
    const shown = await approvalText(`small-redis ${SOURCE} 1h`);
    expect(shown).toContain(`Only 3 more inbound rules fit in \`${SMALL}\` after this one`);
  });

  test('says nothing about headroom when there is plenty', async () => {
    h.aws.fillRules(DEDICATED, 11);
    const shown = await approvalText(`lonely-redis ${SOURCE} 1h`);
    expect(shown).not.toContain('more inbound rule');
  });
});
