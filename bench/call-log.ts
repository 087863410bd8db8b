/** The mutating AWS calls a run issued, as reported by whichever process holds the in-memory AWS. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsCall } from './in-memory-aws.js';

export class CallLog {
  readonly calls: AwsCall[] = [];

  add(call: AwsCall): void {
    this.calls.push(call);
  }

  /** Resolves once `count` calls of `type` for distinct grants have been reported. */
  async waitForCalls(type: AwsCall['type'], count: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const grants = new Set(this.calls.filter((c) => c.type === type).map((c) => c.grantId));
      if (grants.size >= count) return;
      if (Date.now() > until) throw new Error(`only ${grants.size} of ${count} ${type} calls within ${timeoutMs} ms`);
      await sleep(20);
    }
  }
}
