// Which subnets a new network may use: not one that overlaps another berth network or a route of
// the host (docker's libnetwork checks the same two things). The host's IPv4 routes come from
// /proc/net/route (proc(5)), read rather than asking `ip -j route` so that creating a network does
// not spawn a process; default routes (0.0.0.0/0) are skipped, as docker skips them.
import { readFileSync } from "node:fs";
import { invalidArgument } from "../sys/errdefs.ts";
import { formatCidr, overlaps, parseCidr, type Cidr } from "./cidr.ts";

export interface HostRoute {
  iface: string;
  dst: Cidr;
}

/** /proc/net/route text → routes. Destination and Mask are little-endian hex (the kernel's u32). */
export function parseProcNetRoute(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dst = leHex(f[1]!);
    const mask = leHex(f[7]!);
    if (dst === undefined || mask === undefined) continue;
    let prefix = 0;
    for (let m = mask; m & 0x80000000; m = (m << 1) >>> 0) prefix++;
    out.push({ iface: f[0]!, dst: { base: (dst & mask) >>> 0, prefix } });
  }
  return out;
}

function leHex(s: string): number | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(s)) return undefined;
  const n = parseInt(s, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | (n >>> 24)) >>> 0;
}

export function readHostRoutes(path = "/proc/net/route"): HostRoute[] {
  try {
    return parseProcNetRoute(readFileSync(path, "utf8")).filter((r) => r.dst.prefix > 0);
  } catch {
    return [];
  }
}

/**
 * Docker's default address pools: 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20 …
 * 192.168.240.0/20 (libnetwork ipamutils). The default bridge takes the first free one.
 */
export function defaultPools(): Cidr[] {
  const pools: Cidr[] = [];
  for (let b = 17; b <= 31; b++) pools.push(parseCidr(`172.${b}.0.0/16`, "pool"));
  for (let c = 0; c <= 240; c += 16) pools.push(parseCidr(`192.168.${c}.0/20`, "pool"));
  return pools;
}

export interface TakenSubnet {
  /** What holds it: a berth network's name or a host interface. */
  owner: string;
  kind: "network" | "route";
  subnet: Cidr;
}

/** Why `subnet` cannot be used, or undefined when it is free. */
export function conflictOf(subnet: Cidr, taken: readonly TakenSubnet[]): TakenSubnet | undefined {
  return taken.find((t) => overlaps(subnet, t.subnet));
}

/** Refuses an overlapping subnet with a message naming what it overlaps and what to do. */
export function assertFree(subnet: Cidr, taken: readonly TakenSubnet[], field = "--subnet"): void {
  const c = conflictOf(subnet, taken);
  if (!c) return;
  const what = c.kind === "network" ? `berth network "${c.owner}" (${formatCidr(c.subnet)})` : `the host route ${formatCidr(c.subnet)} dev ${c.owner}`;
  throw invalidArgument(`subnet ${formatCidr(subnet)} overlaps ${what}; choose another ${field}`, field);
}

/** The first pool that overlaps nothing taken. */
export function pickSubnet(pools: readonly Cidr[], taken: readonly TakenSubnet[]): Cidr {
  const free = pools.find((p) => !conflictOf(p, taken));
  if (!free) {
    throw invalidArgument(`no free subnet left in the address pools (${pools.map(formatCidr).join(", ")}): every one overlaps a berth network or a host route; pass --subnet`, "--subnet");
  }
  return free;
}
