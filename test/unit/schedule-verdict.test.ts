import { expect, test } from 'vitest';
import { judgeSchedule, MAX_OVERDUE_MARGIN_MS, type ScheduleSight, type ScheduleVerdict } from '../../src/adapters/queue/schedule-verdict.js';

// Times relative to an arbitrary instant: the verdict depends only on differences.
const NOW = 1_000_000_000;
const MINUTE = 60_000;
const MARGIN = MAX_OVERDUE_MARGIN_MS;
const idle = (everyMs: number, lastPassEndedMs?: number): ScheduleSight => ({ nowMs: NOW, everyMs, passRunning: false, lastPassEndedMs });
const overdue = (dueAt: number): ScheduleVerdict => ({ kind: 'overdue', dueAt, lateMs: NOW - dueAt });

test.each<[string, { next?: number | null } | undefined, ScheduleSight, ScheduleVerdict]>([
  ['no scheduler', undefined, idle(MINUTE), { kind: 'missing' }],
  ['a scheduler without a next run', { next: null }, idle(MINUTE), { kind: 'missing' }],
  ['a scheduler whose next-run time is absent', {}, idle(MINUTE), { kind: 'missing' }],
  ['a scheduler missing while a pass runs', undefined, { ...idle(MINUTE), passRunning: true }, { kind: 'missing' }],
  ['next run still to come', { next: NOW + 30_000 }, idle(MINUTE), { kind: 'ok' }],
  ['next run due this instant', { next: NOW }, idle(MINUTE), { kind: 'ok' }],
  ['late by exactly the margin', { next: NOW - MARGIN }, idle(MINUTE), { kind: 'ok' }],
  ['late by just over the margin', { next: NOW - MARGIN - 1 }, idle(MINUTE), overdue(NOW - MARGIN - 1)],
  ['late by a whole interval', { next: NOW - MINUTE }, idle(MINUTE), overdue(NOW - MINUTE)],
  ['short interval: late by less than the interval', { next: NOW - 900 }, idle(1_000), { kind: 'ok' }],
  ['short interval: late by more than the interval', { next: NOW - 1_001 }, idle(1_000), overdue(NOW - 1_001)],
  ['late by a whole interval, but this process’s pass still runs', { next: NOW - MINUTE }, { ...idle(MINUTE), passRunning: true }, { kind: 'ok' }],
  ['late by a whole interval, and this process’s pass ended within the margin', { next: NOW - MINUTE }, idle(MINUTE, NOW - MARGIN), { kind: 'ok' }],
  ['late by a whole interval, and this process’s pass ended longer ago than the margin', { next: NOW - MINUTE }, idle(MINUTE, NOW - MARGIN - 1), overdue(NOW - MINUTE)],
  ['late by just over the margin, the last pass having ended before the run was due', { next: NOW - MARGIN - 1 }, idle(MINUTE, NOW - MINUTE), overdue(NOW - MARGIN - 1)],
])('%s', (_case, scheduler, sight, verdict) => {
  expect(judgeSchedule(scheduler, sight)).toEqual(verdict);
});
