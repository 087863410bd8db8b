/** What copy-records prints: the counts per table, and whether the copy stands. */
import { describe, expect, it } from 'vitest';
import { copyRecordsReport } from '../../src/cli/copy-records-report.js';

const TARGET = 'postgres://app:***@db/records';

describe('copyRecordsReport', () => {
  it('prints the counts as a table and the next request id when they match', () => {
    const counts = [
      { table: 'requests', sqlite: 10000, postgres: 10000 },
      { table: 'events', sqlite: 7, postgres: 7 },
    ];
    expect(copyRecordsReport({ copied: true, counts, nextRequestId: 10001 }, '/data/cache-access.db', TARGET)).toBe(
      [
        'TABLE     SQLITE  POSTGRESQL',
        'requests   10000       10000',
        'events         7           7',
        '',
        'Copied 10007 rows from /data/cache-access.db to postgres://app:***@db/records; the counts match. The next request will be #10001.',
        '',
      ].join('\n'),
    );
  });

  it('marks the tables whose counts differ and says nothing was kept', () => {
    const counts = [
      { table: 'requests', sqlite: 3, postgres: 3 },
      { table: 'events', sqlite: 9, postgres: 8 },
    ];
    const report = copyRecordsReport({ copied: false, counts }, '/data/cache-access.db', TARGET);
    expect(report.split('\n').slice(0, 3)).toEqual(['TABLE     SQLITE  POSTGRESQL', 'requests       3           3', 'events         9           8  differs']);
    expect(report).toContain(`the copy was rolled back, and ${TARGET} holds no record of /data/cache-access.db`);
  });
});
