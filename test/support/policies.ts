/** Policies several bot tests share. */

/** orders-* clusters, approved by U0BOB alone in channel C0APPROVALS; grants as short as 1 s. */
export const ORDERS_POLICY = `
defaults:
  minDuration: 1s
clusters:
  - match: "orders-*"
    approvers: [U0BOB]
    channel: C0APPROVALS
`;
