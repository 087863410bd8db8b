import { expect, test } from 'vitest';
import { judgeSchedule, MAX_OVERDUE_MARGIN_MS, type ScheduleVerdict } from '../../src/adapters/queue/schedule-verdict.js';

// Times relative to an arbitrary instant: the verdict depends only on differences.
const NOW = 1_000_000_000;
const MINUTE = 60_000;

test.each<[string, { next?: number | null } | undefined, number, ScheduleVerdict]>([
  ['no scheduler', undefined, MINUTE, { kind: 'missing' }],
  ['a scheduler without a next run', { next: null }, MINUTE, { kind: 'missing' }],
  ['a scheduler whose next-run time is absent', {}, MINUTE, { kind: 'missing' }],
  ['next run still to come', { next: NOW + 30_000 }, MINUTE, { kind: 'on-time' }],
  ['next run due this instant', { next: NOW }, MINUTE, { kind: 'on-time' }],
  ['next run late by exactly the margin', { next: NOW - MAX_OVERDUE_MARGIN_MS }, MINUTE, { kind: 'on-time' }],
  ['next run late by just over the margin', { next: NOW - MAX_OVERDUE_MARGIN_MS - 1 }, MINUTE, { kind: 'overdue', dueAt: NOW - MAX_OVERDUE_MARGIN_MS - 1, lateMs: MAX_OVERDUE_MARGIN_MS + 1 }],
  ['next run late by a whole interval', { next: NOW - MINUTE }, MINUTE, { kind: 'overdue', dueAt: NOW - MINUTE, lateMs: MINUTE }],
  ['short interval: late by less than the interval', { next: NOW - 900 }, 1_000, { kind: 'on-time' }],
  ['short interval: late by more than the interval', { next: NOW - 1_001 }, 1_000, { kind: 'overdue', dueAt: NOW - 1_001, lateMs: 1_001 }],
])('%s', (_case, scheduler, everyMs, verdict) => {
  expect(judgeSchedule(scheduler, NOW, everyMs)).toEqual(verdict);
});
