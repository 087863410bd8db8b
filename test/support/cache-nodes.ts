/**
 * Real redis-server processes standing for a cluster's nodes (a primary, its replica through `replicaof`,
 * optionally ACL users, a password or TLS), and client sessions opened to them from chosen loopback
 * addresses (127.0.0.2, 127.0.0.3, …) standing for the people and machines a rule lets in.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { freePort } from './free-port.js';

export interface NodeOptions {
  /** `user` config lines, e.g. "cache-access on >secret -@all +client|list +client|kill +client|id". */
  users?: string[];
  requirepass?: string;
  /** Serve TLS only, with these PEM files. */
  tls?: { cert: string; key: string; ca: string };
  /** Replicate from this node. */
  replicaOf?: CacheNodeProcess;
}

export interface CacheNodeProcess {
  host: string;
  port: number;
  /** Stops the server, as a node going down would; `start` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCacheNode(options: NodeOptions = {}): Promise<CacheNodeProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cache-access-node-'));
  // Sessions come from 127.0.0.2 and up, which protected mode would refuse.
  const args = ['--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', dir];
  const tls = options.tls && ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.cert, '--tls-key-file', options.tls.key];
  // A replica reaches its primary over TLS too; clients need no certificate of their own.
  if (tls) tls.push('--tls-ca-cert-file', options.tls!.ca, '--tls-auth-clients', 'no', '--tls-replication', 'yes');
  args.push(...(tls ?? ['--port', String(port)]));
  if (options.requirepass) args.push('--requirepass', options.requirepass);
  for (const user of options.users ?? []) args.push('--user', ...user.split(' '));
  if (options.replicaOf) args.push('--replicaof', options.replicaOf.host, String(options.replicaOf.port));
  let server: ChildProcess | undefined;
  const start = async () => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${output}`)), 10_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with code ${code}: ${output}`));
      });
    });
  };
  const kill = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    }
  };
  await start();
  return {
    host: '127.0.0.1',
    port,
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client connection to a node from `from`, kept open until the node closes it or the test does. */
export interface OpenSession {
  from: string;
  node: CacheNodeProcess;
  /** True once the node closed the connection. */
  readonly closed: boolean;
  /** Resolves when the connection closes. */
  whenClosed: Promise<void>;
  end(): void;
}

/** Opens a session from the loopback address `from` and waits until the node answers PING on it. */
export async function openSession(node: CacheNodeProcess, from: string, options: { tls?: { ca: string } } = {}): Promise<OpenSession> {
  const plain = netConnect({ host: node.host, port: node.port, localAddress: from });
  const socket: Socket = options.tls ? tlsConnect({ socket: plain, ca: options.tls.ca, servername: 'localhost' }) : plain;
  let closed = false;
  const whenClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void whenClosed.then(() => {
    closed = true;
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    // PONG, or NOAUTH where the default user is off: either way the node took the connection.
    socket.once('data', (reply: Buffer) => (/^(\+PONG|-NOAUTH)/.test(String(reply)) ? resolve() : reject(new Error(String(reply)))));
    socket.write('PING\r\n');
  });
  return {
    from,
    node,
    get closed() {
      return closed;
    },
    whenClosed,
    end: () => socket.destroy(),
  };
}

/** A throwaway certificate authority and a server certificate for 127.0.0.1 and localhost, made with openssl. */
export function throwawayCertificates(dir: string): { cert: string; key: string; ca: string } {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', file('ca.key'), '-out', file('ca.crt'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', file('node.key'), '-out', file('node.csr'));
  writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', file('node.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', file('san.cnf'), '-out', file('node.crt'));
  return { cert: file('node.crt'), key: file('node.key'), ca: file('ca.crt') };
}
