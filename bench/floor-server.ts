/**
 * The load generator's floor: an HTTP server in its own process that answers every request at once with
 * 200. The same burst sent here shows how much of a measured acknowledgement time is the generator, the
 * loopback network and the shared cores rather than the bot.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const SERVER = `
const server = require('node:http').createServer((request, response) => {
  request.resume();
  request.on('end', () => response.end());
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export interface FloorServer {
  url: string;
  stop(): Promise<void>;
}

export async function startFloorServer(): Promise<FloorServer> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return {
    url: `http://127.0.0.1:${line.trim()}/slack/events`,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
