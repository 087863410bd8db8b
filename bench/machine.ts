/** How busy the shared machine was while a run took place: load average and CPU time across all cores. */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** `uptime`'s three load averages (1, 5, 15 minutes). */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = loadavg();
  return [one!, five!, fifteen!];
}

/** Busy and total CPU time of all cores so far (the `cpu` line of /proc/stat, in clock ticks). */
function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = fields[3]! + fields[4]!; // idle and iowait
  return { busy: total - idle, total };
}

/** Starts a window; its end gives the share of the machine's CPU time (all cores) that was busy, 0–1. */
export function cpuWindow(): () => number {
  const start = cpuTicks();
  return () => {
    const end = cpuTicks();
    return (end.busy - start.busy) / Math.max(1, end.total - start.total);
  };
}
