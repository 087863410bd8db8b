/**
 * A local HTTP receiver for the audit stream (node:http on a free port): it keeps every POST it was
 * sent, raw body bytes and headers, and can refuse (503), go down (port closed) and come back on the
 * same port, as a SIEM endpoint would through an outage.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from './free-port.js';

export interface ReceivedPost {
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived. */
  body: Buffer;
  /** What the receiver answered. */
  status: number;
}

export interface AuditReceiver {
  url: string;
  /** Every POST so far, refused ones included, in arrival order. */
  posts: ReceivedPost[];
  /** The CloudEvents it accepted (answered 2xx), parsed, in arrival order. */
  accepted(): Array<Record<string, any>>;
  /** Answer 503 to everything from now on (true) or 204 again (false). */
  refuse(refusing: boolean): void;
  /** Wait this long before answering each POST from now on (a slow receiver). */
  answerAfter(ms: number): void;
  /** Closes the port: deliveries fail with "connection refused". */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startAuditReceiver(): Promise<AuditReceiver> {
  const port = await freePort();
  const posts: ReceivedPost[] = [];
  let refusing = false;
  let delayMs = 0;
  let server: Server | undefined;

  const listen = async () => {
    const next = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const status = refusing ? 503 : 204;
        setTimeout(() => {
          posts.push({ headers: req.headers, body: Buffer.concat(chunks), status });
          res.writeHead(status).end();
        }, delayMs);
      });
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    server = next;
  };
  const stop = async () => {
    const current = server;
    server = undefined;
    if (!current) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  return {
    url: `http://127.0.0.1:${port}/audit`,
    posts,
    accepted: () => posts.filter((p) => p.status < 300).map((p) => JSON.parse(p.body.toString('utf8'))),
    refuse(value) {
      refusing = value;
    },
    answerAfter(ms) {
      delayMs = ms;
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
