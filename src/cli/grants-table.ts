/** Requests as a plain-text table, one row each. */
import { describeSource, formatId, type AccessRequest } from '../domain/request.js';
import { textTable } from './text-table.js';
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
  return textTable(HEADER, rows);
}
