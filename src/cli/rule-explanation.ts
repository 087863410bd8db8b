/** `cache-access policy explain` as lines an operator can read. */
import type { Answer, NamedPrincipal, RuleExplanation } from '../app/explain-rule.js';
import { formatDuration } from '../domain/durations.js';
import type { ClusterPolicy } from '../policy.js';

export function ruleExplanationText({ clusterId, tried, decided }: RuleExplanation): string {
  const lines = [`Cluster ${clusterId}`, 'Rules tried, in order (first match wins):'];
  for (const { index, match, matched } of tried) lines.push(`  clusters.${index}  ${match}  ${matched ? 'matches' : 'no match'}`);
  if (!decided) {
    lines.push('No rule matches: this cluster cannot be requested.');
    return lines.join('\n') + '\n';
  }
  const { rule, index, approvers, tagApprovers, autoApproveRequesters, breakGlassRequesters, requester } = decided;
  lines.push(`Decided by clusters.${index} (${rule.match}).`, '');
  lines.push(`Approvers: ${principalsText(approvers)}`);
  if (tagApprovers) {
    lines.push(
      'unavailable' in tagApprovers
        ? `  from the cluster's cache-access:approvers tag: not read (${tagApprovers.unavailable}); the approvers above still count`
        : `  from the cluster's cache-access:approvers tag: ${principalsText(tagApprovers.principals) || 'none'}${tagApprovers.ignored.length ? ` (ignored, not Slack ids: ${tagApprovers.ignored.join(', ')})` : ''}`,
    );
  }
  lines.push(
    `Approvals needed: ${rule.approvals} distinct approver(s); one Deny ends a request`,
    `Approval request goes to: ${rule.channel ? `channel ${rule.channel}` : "each approver's DMs"}`,
    `Duration: default ${formatDuration(rule.duration)}, from ${formatDuration(rule.minDuration)} to ${formatDuration(rule.maxDuration)}; at most ${formatDuration(rule.maxTotal)} in total with extensions`,
    `Pending requests time out after ${formatDuration(rule.pendingTimeout)}; reminder ${formatDuration(rule.remindBefore)} before expiry`,
    `Reason: ${reasonText(rule)}`,
    `Self-approval: ${rule.selfApproval ? 'allowed (an approver may approve their own request)' : 'not allowed'}`,
    `Auto-approval: ${rule.autoApprove ? `requests of at most ${formatDuration(rule.autoApprove.maxDuration)} by ${principalsText(autoApproveRequesters)}` : 'none'}`,
    `Break-glass: ${breakGlassText(rule, breakGlassRequesters)}`,
  );
  if (requester) {
    lines.push(
      '',
      `Requester ${requester.id}:`,
      `  approver: ${answerText(requester.isApprover)}`,
      `  may approve their own request: ${answerText(requester.maySelfApprove)}`,
      `  auto-approved: ${answerText(requester.autoApproved)}${requester.autoApproved === 'yes' ? ` (requests of at most ${formatDuration(rule.autoApprove!.maxDuration)})` : ''}`,
      `  may break glass: ${answerText(requester.mayBreakGlass)}`,
    );
  }
  return lines.join('\n') + '\n';
}

function breakGlassText(rule: ClusterPolicy, requesters: NamedPrincipal[] | undefined): string {
  const glass = rule.breakGlass;
  if (!glass || !requesters) return 'not allowed';
  const notify = glass.notify ? `, channel ${glass.notify} told` : '';
  return `${principalsText(requesters)} may open up to ${formatDuration(glass.maxDuration)} at once without approval, ${glass.perDay} per person in 24 h${notify}; an approver reviews it afterwards`;
}

function reasonText(rule: ClusterPolicy): string {
  if (rule.reasonPattern) {
    const link = rule.reasonLink ? `, linked as ${rule.reasonLink}` : '';
    return `must contain a ticket matching ${rule.reasonPattern} (e.g. "${rule.reasonExample}")${link}`;
  }
  return rule.requireReason ? 'required' : 'optional';
}

function principalsText(principals: NamedPrincipal[]): string {
  return principals
    .map((p) =>
      p.members ? `${p.id} (user group: ${p.members.join(', ') || 'no members'})` : p.membersUnknown ? `${p.id} (user group; members not looked up: ${p.membersUnknown})` : p.id,
    )
    .join(', ');
}

function answerText(answer: Answer): string {
  return answer === 'unknown' ? 'unknown (depends on a user group or tag that could not be read)' : answer;
}
