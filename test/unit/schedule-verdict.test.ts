import { expect, test } from 'vitest';
import { judgeSchedule, OVERDUE_MARGIN_MS, type ScheduleSight, type ScheduleVerdict } from '../../src/adapters/queue/schedule-verdict.js';

// Times relative to an arbitrary instant: the verdict depends only on differences.
const NOW = 1_000_000_000;
const MINUTE = 60_000;
const MARGIN = OVERDUE_MARGIN_MS;
const idle = (lastPassEndedMs?: number): ScheduleSight => ({ nowMs: NOW, passRunning: false, lastPassEndedMs });
const overdue = (dueAt: number): ScheduleVerdict => ({ kind: 'overdue', dueAt, lateMs: NOW - dueAt });

test.each<[string, { next?: number | null } | undefined, ScheduleSight, ScheduleVerdict]>([
  ['no scheduler', undefined, idle(), { kind: 'missing' }],
  ['a scheduler without a next run', { next: null }, idle(), { kind: 'missing' }],
  ['a scheduler whose next-run time is absent', {}, idle(), { kind: 'missing' }],
  ['a scheduler missing while a pass runs', undefined, { ...idle(), passRunning: true }, { kind: 'missing' }],
  ['next run still to come', { next: NOW + 30_000 }, idle(), { kind: 'ok' }],
  ['next run due this instant', { next: NOW }, idle(), { kind: 'ok' }],
  ['late by exactly the margin', { next: NOW - MARGIN }, idle(), { kind: 'ok' }],
  ['late by just over the margin', { next: NOW - MARGIN - 1 }, idle(), overdue(NOW - MARGIN - 1)],
  ['late by a whole interval', { next: NOW - MINUTE }, idle(), overdue(NOW - MINUTE)],
  ['late by a whole interval, but this process’s pass still runs', { next: NOW - MINUTE }, { ...idle(), passRunning: true }, { kind: 'ok' }],
  ['late by a whole interval, and this process’s pass ended within the margin', { next: NOW - MINUTE }, idle(NOW - MARGIN), { kind: 'ok' }],
  ['late by a whole interval, and this process’s pass ended longer ago than the margin', { next: NOW - MINUTE }, idle(NOW - MARGIN - 1), overdue(NOW - MINUTE)],
  ['late by just over the margin, the last pass having ended before the run was due', { next: NOW - MARGIN - 1 }, idle(NOW - MINUTE), overdue(NOW - MARGIN - 1)],
])('%s', (_case, scheduler, sight, verdict) => {
  expect(judgeSchedule(scheduler, sight)).toEqual(verdict);
});
