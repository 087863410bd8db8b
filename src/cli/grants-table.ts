/** Requests as a plain-text table, one row each, columns padded to their widest cell. */
import { describeSource, formatId, type AccessRequest } from '../domain/request.js';
import { formatTime } from './timestamps.js';

const HEADER = ['ID', 'STATUS', 'CLUSTER', 'SOURCE', 'REQUESTER', 'CREATED', 'EXPIRES'];

export function grantsTable(requests: AccessRequest[]): string {
  if (requests.length === 0) return 'No requests match.\n';
  const rows = requests.map((r) => [
    formatId(r.id),
    r.status,
    r.clusterId,
    describeSource(r.source),
    r.requesterName,
    formatTime(r.createdAt),
    formatTime(r.expiresAt),
  ]);
  const widths = HEADER.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [HEADER, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n';
}
