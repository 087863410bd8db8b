/**
 * The work a Slack listener does after ack(): AWS look-ups, SQLite, messages. Node runs a request's
 * promise chain to its first real I/O before it reads the next request, so work started inside the
 * listener delays the acknowledgement of every request that arrived with it. Here each piece starts on
 * a later turn of the event loop (after the requests already received) and at most `concurrency` run
 * at once, so a burst of commands cannot keep the loop from acknowledging the next ones.
 */
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { settlesWithin } from '../deadline.js';

export class PostAckQueue {
  private readonly queue: PQueue;

  constructor(
    concurrency: number,
    private readonly logger: Logger,
  ) {
    this.queue = new PQueue({ concurrency });
  }

  /** Runs `work` soon; a failure is logged (listeners turn their own errors into replies first). */
  add(work: () => Promise<void>): void {
    this.queue
      .add(async () => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        await work();
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'work after a Slack acknowledgement failed'));
  }

  /** Waiting plus running pieces of work. */
  get backlog(): number {
    return this.queue.size + this.queue.pending;
  }

  /** True once everything added so far has finished, false if `timeoutMs` passes first (shutdown). */
  async drain(timeoutMs: number): Promise<boolean> {
    return settlesWithin(this.queue.onIdle(), timeoutMs);
  }
}
