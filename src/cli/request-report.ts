/** One request and its history as plain text, for `cache-access show`. */
import type { HistoryEvent } from '../app/ports.js';
import { formatDuration } from '../domain/durations.js';
import { describeSource, formatId, type AccessRequest } from '../domain/request.js';
import { formatTime } from './timestamps.js';

export function requestReport(request: AccessRequest, history: HistoryEvent[]): string {
  const fields: Array<[string, string | undefined]> = [
    ['Status', request.status],
    ['Cluster', `${request.clusterId} (${request.engine}, ${request.endpoint}:${request.port})`],
    ['Target group', `${request.targetGroupId} in ${request.vpcId}`],
    ['Source', describeSource(request.source)],
    ['Requester', `${request.requesterName} (${request.requesterId})`],
    ['Reason', request.reason],
    ['Duration', formatDuration(request.durationSeconds)],
    ['Policy rule', request.policyMatch],
    ['Approvals', `${request.approvals.map((a) => a.userId).join(', ') || 'none'} (${request.approvalsRequired} required)`],
    ['Denied by', request.deniedBy?.userId],
    ['Created', formatTime(request.createdAt)],
    ['Approved', request.approvedAt && formatTime(request.approvedAt)],
    ['Activated', request.activatedAt && formatTime(request.activatedAt)],
    ['Expires', request.expiresAt && formatTime(request.expiresAt)],
    ['Ended', request.endedAt && `${formatTime(request.endedAt)}${request.endedBy ? ` by ${request.endedBy}` : ''}`],
    ['Failure', request.failure && `${request.failure.code}: ${request.failure.message}`],
  ];
  const shown = fields.filter((field): field is [string, string] => field[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length)) + 1;
  const lines = [`Request ${formatId(request.id)}`, ...shown.map(([label, value]) => `  ${`${label}:`.padEnd(width)} ${value}`)];
  lines.push('', 'History:');
  for (const event of history) {
    const detail = event.detail ? `  ${JSON.stringify(event.detail)}` : '';
    lines.push(`  ${formatTime(event.at)}  ${event.actor}  ${event.type}${detail}`);
  }
  return lines.join('\n') + '\n';
}
