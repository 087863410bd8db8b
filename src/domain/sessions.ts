/**
 * Which open connections to a cache node a revoked grant leaves to close. Pure: the job lists the
 * node's clients and the addresses, this decides.
 */
import ipaddr from 'ipaddr.js';

/** Addresses a rule lets in: CIDR ranges, and single addresses (a security group's network interfaces). */
export interface AddressSet {
  cidrs: readonly string[];
  addresses: readonly string[];
}

export const NO_ADDRESSES: AddressSet = { cidrs: [], addresses: [] };

/** One client connection as a node lists it. */
export interface ClientConnection {
  id: string;
  /** The client's IP address, without the port. */
  address: string;
  /** The node's client flags: S is a replica's link to it, M its own link to its primary. */
  flags: string;
}

/** Both sets' addresses together. */
export function joinAddresses(...sets: AddressSet[]): AddressSet {
  return {
    cidrs: [...new Set(sets.flatMap((set) => set.cidrs))],
    addresses: [...new Set(sets.flatMap((set) => set.addresses))],
  };
}

/** Whether `address` is one of the set's addresses or inside one of its ranges (IPv4-mapped IPv6 counts as IPv4). */
export function coversAddress(set: AddressSet, address: string): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  if (set.addresses.some((known) => parseAddress(known)?.toNormalizedString() === parsed.toNormalizedString())) return true;
  return set.cidrs.some((cidr) => {
    const range = ipaddr.parseCIDR(cidr);
    return range[0].kind() === parsed.kind() && parsed.match(range);
  });
}

/** Replication between the cluster's own nodes: never a person's session. */
export function isReplicationLink(client: ClientConnection): boolean {
  return client.flags.includes('S') || client.flags.includes('M');
}

/**
 * The connections to close: from an address the grant let in that no remaining rule still lets in,
 * never a replication link and never the closing connection itself.
 */
export function connectionsToClose(
  clients: readonly ClientConnection[],
  { ownId, granted, stillAllowed }: { ownId: string; granted: AddressSet; stillAllowed: AddressSet },
): ClientConnection[] {
  return clients.filter(
    (client) =>
      client.id !== ownId &&
      !isReplicationLink(client) &&
      coversAddress(granted, client.address) &&
      !coversAddress(stillAllowed, client.address),
  );
}

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(text);
  } catch {
    return undefined;
  }
}
