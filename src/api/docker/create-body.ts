// POST /containers/create: docker's body (Config fields at the top, HostConfig, NetworkingConfig)
// → the engine's front-neutral ContainerSpec. Each field the CLI sends is taken or refused with
// a message naming it; fields that only matter to dockerd's own features (swarm, Windows) are
// ignored as dockerd ignores them on Linux when unset.
import type { ContainerSpec, LogSpec, MountSpec } from "../../engine/spec.ts";
import { badRequest } from "./http.ts";
import { ramInBytes } from "../../runtime/operations/update.ts";

type J = Record<string, unknown>;

export interface CreateBody {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Image?: string;
  Labels?: Record<string, string> | null;
  WorkingDir?: string;
  StopSignal?: string;
  StopTimeout?: number | null;
  ExposedPorts?: Record<string, unknown> | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } | null;
  HostConfig?: HostConfig | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null; MacAddress?: string }> | null } | null;
}

export interface HostConfig {
  Binds?: string[] | null;
  Mounts?: { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean; BindOptions?: { Propagation?: string } | null; VolumeOptions?: { NoCopy?: boolean } | null; TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null }[] | null;
  Tmpfs?: Record<string, string> | null;
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  PublishAllPorts?: boolean;
  NetworkMode?: string;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  AutoRemove?: boolean;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  CpuQuota?: number;
  CpuPeriod?: number;
  PidsLimit?: number | null;
  Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  OomScoreAdj?: number;
  CapAdd?: string[] | null;
  GroupAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Init?: boolean | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  ExtraHosts?: string[] | null;
  CgroupParent?: string;
  VolumesFrom?: string[] | null;
  Links?: string[] | null;
  Devices?: unknown[] | null;
}

const BIND_OPTS = new Set(["ro", "rw", "z", "Z", "nocopy", "private", "rprivate", "shared", "rshared", "slave", "rslave"]);
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** HostConfig.Binds entry: /host:/ctr[:opts] or volume:/ctr[:opts]. */
export function parseBind(v: string): MountSpec {
  const parts = v.split(":");
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw badRequest(`invalid volume specification: '${v}' (HostConfig.Binds: SOURCE:DESTINATION[:ro])`);
  const [src, dst, optText] = parts as [string, string, string | undefined];
  const opts = optText ? optText.split(",") : [];
  for (const o of opts) if (!BIND_OPTS.has(o)) throw badRequest(`invalid volume specification: '${v}': unknown option ${JSON.stringify(o)}`);
  if (!dst.startsWith("/")) throw badRequest(`invalid volume specification: '${v}': the destination must be an absolute path`);
  const readOnly = opts.includes("ro");
  const propagation = opts.find((o) => /^r?(private|shared|slave)$/.test(o));
  if (src.startsWith("/")) return { type: "bind", source: src, target: dst, readOnly, ...(propagation ? { propagation } : {}) };
  if (!VOLUME_NAME.test(src)) throw badRequest(`invalid volume specification: '${v}': "${src}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
  return { type: "volume", source: src, target: dst, readOnly, ...(opts.includes("nocopy") ? { noCopy: true } : {}) };
}

function parseTmpfs(target: string, opts: string): MountSpec {
  const m: MountSpec = { type: "tmpfs", target, options: [] };
  for (const o of opts.split(",").filter(Boolean)) {
    if (o.startsWith("size=")) m.tmpfsSize = bytes(o.slice(5), `HostConfig.Tmpfs ${target} size`);
    else if (o.startsWith("mode=")) m.tmpfsMode = parseInt(o.slice(5), 8);
    else if (o === "ro") m.readOnly = true;
    else if (o === "rw") m.readOnly = false;
    else m.options!.push(o);
  }
  return m;
}

/** A size as docker reads it (go-units RAMInBytes: 64m, 1g, 512k, plain bytes); runc's parser. */
function bytes(v: string, what: string): number {
  try {
    return ramInBytes(v);
  } catch {
    throw badRequest(`invalid size ${JSON.stringify(v)} for ${what}`);
  }
}

function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw badRequest(`${field}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function strList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw badRequest(`${field}: expected a list of strings`);
  return v as string[];
}

function securityOpts(entries: string[]): Pick<ContainerSpec, "seccomp" | "noNewPrivileges"> {
  const out: Pick<ContainerSpec, "seccomp" | "noNewPrivileges"> = {};
  for (const e of entries) {
    const sep = e.search(/[=:]/);
    const key = sep < 0 ? e : e.slice(0, sep);
    const val = sep < 0 ? "" : e.slice(sep + 1);
    if (key === "no-new-privileges") out.noNewPrivileges = val === "" || val === "true";
    else if (key === "seccomp") {
      if (val === "unconfined") out.seccomp = "unconfined";
      else if (val === "builtin" || val === "default") out.seccomp = "default";
      else {
        // The CLI reads a profile file itself and sends its JSON text.
        try {
          out.seccomp = JSON.parse(val) as Record<string, unknown>;
        } catch {
          throw badRequest(`HostConfig.SecurityOpt ${JSON.stringify(e)}: the seccomp profile is not JSON`);
        }
      }
    } else if (key === "label" || key === "apparmor") {
      // Neither SELinux nor AppArmor here; dockerd ignores them on such a host too.
    } else throw badRequest(`HostConfig.SecurityOpt: invalid option ${JSON.stringify(e)} (seccomp=…, no-new-privileges)`);
  }
  return out;
}

function logSpec(lc: HostConfig["LogConfig"]): LogSpec | undefined {
  if (!lc || (!lc.Type && !Object.keys(lc.Config ?? {}).length)) return undefined;
  const driver = lc.Type || "json-file";
  if (driver !== "json-file" && driver !== "k8s-file" && driver !== "none" && driver !== "local") {
    throw badRequest(`HostConfig.LogConfig.Type ${driver}: not supported (json-file, k8s-file, none)`);
  }
  const spec: LogSpec = { driver: driver === "local" ? "json-file" : driver };
  for (const [k, v] of Object.entries(lc.Config ?? {})) {
    if (k === "max-size") spec.maxSize = v === "-1" ? 0 : bytes(v, "log-opt max-size");
    else if (k === "max-file") {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw badRequest(`log-opt max-file=${v}: must be a positive number`);
      spec.maxFiles = Number(v);
    } else throw badRequest(`unknown log opt '${k}' for ${driver} log driver (max-size, max-file)`);
  }
  return spec;
}

function parseExtraHost(h: string): { name: string; ip: string } {
  const i = h.search(/[:=]/);
  if (i <= 0) throw badRequest(`HostConfig.ExtraHosts ${JSON.stringify(h)}: use host:ip`);
  return { name: h.slice(0, i), ip: h.slice(i + 1) };
}

function ports(pb: HostConfig["PortBindings"]): NonNullable<NonNullable<ContainerSpec["network"]>["ports"]> {
  const out: NonNullable<NonNullable<ContainerSpec["network"]>["ports"]> = [];
  for (const [key, binds] of Object.entries(pb ?? {})) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw badRequest(`HostConfig.PortBindings: invalid port ${JSON.stringify(key)} (PORT/tcp)`);
    for (const b of binds?.length ? binds : [{}]) {
      const hp = b.HostPort ?? "";
      if (hp !== "" && !/^\d+$/.test(hp)) throw badRequest(`HostConfig.PortBindings ${key}: invalid host port ${JSON.stringify(hp)}`);
      out.push({ ...(b.HostIp ? { hostIp: b.HostIp } : {}), hostPort: hp === "" ? 0 : Number(hp), containerPort: Number(m[1]), protocol: (m[2] ?? "tcp") as "tcp" });
    }
  }
  return out;
}

/** The spec for a create body; `name` from the query. */
export function specFromCreateBody(b: CreateBody, name: string | undefined): ContainerSpec {
  if (typeof b !== "object" || b === null || Array.isArray(b)) throw badRequest("the create body must be a JSON object");
  const image = str(b.Image, "Image");
  if (!image) throw badRequest("config cannot be empty in order to create a container: Image is required");
  const h = b.HostConfig ?? {};
  if (h.VolumesFrom?.length) throw badRequest("HostConfig.VolumesFrom (--volumes-from) is not supported by berth yet");
  if (h.Links?.length) throw badRequest("HostConfig.Links (--link) is not supported by berth: use a user network, where containers resolve each other by name");
  if (h.Devices?.length) throw badRequest("HostConfig.Devices (--device) is not supported by berth yet");
  const mounts: MountSpec[] = [...(strList(h.Binds, "HostConfig.Binds") ?? []).map(parseBind)];
  for (const m of h.Mounts ?? []) {
    const type = m.Type ?? "volume";
    if (type !== "bind" && type !== "volume" && type !== "tmpfs") throw badRequest(`HostConfig.Mounts: type ${JSON.stringify(type)} is not supported (bind, volume, tmpfs)`);
    if (!m.Target) throw badRequest("HostConfig.Mounts: Target is required");
    if (type === "tmpfs") {
      mounts.push({ type, target: m.Target, readOnly: m.ReadOnly ?? false, ...(m.TmpfsOptions?.SizeBytes ? { tmpfsSize: m.TmpfsOptions.SizeBytes } : {}), ...(m.TmpfsOptions?.Mode ? { tmpfsMode: m.TmpfsOptions.Mode } : {}) });
    } else if (type === "bind") {
      if (!m.Source) throw badRequest("HostConfig.Mounts: a bind mount needs Source");
      mounts.push({ type, source: m.Source, target: m.Target, readOnly: m.ReadOnly ?? false, ...(m.BindOptions?.Propagation ? { propagation: m.BindOptions.Propagation } : {}) });
    } else {
      mounts.push({ type, ...(m.Source ? { source: m.Source } : {}), target: m.Target, readOnly: m.ReadOnly ?? false, ...(m.VolumeOptions?.NoCopy ? { noCopy: true } : {}) });
    }
  }
  for (const [t, o] of Object.entries(h.Tmpfs ?? {})) mounts.push(parseTmpfs(t, o));
  let mode = h.NetworkMode || "default";
  if (mode === "default") mode = "bridge";
  const eps = b.NetworkingConfig?.EndpointsConfig ?? {};
  const ep = eps[mode] ?? Object.values(eps)[0];
  const pbs = ports(h.PortBindings);
  const dns = {
    ...(h.Dns?.length ? { servers: h.Dns } : {}),
    ...(h.DnsSearch?.length ? { search: h.DnsSearch } : {}),
    ...(h.DnsOptions?.length ? { options: h.DnsOptions } : {}),
  };
  const hosts = (h.ExtraHosts ?? []).map(parseExtraHost);
  const cmd = strList(b.Cmd, "Cmd");
  const entrypoint = b.Entrypoint === undefined || b.Entrypoint === null ? undefined : strList(b.Entrypoint, "Entrypoint")!;
  let cpus: number | undefined = h.NanoCpus ? h.NanoCpus / 1e9 : undefined;
  if (cpus === undefined && h.CpuQuota && h.CpuQuota > 0) cpus = h.CpuQuota / (h.CpuPeriod || 100000);
  const rp = h.RestartPolicy?.Name ? h.RestartPolicy : undefined;
  if (rp && !["no", "always", "on-failure", "unless-stopped"].includes(rp.Name!)) {
    throw badRequest(`invalid restart policy '${rp.Name}': use no, always, on-failure or unless-stopped`);
  }
  const hc = b.Healthcheck;
  const ms = (ns?: number) => (ns ? Math.round(ns / 1e6) : undefined);
  const spec: ContainerSpec = {
    image,
    ...(name ? { name: name.replace(/^\//, "") } : {}),
    ...(cmd?.length ? { command: cmd } : {}),
    ...(entrypoint !== undefined ? { entrypoint } : {}),
    env: strList(b.Env, "Env") ?? [],
    ...(b.WorkingDir ? { workdir: b.WorkingDir } : {}),
    ...(b.User ? { user: b.User } : {}),
    ...(b.Hostname ? { hostname: b.Hostname } : {}),
    ...(b.Domainname ? { domainname: b.Domainname } : {}),
    labels: { ...(b.Labels ?? {}) },
    tty: b.Tty === true,
    stdin: b.OpenStdin === true,
    readOnly: h.ReadonlyRootfs === true,
    ...(h.Privileged ? { privileged: true } : {}),
    ...(h.CapAdd?.length ? { capAdd: h.CapAdd } : {}),
    ...(h.GroupAdd?.length ? { groupAdd: h.GroupAdd } : {}),
    ...(h.CapDrop?.length ? { capDrop: h.CapDrop } : {}),
    ...securityOpts(h.SecurityOpt ?? []),
    ...(mounts.length ? { mounts } : {}),
    ...(h.Memory ? { memory: h.Memory } : {}),
    ...(h.MemorySwap ? { memorySwap: h.MemorySwap } : {}),
    ...(h.PidsLimit && h.PidsLimit > 0 ? { pidsLimit: h.PidsLimit } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(cpus !== undefined && !h.NanoCpus && h.CpuPeriod ? { cpuPeriod: h.CpuPeriod } : {}),
    ...(h.CpuShares ? { cpuShares: h.CpuShares } : {}),
    ...(h.CpusetCpus ? { cpusetCpus: h.CpusetCpus } : {}),
    ...(h.CpusetMems ? { cpusetMems: h.CpusetMems } : {}),
    ...(h.Ulimits?.length ? { ulimits: h.Ulimits.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })) } : {}),
    ...(h.ShmSize ? { shmSize: h.ShmSize } : {}),
    ...(h.Sysctls && Object.keys(h.Sysctls).length ? { sysctls: h.Sysctls } : {}),
    ...(h.OomScoreAdj ? { oomScoreAdj: h.OomScoreAdj } : {}),
    ...(h.CgroupParent ? { cgroupParent: h.CgroupParent } : {}),
    network: {
      mode,
      ...(pbs.length ? { ports: pbs } : {}),
      ...(h.PublishAllPorts ? { publishAll: true } : {}),
      ...(ep?.IPAMConfig?.IPv4Address ? { ip: ep.IPAMConfig.IPv4Address } : {}),
      ...(ep?.MacAddress ? { mac: ep.MacAddress } : {}),
      ...(ep?.Aliases?.length ? { aliases: ep.Aliases } : {}),
      ...(Object.keys(dns).length ? { dns } : {}),
      ...(hosts.length ? { extraHosts: hosts } : {}),
    },
    ...(rp && rp.Name !== "no" ? { restart: { name: rp.Name as "always", ...(rp.MaximumRetryCount ? { maximumRetryCount: rp.MaximumRetryCount } : {}) } } : {}),
    ...(b.StopSignal ? { stopSignal: b.StopSignal } : {}),
    ...(typeof b.StopTimeout === "number" ? { stopTimeout: b.StopTimeout } : {}),
    ...(h.Init ? { init: true } : {}),
    ...(h.AutoRemove ? { autoRemove: true } : {}),
    ...(logSpec(h.LogConfig) ? { log: logSpec(h.LogConfig)! } : {}),
    ...(hc?.Test?.length
      ? { healthcheck: { test: hc.Test, ...(ms(hc.Interval) ? { intervalMs: ms(hc.Interval)! } : {}), ...(ms(hc.Timeout) ? { timeoutMs: ms(hc.Timeout)! } : {}), ...(ms(hc.StartPeriod) ? { startPeriodMs: ms(hc.StartPeriod)! } : {}), ...(hc.Retries ? { retries: hc.Retries } : {}) } }
      : {}),
  };
  return spec;
}

export type { J };
