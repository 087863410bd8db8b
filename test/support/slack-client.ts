import { LogLevel, webApi } from '@slack/bolt';
import type { FakeSlack } from '../fakes/fake-slack-server.js';

// Slack's SDKs log the error details they receive; the tests assert on them instead.
export const quietSlackLogger: webApi.Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/** A WebClient on the fake Web API that fails at once: no retries, and a rate limit is an error. */
export function fakeSlackClient(fake: FakeSlack): webApi.WebClient {
  return new webApi.WebClient('xoxb-test', {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: quietSlackLogger,
  });
}
