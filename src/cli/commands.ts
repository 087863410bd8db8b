/** What each admin command does, given the wired services; returns the text to print and the exit code. */
import { explainRule } from '../app/explain-rule.js';
import { reconcile } from '../app/reconcile.js';
import { requestRevocation } from '../app/request-revocation.js';
import { NotFoundError } from '../domain/errors.js';
import { STATUSES, formatId, isUnreviewedBreakGlass } from '../domain/request.js';
import type { CliCommand } from './arguments.js';
import { exportAudit } from './audit-export.js';
import { copyRecordsReport } from './copy-records-report.js';
import { copyTargetUrl } from './copy-target.js';
import type { CliServices } from './composition.js';
import { EXIT } from './exit-codes.js';
import { grantsTable } from './grants-table.js';
import { loadPolicyDocument } from '../policy.js';
import { checkPolicy } from './policy-check.js';
import { policyCheckText } from './policy-check-text.js';
import { ruleExplanationText } from './rule-explanation.js';
import { reconcileSummary } from './reconcile-summary.js';
import { redactedUrl, withoutPassword } from './redacted-url.js';
import { requestReport } from './request-report.js';

export interface CommandResult {
  output: string;
  exitCode: number;
}

type RunnableCommand = Exclude<CliCommand, { kind: 'help' }>;

export async function runCommand(command: RunnableCommand, services: CliServices): Promise<CommandResult> {
  switch (command.kind) {
    case 'grants': {
      const store = await services.store();
      const byStatus = await Promise.all((command.status ? [command.status] : STATUSES).map((status) => store.findByStatus(status)));
      const requests = byStatus
        .flat()
        .filter((request) => command.clusterId === undefined || request.clusterId === command.clusterId)
        .filter((request) => !command.unreviewed || isUnreviewedBreakGlass(request))
        .sort((a, b) => a.id - b.id);
      return ok(grantsTable(requests));
    }
    case 'show': {
      const store = await services.store();
      const request = await store.get(command.requestId);
      if (!request) throw new NotFoundError(`There is no request ${formatId(command.requestId)}.`);
      return ok(requestReport(request, await store.history(request.id)));
    }
    case 'revoke': {
      const by = `operator:${command.operator}`;
      const request = await requestRevocation(await services.useCaseDeps(), { requestId: command.requestId, by, reason: command.reason });
      return ok(`Revocation of ${formatId(request.id)} requested by ${by}; the bot's workers remove its rule now.\n`);
    }
    case 'reconcile': {
      const report = await reconcile(await services.useCaseDeps());
      return { output: reconcileSummary(report), exitCode: report.errors.length === 0 ? EXIT.ok : EXIT.failure };
    }
    case 'audit': {
      const since = new Date(Date.now() - command.sinceSeconds * 1000);
      return ok(exportAudit(await services.eventsSince(since, { unreviewedBreakGlass: command.unreviewed }), command.format));
    }
    case 'policy-check': {
      const file = command.file ?? services.policyFile;
      const check = checkPolicy(loadPolicyDocument(file), file);
      const failed = command.strict && check.warnings.length > 0;
      return { output: policyCheckText(file, check), exitCode: failed ? EXIT.failure : EXIT.ok };
    }
    case 'policy-explain': {
      const explanation = await explainRule(await services.useCaseDeps(), command);
      return { output: ruleExplanationText(explanation), exitCode: explanation.decided ? EXIT.ok : EXIT.notFoundOrConflict };
    }
    case 'copy-records': {
      const to = copyTargetUrl(command.to, services.copyTargetPassword);
      const outcome = await services.copyRecordsTo(to).catch((error: unknown) => {
        throw withoutPassword(error, to);
      });
      const output = copyRecordsReport(outcome, services.databasePath, redactedUrl(to));
      return { output, exitCode: outcome.copied ? EXIT.ok : EXIT.failure };
    }
  }
}

function ok(output: string): CommandResult {
  return { output, exitCode: EXIT.ok };
}
