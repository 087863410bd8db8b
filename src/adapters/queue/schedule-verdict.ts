/**
 * Whether a BullMQ job scheduler still runs, from its next-run time. BullMQ 6 adds a scheduler's next run
 * when a worker takes the current one (Worker.nextJobFromJobData, on Redis and PostgreSQL alike). A worker
 * that dies between taking a run and adding the next (or whose add fails) leaves the next-run time in the
 * past with nothing coming, until BullMQ's stalled check hands the run to another worker: 30 to 90 s with
 * its default lock and check intervals. An idle worker takes a due run within milliseconds.
 */

/** How late a run may be before the schedule counts as stalled: room for clocks of different hosts and a busy event loop. */
export const MAX_OVERDUE_MARGIN_MS = 5_000;

export type ScheduleVerdict =
  | { kind: 'on-time' }
  /** No scheduler, or one without a next run (its data lost). */
  | { kind: 'missing' }
  /** Its next run was due at `dueAt` (epoch ms) and nobody took it: `lateMs` ago. */
  | { kind: 'overdue'; dueAt: number; lateMs: number };

/** The margin grows with the interval up to MAX_OVERDUE_MARGIN_MS, so a short interval is judged as promptly. */
export function judgeSchedule(scheduler: { next?: number | null } | undefined, nowMs: number, everyMs: number): ScheduleVerdict {
  const dueAt = scheduler?.next;
  if (dueAt === undefined || dueAt === null) return { kind: 'missing' };
  const lateMs = nowMs - dueAt;
  return lateMs > Math.min(everyMs, MAX_OVERDUE_MARGIN_MS) ? { kind: 'overdue', dueAt, lateMs } : { kind: 'on-time' };
}
