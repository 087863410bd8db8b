/**
 * The load generator's HTTP client: signs each body before its clock starts, then times only the round
 * trip, over kept-alive connections as Slack keeps them. fetch() costs the generator itself about a
 * millisecond of CPU per request; 50 at once put tens of milliseconds of the generator's own queueing
 * into every figure (BENCHMARKS.md).
 */
import { Agent, request } from 'node:http';
import { signSlackRequest } from '../test/support/slack-request.js';

export interface Posted {
  status: number;
  text: string;
  /** From the signed request's last byte leaving for the socket to the last byte of the reply. */
  ms: number;
}

export class SignedPoster {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 512 });
  private readonly url: URL;

  constructor(
    url: string,
    private readonly secret: string,
  ) {
    this.url = new URL(url);
  }

  post(body: string): Promise<Posted> {
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
      ...signSlackRequest(this.secret, body),
    };
    return new Promise((resolve, reject) => {
      // Set when the request is flushed, not when it is built: building fifty at once is the generator's time.
      let started = NaN;
      const sent = request(this.url, { method: 'POST', headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }),
        );
        response.on('error', reject);
      });
      sent.on('finish', () => (started = performance.now()));
      sent.on('error', reject);
      sent.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
