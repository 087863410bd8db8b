import type { Policy } from '../policy.js';
import type { UseCaseDeps } from './deps.js';
import { locationKey } from './location.js';
import type { AwsLocation } from './ports.js';

/** Characters that make a policy `match` a glob rather than one cluster's exact id. */
const GLOB = /[*?[\]{}()!+@]/;
const FRESH_FOR_MS = 5 * 60_000;

/**
 * The clusters a person may pick: exact ids the policy names, plus the clusters AWS lists that a glob
 * rule covers. Listing AWS is slow, so the result is kept for a few minutes and dropped when the
 * policy changes.
 */
export class ClusterCatalog {
  private cached?: { policy: Policy; at: number; ids: string[] };

  constructor(private readonly deps: UseCaseDeps) {}

  /** Exact ids from the policy: known without asking AWS. */
  static namedIn(policy: Policy): string[] {
    return [...new Set(policy.rules.filter((rule) => !GLOB.test(rule.match)).map((rule) => rule.match))];
  }

  /** The full list when a recent one is at hand; undefined when it must be fetched. */
  fresh(): string[] | undefined {
    const { cached } = this;
    const policy = this.deps.policy();
    if (!cached || cached.policy !== policy || this.deps.clock.now().getTime() - cached.at > FRESH_FOR_MS) return undefined;
    return cached.ids;
  }

  /** Lists AWS in every place a glob rule points at, and keeps the covered ids, sorted. */
  async refresh(): Promise<string[]> {
    const policy = this.deps.policy();
    const places = new Map<string, AwsLocation>();
    for (const rule of policy.rules.filter((r) => GLOB.test(r.match))) {
      const location = { region: rule.region, roleArn: rule.roleArn };
      places.set(locationKey(location), location);
    }
    const listed = await Promise.all([...places.values()].map((location) => this.deps.directory.listClusterIds(location)));
    const covered = listed.flat().filter((id) => policy.ruleFor(id) !== undefined);
    const ids = [...new Set([...ClusterCatalog.namedIn(policy), ...covered])].sort();
    this.cached = { policy, at: this.deps.clock.now().getTime(), ids };
    return ids;
  }
}
