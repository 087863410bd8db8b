/** Extension requests live in the request's event log: these read and write that part of it. */
import type { UseCaseDeps } from './deps.js';
import { isEvent } from './history-events.js';
import type { EventKind, Extension, HistoryEvent, SlackLocation } from './ports.js';

export const EXTENSION_EVENTS = {
  requested: 'extension-requested',
  /** One approver's yes while more are needed; the last needed one is recorded as `approved`. */
  approvalAdded: 'extension-approval-added',
  approved: 'extension-approved',
  denied: 'extension-denied',
  void: 'extension-void',
} as const satisfies Record<string, EventKind>;

const OUTCOMES: Record<string, NonNullable<Extension['outcome']>['kind']> = {
  [EXTENSION_EVENTS.approved]: 'approved',
  [EXTENSION_EVENTS.denied]: 'denied',
  [EXTENSION_EVENTS.void]: 'void',
};

export interface LoggedExtension extends Extension {
  /** Where the request for approval was posted. */
  messages: SlackLocation[];
}

/** Every extension asked for, oldest first, with its outcome once decided. */
export function extensionsIn(history: HistoryEvent[]): LoggedExtension[] {
  const extensions: LoggedExtension[] = [];
  for (const event of history) {
    if (isEvent(event, EXTENSION_EVENTS.requested)) {
      const { detail } = event;
      extensions.push({
        requestId: event.requestId,
        by: event.actor,
        at: event.at,
        seconds: detail.seconds,
        until: new Date(detail.until),
        // Extensions asked for before approvals were counted needed one.
        approvalsRequired: detail.approvalsRequired ?? 1,
        approvals: [],
        messages: detail.messages ?? [],
      });
    }
    const last = extensions.at(-1);
    if (!last || last.outcome) continue;
    if (event.type === EXTENSION_EVENTS.approvalAdded || event.type === EXTENSION_EVENTS.approved) {
      last.approvals.push({ userId: event.actor, at: event.at });
    }
    const outcome = OUTCOMES[event.type];
    if (outcome) last.outcome = { kind: outcome, by: event.actor, at: event.at };
  }
  return extensions;
}

/** The extension still waiting for approvers, if any (there is at most one at a time). */
export async function pendingExtension(deps: UseCaseDeps, requestId: number): Promise<LoggedExtension | undefined> {
  const last = extensionsIn(await deps.store.history(requestId)).at(-1);
  return last && !last.outcome ? last : undefined;
}

/** The newest extension, decided or not. */
export async function lastExtension(deps: UseCaseDeps, requestId: number): Promise<LoggedExtension | undefined> {
  return extensionsIn(await deps.store.history(requestId)).at(-1);
}
