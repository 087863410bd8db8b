/** What one reconcile pass did, in lines an operator can read. */
import type { ReconcileReport } from '../app/reconcile.js';
import { formatId } from '../domain/request.js';

export function reconcileSummary(report: ReconcileReport): string {
  const ids = (list: number[]) => list.map(formatId).join(', ');
  const lines = [
    ['Grant jobs requeued', ids(report.grantsRequeued)],
    ['Overdue grants revoked', ids(report.overdueRevokes)],
    ['Overdue grants whose revoke job was running', ids(report.revokesRunning)],
    ['Revoke jobs checked', ids(report.revokesEnsured)],
    ['Reminder jobs checked', ids(report.remindersEnsured)],
    ['Orphan rules revoked', report.orphansRevoked.join(', ')],
    ['Rules no grant held, revoked', report.unheldRulesRevoked.join(', ')],
    ['Rules removed outside cache-access', ids(report.revokedExternally)],
    ['Pending requests timed out', ids(report.timedOut)],
    ['Unreviewed break-glass grants reminded of', ids(report.reviewReminders)],
  ].map(([label, list]) => `${label}: ${list || 'none'}`);
  for (const error of report.errors) lines.push(`Error: ${error.step}${error.item ? ` (${error.item})` : ''}: ${error.message}`);
  lines.push(report.errors.length === 0 ? 'Reconcile pass complete.' : `Reconcile pass incomplete: ${report.errors.length} step(s) failed.`);
  return lines.join('\n') + '\n';
}
