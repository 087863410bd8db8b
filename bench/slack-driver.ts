/**
 * Drives the bot as Slack does (signed slash commands and button clicks to /slack/events) and reads
 * its records, read-only, to find the request and approval message each command produced.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { blockActionBody, slashCommandBody } from '../test/support/slack-request.js';
import { clusterName } from './in-memory-aws.js';
import type { ApprovalMessage, RecordsView } from './records-view.js';
import { SignedPoster, type Posted } from './signed-poster.js';
import type { SlackProcess } from './slack-process.js';
import { runPool } from './stats.js';

export const SIGNING_SECRET = 'bench-signing-secret';
export const APPROVER = 'U0APPROVER';
export const APPROVAL_CHANNEL = 'C0APPROVALS';

/** The bench's own policy: one-second grants allowed, and room for 1,000 rules per group. */
export const BENCH_POLICY = `
defaults:
  minDuration: 1s
  maxDuration: 8h
  ruleQuota: 1000
clusters:
  - match: "bench-*"
    approvers: [${APPROVER}]
    channel: ${APPROVAL_CHANNEL}
    allowedCidrs: [10.0.0.0/8]
`;

let sequence = 0;

export interface Submitted {
  triggerId: string;
  ackMs: number;
  sentAt: number;
}

export class SlackDriver {
  private readonly poster: SignedPoster;
  /** Lanes waiting for their command's approval message, by dedupe key; one poll serves them all. */
  private readonly waiting = new Map<string, (message: ApprovalMessage) => void>();
  private polling = false;

  constructor(
    private readonly slack: SlackProcess,
    eventsUrl: string,
    private readonly records: RecordsView,
  ) {
    this.poster = new SignedPoster(eventsUrl, SIGNING_SECRET);
  }

  /** `/cache-access bench-NN 10.x.y.z/32 <duration> bench` from a distinct requester and source. */
  async command(duration: string): Promise<Submitted> {
    const n = ++sequence;
    const triggerId = `bench-${n}`;
    const body = slashCommandBody({
      text: `${clusterName(n)} 10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}/32 ${duration} bench`,
      userId: `U0REQ${n}`,
      responseUrl: this.slack.responseUrl(`cmd-${n}`),
      triggerId,
    });
    const sentAt = Date.now();
    const reply = await this.post(body);
    if (reply.status !== 200) throw new Error(`command answered ${reply.status}: ${reply.text}`);
    return { triggerId, ackMs: reply.ms, sentAt };
  }

  /**
   * Clicks Approve on each command's approval message as soon as it is posted, `concurrency` at a time.
   * Returns, per request id, when its click was sent (Date.now()) and how long the ack took.
   */
  async approveAll(
    submitted: Submitted[],
    concurrency: number,
    timeoutMs = 120_000,
  ): Promise<Map<number, { clickedAt: number; ackMs: number }>> {
    const wanted = new Set(submitted.map((s) => `slash:${s.triggerId}`));
    const clicked = new Map<number, { clickedAt: number; ackMs: number }>();
    const deadline = Date.now() + timeoutMs;
    while (clicked.size < wanted.size) {
      if (Date.now() > deadline) {
        const last = await this.slack.lastResponse();
        throw new Error(`only ${clicked.size} of ${wanted.size} approval messages appeared; last reply: ${JSON.stringify(last)}`);
      }
      const ready = (await this.records.pendingApprovalMessages()).filter((m) => wanted.has(m.dedupeKey) && !clicked.has(m.requestId));
      await runPool(ready.length, concurrency, async (i) => {
        const message = ready[i]!;
        clicked.set(message.requestId, await this.approve(message));
      });
      if (ready.length === 0) await sleep(20);
    }
    return clicked;
  }

  /**
   * Clicks Approve on one command's approval message once it is posted. The lanes share one query of the
   * pending approval messages every 10 ms: a query per lane would load the database the bot is using.
   */
  async approveWhenPosted(submitted: Submitted, timeoutMs = 60_000): Promise<{ requestId: number; clickedAt: number; ackMs: number }> {
    const key = `slash:${submitted.triggerId}`;
    const posted = new Promise<ApprovalMessage>((resolve) => this.waiting.set(key, resolve));
    void this.pollApprovalMessages();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`no approval message for ${submitted.triggerId} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const message = await Promise.race([posted, expired]).finally(() => clearTimeout(timer));
    return { requestId: message.requestId, ...(await this.approve(message)) };
  }

  private async pollApprovalMessages(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      while (this.waiting.size > 0) {
        for (const message of await this.records.pendingApprovalMessages()) {
          const resolve = this.waiting.get(message.dedupeKey);
          this.waiting.delete(message.dedupeKey);
          resolve?.(message);
        }
        await sleep(10);
      }
    } finally {
      this.polling = false;
    }
  }

  /** Stored expiry (ms) of each request. */
  expiries(requestIds: number[]): Promise<Map<number, number>> {
    return this.records.expiries(requestIds);
  }

  close(): void {
    this.poster.close();
  }

  private async approve(message: { requestId: number; channel: string; ts: string }) {
    const body = blockActionBody({
      userId: APPROVER,
      actionId: 'approve',
      value: String(message.requestId),
      messageTs: message.ts,
      channelId: message.channel,
      responseUrl: this.slack.responseUrl(`click-${message.requestId}`),
    });
    const clickedAt = Date.now();
    const reply = await this.post(body);
    if (reply.status !== 200) throw new Error(`approve answered ${reply.status}: ${reply.text}`);
    return { clickedAt, ackMs: reply.ms };
  }

  /**
   * Node's HTTP server closes idle keep-alive connections after 5 s; a request sent on one just as it closes
   * is reset before it is read. Sent again, as Slack retries; the bot deduplicates commands and repeated clicks.
   */
  private async post(body: string): Promise<Posted> {
    try {
      return await this.poster.post(body);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ECONNRESET') throw error;
      return this.poster.post(body);
    }
  }

  /** Waits until the bot has posted `count` approval messages in all (the work after each ack is done). */
  async drain(count: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.records.countApprovalMessages()) < count) {
      if (Date.now() > deadline) {
        const last = await this.slack.lastResponse();
        throw new Error(`only ${await this.records.countApprovalMessages()} of ${count} requests processed; last reply: ${JSON.stringify(last)}`);
      }
      await sleep(20);
    }
  }
}
