import { CacheAccessError } from '../domain/errors.js';
import { ConfigError } from '../config.js';

/** The admin CLI's exit codes; --help and the README list them. */
export const EXIT = {
  ok: 0,
  /** Something failed: Redis, AWS or the database unreachable, a reconcile step that could not run. */
  failure: 1,
  /** Bad command line or settings. */
  usage: 2,
  /** No such request, or it is in a state that forbids the command (e.g. revoking one that is not active). */
  notFoundOrConflict: 3,
} as const;

export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.usage;
  if (error instanceof CacheAccessError) {
    if (error.code === 'INVALID') return EXIT.usage;
    if (error.code === 'NOT_FOUND' || error.code === 'CONFLICT') return EXIT.notFoundOrConflict;
  }
  return EXIT.failure;
}
