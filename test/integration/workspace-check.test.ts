/**
 * Requests are served only from the workspace the bot token belongs to (auth.test), or from the
 * teams and enterprises SLACK_ALLOWED_TEAMS lists: the same app installed elsewhere signs its
 * requests with the same secret. Driven through the real HTTP endpoint with signed requests.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { FAKE_TEAM_ID } from '../fakes/fake-slack-server.js';
import { SIGNING_SECRET, startHarness, waitUntil, type BotHarness } from '../support/bot-harness.js';
import { addRedisClusters, SOURCE_GROUP } from '../support/redis-clusters.js';
import { blockActionBody, postToSlackEndpoint, slashCommandBody } from '../support/slack-request.js';

const POLICY = 'clusters: [{ match: "orders-*", approvers: [U0BOB], channel: C0APPROVALS }]';
const OTHER_TEAM = 'T0OTHER01';
const ORG = 'E0ORG0001';
const REFUSED = /^request refused/;

let h: BotHarness;
let logs: Array<Record<string, unknown>>;

async function start(env: Record<string, string> = {}): Promise<void> {
  logs = [];
  h = await startHarness(POLICY, { env, logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }) });
  addRedisClusters(h.aws);
}

afterEach(async () => {
  await h.stop();
});

/** `/cache-access orders-redis …` typed by `userId` in `teamId` (and `enterpriseId`); resolves with the HTTP reply. */
async function commandFrom(teamId: string, userId: string, enterpriseId?: string): Promise<{ status: number; text: string; responseName: string }> {
  const responseName = `cmd-${randomUUID()}`;
  const body = slashCommandBody({ text: `orders-redis ${SOURCE_GROUP} 1h`, userId, responseUrl: h.slack.responseUrl(responseName), teamId, enterpriseId });
  return { ...(await postToSlackEndpoint(h.eventsUrl, SIGNING_SECRET, body)), responseName };
}

function requesters(): string[] {
  return h.query<{ requester_id: string }>('select requester_id from requests order by id').map((r) => r.requester_id);
}

function refusals(): Array<Record<string, unknown>> {
  return logs.filter((line) => REFUSED.test(String(line.msg)));
}

describe('without SLACK_ALLOWED_TEAMS: the bot token’s own workspace', () => {
  test('a command from another team is acknowledged, logged and otherwise ignored', async () => {
    await start();

    const refused = await commandFrom(OTHER_TEAM, 'U0MALLORY');
    expect(refused).toMatchObject({ status: 200, text: '' });
    // A command from our own team afterwards is served; by then the refused one would have been stored first.
    const served = await commandFrom(FAKE_TEAM_ID, 'U0ALICE');
    await h.slack.waitForResponse(served.responseName);

    expect(requesters()).toEqual(['U0ALICE']);
    expect(h.slack.responses.filter((r) => r.name === refused.responseName)).toEqual([]);
    expect(refusals()).toEqual([expect.objectContaining({ level: 40, teamId: OTHER_TEAM, userId: 'U0MALLORY', served: [FAKE_TEAM_ID] })]);
  });

  test('a click on an approval from another team decides nothing', async () => {
    await start();
    await commandFrom(FAKE_TEAM_ID, 'U0ALICE');
    await h.approvalMessage(1);
    const [message] = await waitUntil(() => {
      const rows = h.query<{ channel: string; ts: string }>("select channel, ts from slack_messages where request_id = 1 and kind = 'approval'");
      return rows.length > 0 && rows;
    });

    const body = blockActionBody({
      userId: 'U0BOB',
      actionId: 'approve',
      value: '1',
      messageTs: message!.ts,
      channelId: message!.channel,
      responseUrl: h.slack.responseUrl(`click-${randomUUID()}`),
      teamId: OTHER_TEAM,
    });
    expect((await postToSlackEndpoint(h.eventsUrl, SIGNING_SECRET, body)).status).toBe(200);
    await waitUntil(() => refusals().length > 0, 5_000, 'the refusal to be logged');

    expect(h.query('select status from requests where id = 1')).toEqual([{ status: 'pending' }]);
    expect(h.query('select count(*) as n from approvals')).toEqual([{ n: 0 }]);
    expect(refusals()).toEqual([expect.objectContaining({ teamId: OTHER_TEAM, userId: 'U0BOB' })]);
  });
});

describe('with SLACK_ALLOWED_TEAMS', () => {
  test('a listed team is served, and the list replaces the token’s own workspace', async () => {
    await start({ SLACK_ALLOWED_TEAMS: OTHER_TEAM });

    const own = await commandFrom(FAKE_TEAM_ID, 'U0ALICE');
    const listed = await commandFrom(OTHER_TEAM, 'U0MALLORY');
    await h.slack.waitForResponse(listed.responseName);

    expect(own).toMatchObject({ status: 200, text: '' });
    expect(requesters()).toEqual(['U0MALLORY']);
    expect(refusals()).toEqual([expect.objectContaining({ teamId: FAKE_TEAM_ID, served: [OTHER_TEAM] })]);
  });

  test('a listed enterprise serves every team in it, and no team outside it', async () => {
    await start({ SLACK_ALLOWED_TEAMS: ORG });

    const outside = await commandFrom(FAKE_TEAM_ID, 'U0MALLORY');
    const inOrg = await commandFrom(OTHER_TEAM, 'U0ALICE', ORG);
    await h.slack.waitForResponse(inOrg.responseName);

    expect(outside).toMatchObject({ status: 200, text: '' });
    expect(requesters()).toEqual(['U0ALICE']);
    expect(refusals()).toEqual([expect.objectContaining({ teamId: FAKE_TEAM_ID, served: [ORG] })]);
  });
});
