/** The bot's side of bench/aws-process.ts: the Firewall and ClusterDirectory ports as calls to the shared in-memory AWS. */
import { Agent, request } from 'node:http';
import type { ClusterDirectory, Firewall } from '../src/app/ports.js';

export function remoteAws(url: string): { firewall: Firewall; directory: ClusterDirectory } {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const call = (port: string, method: string) => (...args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const sent = request(`${url}/${port}/${method}`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode === 200) resolve((JSON.parse(text) as { value?: unknown }).value);
          else reject(new Error(`shared AWS ${port}.${method} answered ${response.statusCode}: ${text}`));
        });
      });
      sent.on('error', reject);
      sent.end(JSON.stringify(args));
    });
  // Plain objects with every method named (a Proxy would hide them from code that lists or spreads them).
  const port = <T>(name: string, methods: Array<keyof T & string>) => Object.fromEntries(methods.map((method) => [method, call(name, method)])) as T;
  return {
    firewall: port<Firewall>('firewall', ['authorize', 'revoke', 'ruleExists', 'listTaggedRules']),
    directory: port<ClusterDirectory>('directory', ['findCluster', 'findSecurityGroup', 'exposureOf', 'findPeering', 'clusterTags', 'listClusterIds']),
  };
}
