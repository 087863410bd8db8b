/**
 * The fake Slack Web API in a process of its own. It validates every Block Kit payload the bot sends;
 * run inside the load generator, that work delayed the generator's reading of the bot's replies and
 * counted as the bot's acknowledgement time. The generator asks it for the last response_url post
 * (for error messages) over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { startFakeSlack } from '../test/fakes/fake-slack-server.js';

export interface SlackProcess {
  apiUrl: string;
  responseUrl(name: string): string;
  /** The last post to a response_url, as the fake recorded it. */
  lastResponse(): Promise<unknown>;
  close(): Promise<void>;
}

type FromChild = { type: 'started'; url: string; apiUrl: string } | { type: 'last-response'; body: unknown };

export async function startSlackProcess(): Promise<SlackProcess> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['--child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [started] = (await once(child, 'message')) as [FromChild];
  if (started.type !== 'started') throw new Error('the fake Slack process did not start');
  return {
    apiUrl: started.apiUrl,
    responseUrl: (name) => `${started.url}/response/${encodeURIComponent(name)}`,
    async lastResponse() {
      child.send('last-response');
      const [reply] = (await once(child, 'message')) as [FromChild];
      return reply.type === 'last-response' ? reply.body : undefined;
    },
    async close() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

if (process.argv.includes('--child')) {
  const slack = await startFakeSlack();
  process.on('message', () => process.send!({ type: 'last-response', body: slack.responses.at(-1)?.body }));
  process.send!({ type: 'started', url: slack.url, apiUrl: slack.apiUrl });
}
