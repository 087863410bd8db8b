/** Waiting on a request through a GrantStore: for bots whose records are in PostgreSQL, which the harness's SQL does not read. */
import type { GrantStore } from '../../src/app/ports.js';

export async function waitForStoredStatus(store: GrantStore, id: number, status: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    if ((await store.get(id))?.status === status) return;
  }
  throw new Error(`#${id} did not become ${status} (is ${(await store.get(id))?.status})`);
}

/** Where request `id`'s approval message was posted, once the bot has recorded it (it posts after acknowledging the command). */
export async function waitForApprovalMessage(store: GrantStore, id: number, timeoutMs = 10_000): Promise<{ channel: string; ts: string }> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 25))) {
    const ref = (await store.messageRefs(id)).find((r) => r.kind === 'approval');
    if (ref) return ref;
  }
  throw new Error(`timed out waiting for the approval message of #${id}`);
}
