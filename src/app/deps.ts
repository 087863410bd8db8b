import type { Logger } from 'pino';
import type { Policy } from '../policy.js';
import type { Clock, ClusterDirectory, Firewall, GrantStore, Notifier, PeopleDirectory, Scheduler } from './ports.js';

/** What every use case may reach. `policy` is a getter so a reloaded policy applies from the next call. */
export interface UseCaseDeps {
  store: GrantStore;
  directory: ClusterDirectory;
  firewall: Firewall;
  people: PeopleDirectory;
  notifier: Notifier;
  scheduler: Scheduler;
  clock: Clock;
  policy: () => Policy;
  logger: Logger;
}
