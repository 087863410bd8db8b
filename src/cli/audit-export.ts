/** The audit log as CSV (RFC 4180) or JSON, for spreadsheets and scripts. */
import type { AuditFormat } from './arguments.js';
import type { AuditEntry } from '../app/ports.js';

const CSV_COLUMNS = ['at', 'request', 'cluster', 'actor', 'type', 'detail'] as const;

export function exportAudit(entries: AuditEntry[], format: AuditFormat): string {
  return format === 'json' ? toJson(entries) : toCsv(entries);
}

function toJson(entries: AuditEntry[]): string {
  return `${JSON.stringify(entries, null, 2)}\n`;
}

function toCsv(entries: AuditEntry[]): string {
  const rows = entries.map((e) => [
    e.at.toISOString(),
    String(e.requestId),
    e.clusterId,
    e.actor,
    e.type,
    e.detail ? JSON.stringify(e.detail) : '',
  ]);
  // CRLF line ends, as RFC 4180 specifies and spreadsheet imports expect.
  return [[...CSV_COLUMNS], ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Quotes a field holding a comma, quote or line break, doubling its quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
