/** Fakes of the Slack and queue ports that record what the use cases asked of them. */
import type { AccessRequest } from '../../src/domain/request.js';
import type { ClusterNetwork, LiveSessions, MessageRef, Notifier, Scheduler, SessionCredentials } from '../../src/app/ports.js';

export class RecordingNotifier implements Notifier {
  readonly told: Array<{ id: number; status: string; note?: string }> = [];

  async requestApproval(): Promise<MessageRef[]> {
    return [];
  }
  async refreshMessages(): Promise<void> {}
  async tellRequester(request: AccessRequest, note?: string): Promise<MessageRef> {
    this.told.push({ id: request.id, status: request.status, note });
    return { requestId: request.id, kind: 'requester', channel: 'D0REQUESTER', ts: `${Date.now()}.${this.told.length}` };
  }
  async requestExtension(): Promise<[]> {
    return [];
  }
  async refreshExtension(): Promise<void> {}
  /** Lines posted to approval threads, by request. */
  readonly threadPosts: Array<{ id: number; text: string }> = [];
  async postToThreads(request: AccessRequest, _refs: MessageRef[], text: string): Promise<void> {
    this.threadPosts.push({ id: request.id, text });
  }
}

export class RecordingScheduler implements Scheduler {
  readonly calls: string[] = [];
  /** When each request's revoke job was last scheduled (or ensured) to run. */
  readonly revokeAt = new Map<number, Date>();

  async scheduleGrant(requestId: number): Promise<void> {
    this.calls.push(`grant-${requestId}`);
  }
  async scheduleRevoke(requestId: number, at: Date): Promise<void> {
    this.calls.push(`revoke-${requestId}`);
    this.revokeAt.set(requestId, at);
  }
  async expediteRevoke(requestId: number, at: Date): Promise<'scheduled'> {
    await this.scheduleRevoke(requestId, at);
    return 'scheduled';
  }
  async ensureRevoke(requestId: number, at: Date): Promise<void> {
    this.calls.push(`ensure-revoke-${requestId}`);
    if (!this.revokeAt.has(requestId)) this.revokeAt.set(requestId, at);
  }
  async scheduleReminder(requestId: number): Promise<void> {
    this.calls.push(`remind-${requestId}`);
  }
  async ensureReminder(requestId: number): Promise<void> {
    this.calls.push(`ensure-remind-${requestId}`);
  }
  async scheduleEndSessions(requestId: number): Promise<void> {
    this.calls.push(`end-sessions-${requestId}`);
  }
}

/** The session-ending ports for tests whose policy ends no sessions: any use is a failure of the test. */
export function noSessionEnding(): { network: ClusterNetwork; sessionCredentials: SessionCredentials; liveSessions: LiveSessions } {
  const refuse = async (): Promise<never> => {
    throw new Error('this test ends no sessions');
  };
  return {
    network: { nodes: refuse, groupAddresses: refuse, ingressSources: refuse },
    sessionCredentials: { forCluster: refuse },
    liveSessions: { open: refuse },
  };
}
