/**
 * Button action ids, shared by every surface that shows them (messages, the Home tab) so one listener
 * per action serves them all. The value of each button is the request id.
 */
export const ACTION_IDS = {
  approve: 'approve',
  deny: 'deny',
  revoke: 'revoke',
  extend: 'extend',
  cancel: 'cancel',
} as const;
