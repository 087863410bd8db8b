import { actorMrkdwn } from '../domain/actor.js';
import { transition } from '../domain/lifecycle.js';
import { ConflictError, NotAllowedError, NotFoundError } from '../domain/errors.js';
import type { AccessRequest } from '../domain/request.js';
import { applyEffects } from './apply-effects.js';
import { approversFor } from './approvers.js';
import type { UseCaseDeps } from './deps.js';

export interface DecisionInput {
  requestId: number;
  /** The signed user id of the click: the only thing that decides who may approve. */
  userId: string;
  decision: 'approve' | 'deny';
}

export interface DecisionOutcome {
  request: AccessRequest;
  /** Effects that could not be performed now (e.g. Redis down: the grant job is enqueued later). */
  delayed: boolean;
}

export const DELAYED_NOTE =
  'Processing is delayed: the job queue is unreachable right now. The rule will be added as soon as it is back; nothing is lost.';

/** An approver approves or denies a pending request. Safe to run twice: the second run is a ConflictError. */
export async function decide(deps: UseCaseDeps, input: DecisionInput): Promise<DecisionOutcome> {
  const request = await deps.store.get(input.requestId);
  if (!request) throw new NotFoundError(`There is no request #${input.requestId}.`);
  const rule = deps.policy().ruleFor(request.clusterId);
  const approvers = rule ? await approversFor(deps, request.clusterId, rule) : [];
  if (!approvers.includes(input.userId)) {
    throw new NotAllowedError(`You are not an approver for ${request.clusterId}, so you cannot decide on #${request.id}.`);
  }
  // Re-read after the await: another click may have decided meanwhile.
  const current = (await deps.store.get(input.requestId))!;
  if (current.status !== 'pending') throw new ConflictError(staleDecisionMessage(current));

  const now = deps.clock.now();
  const event =
    input.decision === 'approve'
      ? ({ type: 'approve', by: input.userId, selfApproval: rule!.selfApproval } as const)
      : ({ type: 'deny', by: input.userId } as const);
  const { next, effects } = transition(current, event, now);
  try {
    await deps.store.save(next, [{ at: now, actor: input.userId, type: input.decision === 'approve' ? 'approved' : 'denied' }]);
  } catch (error) {
    if (error instanceof ConflictError) throw new ConflictError(staleDecisionMessage((await deps.store.get(input.requestId))!));
    throw error;
  }
  // Enqueue first, so the requester's message can say when processing is delayed (Redis down: the
  // reconciler enqueues the grant once Redis is back).
  const delayed = effects.includes('schedule-grant') && (await applyEffects(deps, next, ['schedule-grant'])).length > 0;
  await applyEffects(deps, next, effects.filter((effect) => effect !== 'schedule-grant'), delayed ? DELAYED_NOTE : undefined);
  return { request: next, delayed };
}

/** What someone clicking an outdated button is told. */
export function staleDecisionMessage(request: AccessRequest): string {
  const id = `#${request.id}`;
  const approver = request.approvals.at(-1)?.userId;
  switch (request.status) {
    case 'pending':
      return `${id} is still waiting for approval.`;
    case 'denied':
      return `${id} was already denied by ${actorMrkdwn(request.deniedBy?.userId)}.`;
    case 'cancelled':
      return `${id} was cancelled.`;
    case 'failed':
      return `${id} was approved by ${actorMrkdwn(approver)} but failed: ${request.failure?.code}.`;
    default:
      return `${id} is already approved by ${actorMrkdwn(approver)} (now ${request.status}).`;
  }
}
