/**
 * The AuditSink port over HTTP: each event is POSTed as a structured-mode CloudEvent, signed with
 * HMAC-SHA256 of the exact body bytes. Any 2xx is an acknowledgement; anything else (a refusal, a
 * timeout, no connection) is a retryable failure, so an event is never given up on.
 */
import { createHmac } from 'node:crypto';
import type { AuditSink, LoggedEvent } from '../../app/ports.js';
import { UpstreamError } from '../../domain/errors.js';
import type { AccessRequest } from '../../domain/request.js';
import { CLOUDEVENTS_JSON, toCloudEvent } from './cloud-event.js';

export const SIGNATURE_HEADER = 'x-cache-access-signature';

export interface WebhookSinkOptions {
  url: string;
  secret: string;
  /** The CloudEvents `source`. */
  source: string;
  /** How long one POST may take: a hung receiver must not hold a job slot for long. */
  timeoutMs?: number;
}

/** `sha256=<hex>`: HMAC-SHA256 of `body` under `secret`, as receivers recompute it. */
export function signatureOf(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class WebhookAuditSink implements AuditSink {
  private readonly timeoutMs: number;

  constructor(private readonly options: WebhookSinkOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  async send(event: LoggedEvent, request: AccessRequest): Promise<void> {
    const body = Buffer.from(JSON.stringify(toCloudEvent(event, request, this.options.source)));
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': CLOUDEVENTS_JSON, [SIGNATURE_HEADER]: signatureOf(body, this.options.secret) },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new UpstreamError('audit-webhook', cause, `Audit event ${event.id} not delivered: ${(error as Error).message} (${cause})`, true);
    }
    // Read to the end so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) {
      throw new UpstreamError('audit-webhook', `HTTP_${response.status}`, `Audit event ${event.id} refused: HTTP ${response.status}`, true);
    }
  }
}
