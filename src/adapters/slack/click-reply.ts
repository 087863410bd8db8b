import type { BlockButtonAction, RespondFn, webApi } from '@slack/bolt';

/**
 * Tells the person who clicked a button something only they should see. A click in a message
 * carries a response_url (an ephemeral reply beside the message); a click in the Home tab does
 * not, so the answer goes to their DM with the app instead of being lost.
 */
export async function replyToClick(
  { body, respond, client }: { body: BlockButtonAction; respond: RespondFn; client: webApi.WebClient },
  text: string,
): Promise<void> {
  if (body.response_url) {
    await respond({ response_type: 'ephemeral', replace_original: false, text });
    return;
  }
  await client.chat.postMessage({ channel: body.user.id, text });
}
