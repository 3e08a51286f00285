// A container's /etc/hosts, /etc/hostname and /etc/resolv.conf, as data (docker's libnetwork
// etchosts and resolvconf packages are the model). Pure except `hostResolvConf`, which reads the
// host's files.
import { readFileSync } from "node:fs";
import { invalidArgument } from "../sys/errdefs.ts";
import { parseIPv4 } from "./cidr.ts";

export interface DnsConfig {
  servers: string[];
  search: string[];
  options: string[];
}

/** docker's fallbacks when the host has no usable upstream resolver (libnetwork resolvconf). */
export const DOCKER_DEFAULT_DNS = ["8.8.8.8", "8.8.4.4"];

/** resolv.conf(5): nameserver, search (or domain), options; the last search/domain line wins. */
export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { servers: [], search: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...vals] = line.split(/\s+/);
    if (key === "nameserver" && vals[0]) out.servers.push(vals[0]);
    else if (key === "search" || key === "domain") out.search = vals;
    else if (key === "options") out.options.push(...vals);
  }
  return out;
}

export const isLoopbackResolver = (ip: string): boolean => ip.startsWith("127.") || ip === "::1";

/**
 * The upstream resolvers a container on a bridge can use, from the host's files: loopback
 * servers (systemd-resolved's 127.0.0.53, a local dnsmasq) are unreachable from a container's
 * network namespace, so — as docker does — when the host's /etc/resolv.conf only has loopback
 * servers, systemd-resolved's list of real upstreams (/run/systemd/resolve/resolv.conf) is used,
 * and when nothing is left, docker's defaults.
 */
export function upstreamDns(hostResolvConf: string, systemdResolvConf: string | undefined): DnsConfig & { source: string } {
  const host = parseResolvConf(hostResolvConf);
  let servers = host.servers.filter((s) => !isLoopbackResolver(s));
  let source = "/etc/resolv.conf";
  let search = host.search;
  if (servers.length === 0 && host.servers.length > 0 && systemdResolvConf !== undefined) {
    const sd = parseResolvConf(systemdResolvConf);
    servers = sd.servers.filter((s) => !isLoopbackResolver(s));
    if (sd.search.length) search = sd.search;
    source = "/run/systemd/resolve/resolv.conf";
  }
  if (servers.length === 0) {
    servers = [...DOCKER_DEFAULT_DNS];
    source = "docker's default resolvers";
  }
  // IPv6 resolvers are kept only if they are not link-local scoped to a host interface.
  servers = servers.filter((s) => !/%/.test(s));
  return { servers, search, options: host.options, source };
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export function hostResolvConf(paths = { resolvConf: "/etc/resolv.conf", systemd: "/run/systemd/resolve/resolv.conf" }): DnsConfig & { source: string } {
  return upstreamDns(readOrUndefined(paths.resolvConf) ?? "", readOrUndefined(paths.systemd));
}

export interface DnsOverrides {
  /** --dns */
  servers?: string[];
  /** --dns-search */
  search?: string[];
  /** --dns-option */
  options?: string[];
}

/** Overrides replace the base per field, as docker's --dns, --dns-search, --dns-option do. */
export function applyDnsOverrides(base: DnsConfig, o: DnsOverrides = {}): DnsConfig {
  for (const s of o.servers ?? []) {
    if (parseIPv4(s) === undefined && !/^[0-9a-fA-F:]+$/.test(s)) throw invalidArgument(`--dns ${JSON.stringify(s)}: not an IP address`, "--dns");
  }
  return {
    servers: o.servers?.length ? o.servers : base.servers,
    // docker: --dns-search . means "no search domains"
    search: o.search?.length ? o.search.filter((d) => d !== ".") : base.search,
    options: o.options?.length ? o.options : base.options,
  };
}

export function formatResolvConf(d: DnsConfig, comment?: string): string {
  const lines: string[] = [];
  if (comment) lines.push(`# ${comment}`);
  if (d.search.length) lines.push(`search ${d.search.join(" ")}`);
  for (const s of d.servers) lines.push(`nameserver ${s}`);
  if (d.options.length) lines.push(`options ${d.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

export interface ExtraHost {
  name: string;
  ip: string;
}

/** --add-host NAME:IP (docker also takes NAME=IP). */
export function parseAddHost(s: string): ExtraHost {
  const m = /^([^:=\s]+)[:=](.+)$/.exec(s);
  const ip = m?.[2]?.replace(/^\[(.*)\]$/, "$1");
  if (!m || !ip || (parseIPv4(ip) === undefined && !/^[0-9a-fA-F:]+$/.test(ip))) {
    throw invalidArgument(`invalid --add-host ${JSON.stringify(s)}: use NAME:IP (e.g. db:10.0.0.5)`, "--add-host");
  }
  return { name: m[1]!, ip };
}

const HOSTS_HEAD = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

/** docker's /etc/hosts: localhost lines, --add-host entries, then the container's own addresses. */
export function formatHosts(o: { hostname: string; ips: string[]; extraHosts?: ExtraHost[]; aliases?: string[] }): string {
  const lines = [...HOSTS_HEAD];
  for (const h of o.extraHosts ?? []) lines.push(`${h.ip}\t${h.name}`);
  const names = [o.hostname, ...(o.aliases ?? []).filter((a) => a !== o.hostname)].filter(Boolean).join(" ");
  for (const ip of o.ips) if (names) lines.push(`${ip}\t${names}`);
  return `${lines.join("\n")}\n`;
}

export const formatHostname = (hostname: string): string => `${hostname}\n`;
