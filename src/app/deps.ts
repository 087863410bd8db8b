import type { Logger } from 'pino';
import type { Policy } from '../policy.js';
import type {
  Clock,
  ClusterDirectory,
  ClusterNetwork,
  Firewall,
  GrantStore,
  LiveSessions,
  Notifier,
  PeopleDirectory,
  Scheduler,
  SessionCredentials,
} from './ports.js';

/** What every use case may reach. `policy` is a getter so a reloaded policy applies from the next call. */
export interface UseCaseDeps {
  store: GrantStore;
  directory: ClusterDirectory;
  firewall: Firewall;
  /** Nodes, interface addresses and remaining rules: which sessions a removed rule leaves to close. */
  network: ClusterNetwork;
  sessionCredentials: SessionCredentials;
  liveSessions: LiveSessions;
  people: PeopleDirectory;
  notifier: Notifier;
  scheduler: Scheduler;
  clock: Clock;
  policy: () => Policy;
  logger: Logger;
}
