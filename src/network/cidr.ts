// IPv4 addresses and prefixes as numbers: parsing, containment, overlap, the n-th host. Pure.
// berth's networks are IPv4 (docker's default); an IPv6 subnet is refused where it is parsed
// (networks.ts) rather than half-supported here.
import { invalidArgument } from "../sys/errdefs.ts";

export interface Cidr {
  /** The network address (host bits cleared), as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

/** "10.1.2.3" → 0x0a010203, or undefined when it is not a dotted quad. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i]!.length > 1 && m[i]!.startsWith("0"))) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** "10.1.0.0/16" → {base, prefix}; host bits must be zero unless `loose` (then they are cleared). */
export function parseCidr(s: string, field: string, opts: { loose?: boolean } = {}): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  const ip = m ? parseIPv4(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (s.includes(":")) throw invalidArgument(`${field} ${s}: IPv6 subnets are not supported yet; use an IPv4 subnet such as 10.89.0.0/24`, field);
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw invalidArgument(`invalid ${field} ${JSON.stringify(s)}: use CIDR notation such as 10.89.0.0/24`, field);
  }
  const base = (ip & maskOf(prefix)) >>> 0;
  if (base !== ip && !opts.loose) {
    throw invalidArgument(`invalid ${field} ${s}: host bits are set; did you mean ${formatIPv4(base)}/${prefix}?`, field);
  }
  return { base, prefix };
}

export const formatCidr = (c: Cidr): string => `${formatIPv4(c.base)}/${c.prefix}`;
export const size = (c: Cidr): number => 2 ** (32 - c.prefix);
export const lastOf = (c: Cidr): number => c.base + size(c) - 1;
export const contains = (c: Cidr, ip: number): boolean => ip >= c.base && ip <= lastOf(c);
export const overlaps = (a: Cidr, b: Cidr): boolean => a.base <= lastOf(b) && b.base <= lastOf(a);
/** a lies entirely inside b. */
export const within = (a: Cidr, b: Cidr): boolean => a.base >= b.base && lastOf(a) <= lastOf(b);

/** The first usable host (docker's and podman's default gateway: .1 of the subnet). */
export function firstHost(c: Cidr): number {
  return c.prefix >= 31 ? c.base : c.base + 1;
}

/** Usable hosts: the network and broadcast addresses are not, below /31 (RFC 3021 for /31). */
export function isUsableHost(c: Cidr, ip: number): boolean {
  if (!contains(c, ip)) return false;
  if (c.prefix >= 31) return true;
  return ip !== c.base && ip !== lastOf(c);
}
