/** Waiting on a request's status through a GrantStore: for bots whose records are in PostgreSQL, which the harness's SQL does not read. */
import type { GrantStore } from '../../src/app/ports.js';

export async function waitForStoredStatus(store: GrantStore, id: number, status: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    if ((await store.get(id))?.status === status) return;
  }
  throw new Error(`#${id} did not become ${status} (is ${(await store.get(id))?.status})`);
}
