/**
 * The adapters behind the use cases the CLI runs (revoke, reconcile), wired as the bot wires them.
 * Loaded only by those commands: the AWS, Slack and BullMQ libraries take seconds to import.
 */
import type { Logger } from 'pino';
import type { GrantStore } from '../app/ports.js';
import type { CliConfig } from '../config.js';
import { loadPolicy, type Policy } from '../policy.js';
import { wireUseCases, type WiredUseCases } from '../wiring.js';

export function wireCliUseCases(config: CliConfig, logger: Logger, store: GrantStore): WiredUseCases {
  let policy: Policy | undefined;
  // Read on first use: `revoke` needs no policy, `reconcile` does.
  return wireUseCases(config, { store, logger, policy: () => (policy ??= loadPolicy(config.policyFile)) });
}
