/**
 * Whether a BullMQ job scheduler still runs, from its next-run time. BullMQ 6 adds a scheduler's next run
 * when a worker takes the current one (Worker.nextJobFromJobData, on Redis and PostgreSQL alike). A worker
 * that dies between taking a run and adding the next (or whose add fails) leaves the next-run time in the
 * past with nothing coming, until BullMQ's stalled check hands the run to another worker: 30 to 90 s with
 * its default lock and check intervals. An idle worker takes a due run within milliseconds.
 */

/**
 * How long a due run may wait for an idle worker: room for clocks of different hosts and a busy event loop.
 * Not shortened for a short interval: a loaded host can leave a due run untaken for a second or two, and a
 * false alarm costs a warning and an extra pass; the stall this catches lasts 30 to 90 s.
 */
export const OVERDUE_MARGIN_MS = 5_000;

export type ScheduleVerdict =
  | { kind: 'ok' }
  /** No scheduler, or one without a next run (its data lost). */
  | { kind: 'missing' }
  /** Its next run was due at `dueAt` (epoch ms), `lateMs` ago, and no worker has added the one after it. */
  | { kind: 'overdue'; dueAt: number; lateMs: number };

export interface ScheduleSight {
  nowMs: number;
  /** This process's pass is running: its worker is busy, and a due run may rightly be waiting for it. */
  passRunning: boolean;
  /** When this process's last pass ended (epoch ms): a run due before then may have waited for it. */
  lastPassEndedMs?: number;
}

/** A run counts as overdue once it has waited longer than OVERDUE_MARGIN_MS while this process's worker was free. */
export function judgeSchedule(scheduler: { next?: number | null } | undefined, sight: ScheduleSight): ScheduleVerdict {
  const dueAt = scheduler?.next;
  if (dueAt === undefined || dueAt === null) return { kind: 'missing' };
  if (sight.passRunning) return { kind: 'ok' };
  const waitedMs = sight.nowMs - Math.max(dueAt, sight.lastPassEndedMs ?? dueAt);
  if (waitedMs <= OVERDUE_MARGIN_MS) return { kind: 'ok' };
  return { kind: 'overdue', dueAt, lateMs: sight.nowMs - dueAt };
}
