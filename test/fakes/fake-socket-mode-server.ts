/**
 * Slack's end of a Socket Mode connection, over a real WebSocket server (the `ws` package): it greets
 * each connection with `hello`, delivers envelopes as Slack does, and records the acknowledgements
 * the app sends back. The URL goes into the fake Web API's apps.connections.open answer.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { FAKE_APP_ID } from './fake-slack-server.js';

export interface Envelope {
  envelope_id: string;
  type: 'slash_commands' | 'interactive' | 'events_api';
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
}

export interface Ack {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface FakeSocketMode {
  /** What apps.connections.open hands out, ticket and all. */
  readonly url: string;
  readonly acks: Ack[];
  /** Every message the app sent, parsed, in order (acks are those with an envelope_id). */
  readonly received: unknown[];
  /** Resolves with the connection once the app has connected (already or later). */
  connection(timeoutMs?: number): Promise<WebSocket>;
  /** Sends an envelope over the current connection. */
  deliver(envelope: Envelope): Promise<void>;
  /**
   * Resolves with the ack of `envelopeId`; for one still to come, in the same turn of the event loop as
   * it arrives, so a caller sees the rest of the world as it was at that moment.
   */
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<Ack>;
  /** Resolves with the close code once the app's connection has closed. */
  closed(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

async function poll<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function startFakeSocketMode(): Promise<FakeSocketMode> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const acks: Ack[] = [];
  const received: unknown[] = [];
  const ackWaiters = new Map<string, (ack: Ack) => void>();
  let current: WebSocket | undefined;
  let closeCode: number | undefined;

  server.on('connection', (socket) => {
    current = socket;
    closeCode = undefined;
    socket.on('message', (data) => {
      const message: unknown = JSON.parse(data.toString());
      received.push(message);
      if (typeof message === 'object' && message !== null && 'envelope_id' in message) {
        const ack = message as Ack;
        acks.push(ack);
        ackWaiters.get(ack.envelope_id)?.(ack);
      }
    });
    socket.on('close', (code) => {
      closeCode = code;
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: FAKE_APP_ID },
      }),
    );
  });

  return {
    url: `ws://127.0.0.1:${port}/link/?ticket=fake-ticket&app_id=${FAKE_APP_ID}`,
    acks,
    received,
    connection: (timeoutMs = 5_000) => poll(() => current, timeoutMs, 'the app to connect'),
    deliver: (envelope) =>
      new Promise<void>((resolve, reject) => {
        if (!current) return reject(new Error('no Socket Mode connection to deliver to'));
        current.send(JSON.stringify(envelope), (error) => (error ? reject(error) : resolve()));
      }),
    waitForAck: (envelopeId, timeoutMs = 5_000) => {
      const seen = acks.find((ack) => ack.envelope_id === envelopeId);
      if (seen) return Promise.resolve(seen);
      return new Promise<Ack>((resolve, reject) => {
        const timer = setTimeout(() => {
          ackWaiters.delete(envelopeId);
          reject(new Error(`Timed out after ${timeoutMs} ms waiting for the ack of envelope ${envelopeId}`));
        }, timeoutMs);
        ackWaiters.set(envelopeId, (ack) => {
          clearTimeout(timer);
          ackWaiters.delete(envelopeId);
          resolve(ack);
        });
      });
    },
    closed: (timeoutMs = 5_000) => poll(() => closeCode, timeoutMs, 'the app to close its connection'),
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const client of server.clients) client.terminate();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
