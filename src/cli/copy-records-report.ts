/** What copy-records did: the rows per table on both sides, and whether the copy stands. */
import type { CopyOutcome } from '../adapters/db/copy/copy-records.js';
import { formatId } from '../domain/request.js';
import { textTable } from './text-table.js';

const HEADER = ['TABLE', 'SQLITE', 'POSTGRESQL', ''];

/** `target` is the URL as it may be printed (without its password). */
export function copyRecordsReport(outcome: CopyOutcome, source: string, target: string): string {
  const rows = outcome.counts.map(({ table, sqlite, postgres }) => [table, String(sqlite), String(postgres), sqlite === postgres ? '' : 'differs']);
  const table = textTable(HEADER, rows, { rightAligned: [1, 2] });
  if (!outcome.copied) {
    return `${table}\nThe row counts differ: the copy was rolled back, and ${target} holds no record of ${source}.\n`;
  }
  const total = outcome.counts.reduce((sum, count) => sum + count.postgres, 0);
  return `${table}\nCopied ${total} rows from ${source} to ${target}; the counts match. The next request will be ${formatId(outcome.nextRequestId)}.\n`;
}
