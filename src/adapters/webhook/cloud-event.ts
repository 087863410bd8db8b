/**
 * An event of the log as a CloudEvents 1.0 document in structured mode (the whole event is the JSON
 * body): https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md and its JSON format.
 */
import type { LoggedEvent } from '../../app/ports.js';
import { describeSource, formatId, type AccessRequest } from '../../domain/request.js';

/** The media type of a structured-mode CloudEvent in JSON. */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
const TYPE_PREFIX = 'cache-access.request.';

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: AuditEventData;
}

/** What `data` holds: who did what, the event's own detail, and the request as stored when it was sent. */
export interface AuditEventData {
  requestId: number;
  actor: string;
  detail?: Readonly<Record<string, unknown>>;
  request: {
    status: AccessRequest['status'];
    cluster: string;
    engine: string;
    endpoint: string;
    port: number;
    source: string;
    requester: { id: string; name: string };
    reason: string;
    durationSeconds: number;
    policyMatch: string;
    approvalsRequired: number;
    approvedBy: string[];
    deniedBy?: string;
    createdAt: string;
    expiresAt?: string;
    endedAt?: string;
    endedBy?: string;
  };
}

/**
 * `id` is the event's row id, the same on every retry and after restarts (receivers de-duplicate on
 * `source` + `id`); `type` is the event kind under `cache-access.request.`; `subject` the request (#42).
 */
export function toCloudEvent(event: LoggedEvent, request: AccessRequest, source: string): CloudEvent {
  return {
    specversion: '1.0',
    id: String(event.id),
    source,
    type: `${TYPE_PREFIX}${event.type}`,
    subject: formatId(event.requestId),
    time: event.at.toISOString(),
    datacontenttype: 'application/json',
    data: {
      requestId: event.requestId,
      actor: event.actor,
      ...(event.detail === undefined ? {} : { detail: event.detail }),
      request: {
        status: request.status,
        cluster: request.clusterId,
        engine: request.engine,
        endpoint: request.endpoint,
        port: request.port,
        source: describeSource(request.source),
        requester: { id: request.requesterId, name: request.requesterName },
        reason: request.reason,
        durationSeconds: request.durationSeconds,
        policyMatch: request.policyMatch,
        approvalsRequired: request.approvalsRequired,
        approvedBy: request.approvals.map((decision) => decision.userId),
        ...(request.deniedBy ? { deniedBy: request.deniedBy.userId } : {}),
        createdAt: request.createdAt.toISOString(),
        ...(request.expiresAt ? { expiresAt: request.expiresAt.toISOString() } : {}),
        ...(request.endedAt ? { endedAt: request.endedAt.toISOString() } : {}),
        ...(request.endedBy ? { endedBy: request.endedBy } : {}),
      },
    },
  };
}
