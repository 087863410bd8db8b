/** Resolves the approvers a policy names (users and user groups) to Slack user ids. */
import type { webApi } from '@slack/bolt';
import type { PeopleDirectory } from '../../app/ports.js';
import { InvalidInputError, NotFoundError } from '../../domain/errors.js';
import { toSlackUpstreamError } from './notifier.js';

export class SlackPeopleDirectory implements PeopleDirectory {
  private readonly client: webApi.WebClient;

  constructor({ client }: { client: webApi.WebClient }) {
    this.client = client;
  }

  /** User ids pass through, user groups expand to their members; the first mention of a user wins. */
  async expandApprovers(principals: string[]): Promise<string[]> {
    const lists = await Promise.all(principals.map((principal) => this.usersOf(principal)));
    return [...new Set(lists.flat())];
  }

  private async usersOf(principal: string): Promise<string[]> {
    if (/^[UW]/.test(principal)) return [principal];
    if (!/^S/.test(principal)) {
      throw new InvalidInputError(`"${principal}" is neither a Slack user id (U…/W…) nor a user group id (S…).`);
    }
    try {
      const result = await this.client.usergroups.users.list({ usergroup: principal });
      return result.users ?? [];
    } catch (error) {
      const upstream = toSlackUpstreamError(error, 'usergroups.users.list');
      if (upstream.upstreamCode === 'no_such_subteam') {
        throw new NotFoundError(`Slack has no user group ${principal}; check the approvers in the policy file.`);
      }
      throw upstream;
    }
  }
}
