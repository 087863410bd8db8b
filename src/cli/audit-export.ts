/**
 * The audit log as CSV (RFC 4180) or JSON, for spreadsheets and scripts. A detail's keys are printed sorted,
 * so the export is the same bytes from either engine: PostgreSQL's jsonb keeps keys in an order of its own.
 */
import type { AuditFormat } from './arguments.js';
import type { AuditEntry } from '../app/ports.js';

const CSV_COLUMNS = ['at', 'request', 'cluster', 'actor', 'type', 'detail'] as const;

export function exportAudit(entries: AuditEntry[], format: AuditFormat): string {
  const sorted = entries.map((entry) => (entry.detail ? { ...entry, detail: withSortedKeys(entry.detail) } : entry));
  return format === 'json' ? toJson(sorted) : toCsv(sorted);
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

/** A JSON value with the keys of every object in it sorted by code unit (integer-like keys come first in any JS object). */
function withSortedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withSortedKeys) as T;
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, inner]) => [key, withSortedKeys(inner)])) as T;
}
