import ipaddr from 'ipaddr.js';
import { InvalidInputError } from './errors.js';
import type { Source } from './request.js';

export const SECURITY_GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const SOURCE_HELP = 'a security group id (sg- followed by 8 or 17 hex digits) or a CIDR such as 10.1.2.0/24';

/** Parses a source argument into a security group or a canonical CIDR (network address / prefix). */
export function parseSource(text: string): Source {
  const value = text.trim();
  if (value.toLowerCase().startsWith('sg-')) {
    if (!SECURITY_GROUP_ID.test(value)) {
      throw new InvalidInputError(`"${value}" is not a valid security group id: use ${SOURCE_HELP}.`);
    }
    return { kind: 'security-group', groupId: value };
  }
  return { kind: 'cidr', cidr: canonicalCidr(value) };
}

// ipaddr.js also reads "10/8" (as 0.0.0.0/8), octal, hex and zone ids; only the plain forms are meant.
const PLAIN_IPV6_CIDR = /^[0-9a-f.:]*:[0-9a-f.:]*\/\d+$/i;

/** Returns the CIDR with host bits cleared ("10.1.2.3/24" → "10.1.2.0/24"); throws on anything else. */
export function canonicalCidr(text: string): string {
  const plain =
    ipaddr.IPv4.isValidCIDRFourPartDecimal(text) || (PLAIN_IPV6_CIDR.test(text) && ipaddr.IPv6.isValidCIDR(text));
  if (!plain) {
    throw new InvalidInputError(`"${text}" is neither a security group id nor a CIDR: use ${SOURCE_HELP}.`);
  }
  const [address, prefix] = ipaddr.parseCIDR(text);
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(text)
      : ipaddr.IPv6.networkAddressFromCIDR(text);
  return `${network.toString()}/${prefix}`;
}

/** True when every address of `inner` lies inside `outer` (both canonical CIDRs of the same family). */
export function cidrWithin(inner: string, outer: string): boolean {
  const [innerAddress, innerPrefix] = ipaddr.parseCIDR(inner);
  const [outerAddress, outerPrefix] = ipaddr.parseCIDR(outer);
  if (innerAddress.kind() !== outerAddress.kind()) return false;
  return innerPrefix >= outerPrefix && innerAddress.match([outerAddress, outerPrefix]);
}

/** The whole address space of a family: never grantable, whatever the policy says. */
export function isWholeInternet(cidr: string): boolean {
  return ipaddr.parseCIDR(cidr)[1] === 0;
}

/** The prefix length of a canonical CIDR and its family. */
export function cidrPrefix(cidr: string): { family: 'ipv4' | 'ipv6'; prefix: number } {
  const [address, prefix] = ipaddr.parseCIDR(cidr);
  return { family: address.kind(), prefix };
}
