/**
 * What the use cases get for Slack when SLACK_BOT_TOKEN is unset (the admin CLI): every call fails,
 * as it would with Slack down. The state change that led to it is already saved; applyEffects logs the
 * notification that could not be sent. A no-op would have to invent message refs, which the bot
 * would later try to update.
 */
import type { Notifier, PeopleDirectory } from '../app/ports.js';
import { UpstreamError } from '../domain/errors.js';

const unavailable = async (): Promise<never> => {
  throw new UpstreamError('slack', 'not_configured', 'SLACK_BOT_TOKEN is not set, so nobody was told in Slack.', false);
};

export const notifierWithoutSlack: Notifier = {
  requestApproval: unavailable,
  refreshMessages: unavailable,
  tellRequester: unavailable,
  requestExtension: unavailable,
  refreshExtension: unavailable,
  postToThreads: unavailable,
};

export const peopleWithoutSlack: PeopleDirectory = { expandApprovers: unavailable };
