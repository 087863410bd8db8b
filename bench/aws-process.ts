/**
 * One in-memory AWS shared by several bot processes (a web process and its workers): a rule one worker
 * creates must be there when another revokes it. It runs in a process of its own, serving the Firewall and
 * ClusterDirectory calls over HTTP (bench/remote-aws.ts is the bots' side), and reports each mutating call
 * to the bench over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallLog } from './call-log.js';
import { InMemoryAws, type AwsCall } from './in-memory-aws.js';

export interface AwsProcess {
  url: string;
  calls: CallLog;
  close(): Promise<void>;
}

type FromChild = { type: 'listening'; url: string } | { type: 'call'; call: AwsCall };

export async function startAwsProcess(latencyMs: number): Promise<AwsProcess> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--child', String(latencyMs)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const calls = new CallLog();
  const listening = new Promise<string>((resolve) =>
    child.on('message', (message: FromChild) => {
      if (message.type === 'listening') resolve(message.url);
      else calls.add(message.call);
    }),
  );
  return {
    url: await listening,
    calls,
    async close() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

if (process.argv.includes('--child')) {
  const aws = new InMemoryAws({ latencyMs: Number(process.argv.at(-1)), onCall: (call) => process.send!({ type: 'call', call }) });
  const ports: Record<string, object> = { firewall: aws.firewall, directory: aws.directory };
  // POST /<port>/<method> with the arguments as a JSON array; answers { value } (absent for undefined).
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const [, port, method] = (request.url ?? '').split('/');
      const call = (ports[port ?? ''] as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined> | undefined)?.[method ?? ''];
      if (!call) {
        response.writeHead(404).end();
        return;
      }
      call(...(JSON.parse(Buffer.concat(chunks).toString()) as unknown[])).then(
        (value) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value })),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ type: 'listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
}
