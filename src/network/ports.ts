// Published ports: docker's `-p` syntax parsed as data, and what already holds a host port —
// sockets listening on the host (/proc/net/{tcp,tcp6,udp,udp6}, proc(5)) and DNAT rules that CNI's
// portmap plugin installed for anyone (berth under another root, podman): a port held by either is
// refused before anything is created. Pure parsers; the readers are small wrappers.
import { readFileSync } from "node:fs";
import { invalidArgument } from "../sys/errdefs.ts";
import { parseIPv4 } from "./cidr.ts";

export type Protocol = "tcp" | "udp" | "sctp";

export interface PortMapping {
  /** Host address to bind; undefined means every address (docker's 0.0.0.0). */
  hostIp?: string;
  /** 0: pick a free port. */
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

const PROTOCOLS: readonly string[] = ["tcp", "udp", "sctp"];

function parseRange(s: string, what: string, spec: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 1 || hi > 65535 || hi < lo) {
    throw invalidArgument(`invalid port mapping -p ${spec}: ${what} ${JSON.stringify(s)} is not a port (1-65535) or a range (8000-8010)`, "-p");
  }
  return [lo, hi];
}

/**
 * `-p` as docker takes it: `[ip:][hostPort:]containerPort[/tcp|udp|sctp]`, `ip::containerPort`,
 * and equal-length ranges (`8000-8002:80-82`). Each published port becomes one mapping.
 */
export function parsePublish(spec: string): PortMapping[] {
  let body = spec;
  let protocol: Protocol = "tcp";
  const slash = body.lastIndexOf("/");
  if (slash >= 0) {
    const p = body.slice(slash + 1).toLowerCase();
    if (!PROTOCOLS.includes(p)) throw invalidArgument(`invalid port mapping -p ${spec}: protocol ${JSON.stringify(p)} is not tcp, udp or sctp`, "-p");
    protocol = p as Protocol;
    body = body.slice(0, slash);
  }
  if (body.startsWith("[")) throw invalidArgument(`invalid port mapping -p ${spec}: IPv6 host addresses are not supported yet; use an IPv4 address or none`, "-p");
  const parts = body.split(":");
  if (parts.length > 3 || parts.some((p, i) => p === "" && !(parts.length === 3 && i === 1))) {
    throw invalidArgument(`invalid port mapping -p ${spec}: use [ip:]hostPort:containerPort[/protocol] or containerPort`, "-p");
  }
  const [hostIp, hostPart, containerPart] =
    parts.length === 3 ? [parts[0]!, parts[1]!, parts[2]!] : parts.length === 2 ? [undefined, parts[0]!, parts[1]!] : [undefined, "", parts[0]!];
  if (hostIp !== undefined && parseIPv4(hostIp) === undefined) {
    throw invalidArgument(`invalid port mapping -p ${spec}: host address ${JSON.stringify(hostIp)} is not an IPv4 address`, "-p");
  }
  const [cLo, cHi] = parseRange(containerPart, "container port", spec);
  const out: PortMapping[] = [];
  if (hostPart === "") {
    for (let c = cLo; c <= cHi; c++) out.push({ ...(hostIp !== undefined && hostIp !== "0.0.0.0" ? { hostIp } : {}), hostPort: 0, containerPort: c, protocol });
    return out;
  }
  const [hLo, hHi] = parseRange(hostPart, "host port", spec);
  if (hHi - hLo !== cHi - cLo) {
    throw invalidArgument(`invalid port mapping -p ${spec}: the host port range ${hostPart} and the container port range ${containerPart} differ in length`, "-p");
  }
  for (let i = 0; i <= cHi - cLo; i++) {
    out.push({ ...(hostIp !== undefined && hostIp !== "0.0.0.0" ? { hostIp } : {}), hostPort: hLo + i, containerPort: cLo + i, protocol });
  }
  return out;
}

export interface HeldPort {
  protocol: Protocol;
  port: number;
  /** Local address (IPv4 dotted, IPv6 as hex, "*" for any). */
  address: string;
  by: "socket" | "dnat";
}

/**
 * /proc/net/tcp[6] and udp[6] → bound ports. TCP counts in state 0A (LISTEN); UDP every bound
 * socket (state 07, unconnected). local_address is hex IP:hex port, the IP in host byte order.
 */
export function parseProcNetSockets(text: string, protocol: Protocol): HeldPort[] {
  const out: HeldPort[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const [addr, port] = f[1]!.split(":");
    const state = f[3]!;
    if (protocol === "tcp" ? state !== "0A" : state !== "07") continue;
    if (!addr || !port) continue;
    out.push({ protocol, port: parseInt(port, 16), address: /^0+$/.test(addr) ? "*" : decodeProcAddress(addr), by: "socket" });
  }
  return out;
}

function decodeProcAddress(hex: string): string {
  if (hex.length !== 8) return hex.toLowerCase();
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
}

/**
 * `iptables-save -t nat` → ports that portmap's top-level chain (CNI-HOSTPORT-DNAT, a name the
 * plugin fixes) sends to a container: `-p tcp -m multiport --dports 8080,8081 -j CNI-DN-…`.
 */
export function parsePortmapDnat(iptablesSave: string): HeldPort[] {
  const out: HeldPort[] = [];
  for (const line of iptablesSave.split("\n")) {
    if (!line.startsWith("-A CNI-HOSTPORT-DNAT ")) continue;
    const proto = /-p (tcp|udp|sctp)/.exec(line)?.[1] as Protocol | undefined;
    const ports = /--dports ([\d,:]+)/.exec(line)?.[1];
    if (!proto || !ports) continue;
    for (const p of ports.split(",")) {
      const [lo, hi] = p.split(":").map(Number);
      for (let n = lo!; n <= (hi ?? lo!); n++) out.push({ protocol: proto, port: n, address: "*", by: "dnat" });
    }
  }
  return out;
}

export function readHostListeners(): HeldPort[] {
  const out: HeldPort[] = [];
  for (const [file, proto] of [["tcp", "tcp"], ["tcp6", "tcp"], ["udp", "udp"], ["udp6", "udp"]] as const) {
    try {
      out.push(...parseProcNetSockets(readFileSync(`/proc/net/${file}`, "utf8"), proto));
    } catch {
      // IPv6 disabled: no tcp6/udp6 file.
    }
  }
  return out;
}

/** Does a held port block publishing `m`? Any address blocks any other when either is a wildcard. */
export function blocks(h: HeldPort, m: { hostIp?: string; hostPort: number; protocol: Protocol }): boolean {
  if (h.protocol !== m.protocol || h.port !== m.hostPort) return false;
  if (h.address === "*" || m.hostIp === undefined) return true;
  return h.address === m.hostIp || !/^\d+\.\d+\.\d+\.\d+$/.test(h.address);
}

/** The kernel's ephemeral range (ip_local_port_range), from which random host ports are taken. */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // fall through
  }
  return [32768, 60999];
}

export const formatMapping = (m: PortMapping): string => `${m.hostIp ?? "0.0.0.0"}:${m.hostPort}->${m.containerPort}/${m.protocol}`;
