/** The audit export prints a detail's keys sorted, whatever order the engine returned them in. */
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/app/ports.js';
import { exportAudit } from '../../src/cli/audit-export.js';

const entry = (detail: Record<string, unknown>): AuditEntry => ({
  at: new Date('2026-11-02T09:15:30.123Z'),
  requestId: 42,
  clusterId: 'orders-redis',
  actor: 'U0ALICE',
  type: 'requested',
  detail,
});

// As written, and as PostgreSQL's jsonb gives the same object back (shorter keys first), nested ones too.
const written = entry({ durationSeconds: 3600, reason: 'INC-7', ticket: { url: 'https://t.example/INC-7', id: 'INC-7' }, sources: [{ z: 1, a: 2 }, 'b', 'a'] });
const fromJsonb = entry({ reason: 'INC-7', ticket: { id: 'INC-7', url: 'https://t.example/INC-7' }, sources: [{ a: 2, z: 1 }, 'b', 'a'], durationSeconds: 3600 });

describe('exportAudit', () => {
  it('prints the same CSV and JSON for the same detail with its keys in another order, keys sorted at every depth', () => {
    const csv = exportAudit([written], 'csv');
    expect(exportAudit([fromJsonb], 'csv')).toBe(csv);
    expect(exportAudit([fromJsonb], 'json')).toBe(exportAudit([written], 'json'));
    expect(csv.split('\r\n')[1]).toBe(
      '2026-11-02T09:15:30.123Z,42,orders-redis,U0ALICE,requested,' +
        '"{""durationSeconds"":3600,""reason"":""INC-7"",""sources"":[{""a"":2,""z"":1},""b"",""a""],""ticket"":{""id"":""INC-7"",""url"":""https://t.example/INC-7""}}"',
    );
  });

  it('leaves an event without a detail without one', () => {
    const { detail: _, ...bare } = entry({});
    expect(exportAudit([bare], 'csv').split('\r\n')[1]).toBe('2026-11-02T09:15:30.123Z,42,orders-redis,U0ALICE,requested,');
    expect(JSON.parse(exportAudit([bare], 'json'))).toEqual([{ ...bare, at: '2026-11-02T09:15:30.123Z' }]);
  });
});
