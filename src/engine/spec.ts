// ContainerSpec: what a container should be, in no front's words (podman's specgen). The berth
// CLI's flags, the Docker API's create body and the CRI's ContainerConfig each translate into
// it; the engine stores it with the container and turns it into an OCI runtime spec at start
// (image/config-to-spec.ts does Docker's image-config rules; this file adds what the image knows
// nothing about: privileges, capabilities, seccomp, mounts of every kind, limits, init).
import { existsSync } from "node:fs";
import { posix } from "node:path";
import { invalidArgument, notFound } from "../sys/errdefs.ts";
import { CAPABILITIES, boundingCapabilities } from "../sys/capabilities.ts";
import { RLIMITS } from "../sys/rlimits.ts";
import { parseSignal, signalName } from "../sys/signals.ts";
import { defaultSeccomp } from "../seccomp/default-profile.ts";
import { specFromImage, DOCKER_DEFAULT_CAPS, type ImageConfigFile } from "../image/config-to-spec.ts";
import type { IdMapping, Mount, Spec } from "../runtime/spec/types.ts";
import { hostDevices, type DeviceSpec } from "./devices.ts";
import type { RestartPolicy } from "../monitor/monitor.ts";

export type { RestartPolicy };

export interface MountSpec {
  type: "bind" | "volume" | "tmpfs";
  /** bind: absolute host path; volume: a volume name ("" or absent: a new anonymous volume). */
  source?: string;
  /** Absolute path in the container. */
  target: string;
  readOnly?: boolean;
  /** bind: propagation (rprivate, rshared, …). */
  propagation?: string;
  /** volume: do not copy the image's content at `target` into a new volume. */
  noCopy?: boolean;
  /** tmpfs: size in bytes, octal mode, other mount options. */
  tmpfsSize?: number;
  tmpfsMode?: number;
  options?: string[];
}

export interface Ulimit {
  name: string; // "nofile", as docker's --ulimit
  soft: number;
  hard: number;
}

export interface HealthcheckSpec {
  /** ["CMD", arg…], ["CMD-SHELL", "cmd"], or ["NONE"] (docker's forms). */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  startPeriodMs?: number;
  /** How often to check within the start period (docker's StartInterval, default 5 s). */
  startIntervalMs?: number;
  retries?: number;
}

export interface LogSpec {
  driver: "json-file" | "k8s-file" | "none";
  /** Bytes before rotation; 0: never rotate. */
  maxSize?: number;
  maxFiles?: number;
  /** Where the log goes (CRI sets it); default <root>/containers/<id>/<id>-json.log. */
  path?: string;
}

export interface NetworkSpec {
  /**
   * bridge (the default network, as docker), a user network's name or id, none (own namespace,
   * loopback only), host (the host's), container:<name|id> (another container's).
   */
  mode: string;
  aliases?: string[];
  ip?: string;
  mac?: string;
  /** -p: published ports (hostPort 0: a random one). */
  ports?: { hostIp?: string; hostPort: number; containerPort: number; protocol: "tcp" | "udp" | "sctp" }[];
  /** -P: publish every port the image exposes, on random host ports. */
  publishAll?: boolean;
  dns?: { servers?: string[]; search?: string[]; options?: string[] };
  extraHosts?: { name: string; ip: string }[];
}

export interface ContainerSpec {
  name?: string;
  /** The image reference as given (resolved by the engine). */
  image: string;
  /** Replaces the image's Cmd. */
  command?: string[];
  /** Replaces the image's Entrypoint ([] clears it, and the Cmd with it, as docker). */
  entrypoint?: string[];
  /** NAME=value entries (after the front resolved NAME-only ones). */
  env?: string[];
  workdir?: string;
  user?: string;
  /** docker --group-add, the CRI's supplemental_groups: names of the image's /etc/group or gids. */
  groupAdd?: string[];
  hostname?: string;
  domainname?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  tty?: boolean;
  /** Keep stdin open (docker's OpenStdin, -i). */
  stdin?: boolean;
  readOnly?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  /** "default" (docker's profile), "unconfined", or an OCI/docker seccomp profile object. */
  seccomp?: "default" | "unconfined" | Record<string, unknown>;
  noNewPrivileges?: boolean;
  mounts?: MountSpec[];
  memory?: number;
  /** memory + swap; -1 unlimited; absent: docker's default of twice the memory. */
  memorySwap?: number;
  cpus?: number;
  /** The CFS period (µs) `cpus` is a share of; default 100 ms. docker --cpu-period, the CRI's cpu_period. */
  cpuPeriod?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  /** Memory nodes the container may use (0-1, 0,1): docker --cpuset-mems, the CRI's cpuset_mems. */
  cpusetMems?: string;
  pidsLimit?: number;
  ulimits?: Ulimit[];
  shmSize?: number;
  sysctls?: Record<string, string>;
  oomScoreAdj?: number;
  network?: NetworkSpec;
  restart?: RestartPolicy;
  /** Signal name or number; default the image's StopSignal, else SIGTERM. */
  stopSignal?: string;
  /** Seconds `stop` waits before SIGKILL (default 10). */
  stopTimeout?: number;
  /** Run a small reaper (tini) as PID 1. */
  init?: boolean;
  autoRemove?: boolean;
  log?: LogSpec;
  healthcheck?: HealthcheckSpec;
  /** Relative cgroup path prefix (default: the container's cgroup directly under the caller's). */
  cgroupParent?: string;
  /**
   * The IPC, UTS and PID namespaces (docker's --ipc, --uts, --pid): private (the default, its
   * own), host, or container:<name|id> (join that running container's).
   */
  ipc?: string;
  uts?: string;
  pidMode?: string;
  /** Device nodes made in the container, each with a device-cgroup allow rule (engine/devices.ts). */
  devices?: DeviceSpec[];
  /** hugetlb limits: pageSize like "2MB", limit in bytes (skipped by the runtime without the controller). */
  hugepageLimits?: { pageSize: string; limit: number }[];
  /** Replace the default masked and read-only paths (the CRI's; ignored when privileged). */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /**
   * A user namespace with these mappings: a new one, or (join: container:<id>) that running
   * container's, which has them (a pod's members join its infra's). Its rootfs, /etc files and
   * bind mounts are idmapped with them, so what host root owns is the namespace's root's.
   */
  userns?: UsernsSpec;
  /** This container is a pod's infra container (engine/pods.ts): the pod's configuration. */
  podSandbox?: PodSandboxSpec;
  /** The pod this container belongs to: its infra container's id (engine/pods.ts). */
  pod?: string;
}

export interface UsernsSpec {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  join?: string;
}

/** A pod's configuration in no front's words (the CRI's PodSandboxConfig, translated by api/cri). */
export interface PodSandboxSpec {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  hostname?: string;
  /** Where the pod's containers' logs go (their log paths are relative to it). */
  logDirectory?: string;
  /** PID namespace: "pod" (one for the pod, held by the infra process), "container" (each its own), "host". */
  pid: "pod" | "container" | "host";
  /** Network and IPC: the pod's own, or the host's. */
  network: "pod" | "host";
  ipc: "pod" | "host";
  runtimeHandler?: string;
  /** The pod's user namespace (the CRI's userns_options mode POD): its infra's, joined by its containers. */
  userns?: { uidMappings: IdMapping[]; gidMappings: IdMapping[] };
}

/** What the engine resolves before building the spec: host paths of volumes, the files it bound. */
export interface StartContext {
  id: string;
  rootfs: string;
  /** Each volume mount's host directory, by target. */
  volumePaths: Map<string, string>;
  /** /etc/hosts, /etc/hostname, /etc/resolv.conf prepared by the engine (host paths). */
  etc: { hosts: string; hostname: string; resolvConf: string };
  /** The network namespace to join (bind-mounted netns), or the host's, or a new one. */
  netns: { kind: "new" } | { kind: "host" } | { kind: "path"; path: string };
  /** Shared namespaces of another container (--network container:…, later pid/ipc). */
  initPath?: string;
  /** IPC, UTS, PID: the host's, another container's (a /proc/<pid>/ns path); absent: a new one. */
  namespaces?: Partial<Record<"ipc" | "uts" | "pid", { kind: "host" } | { kind: "path"; path: string }>>;
  /** The user namespace: a new one with the spec's mappings, or another container's (/proc/<pid>/ns/user). */
  userns?: { kind: "new" } | { kind: "path"; path: string };
  cgroupsPath: string;
  hostEnv?: Record<string, string | undefined>;
}

const DOCKER_INIT_TARGET = "/sbin/docker-init";
export const MIN_MEMORY = 6 * 1024 * 1024;

/** Docker's names ("NET_ADMIN", "CAP_NET_ADMIN", "ALL") → CAP_ names; an unknown name is an error. */
export function normalizeCaps(names: readonly string[], field: string): string[] {
  return names.map((n) => {
    const up = n.toUpperCase();
    if (up === "ALL") return "ALL";
    const cap = up.startsWith("CAP_") ? up : `CAP_${up}`;
    if (!CAPABILITIES.includes(cap)) throw invalidArgument(`${field} ${n}: unknown capability (see capabilities(7): e.g. NET_ADMIN)`, field);
    return cap;
  });
}

/** The capability set docker computes: defaults, then --cap-add, then --cap-drop (ALL works in both). */
export function capabilitySet(spec: Pick<ContainerSpec, "privileged" | "capAdd" | "capDrop">): string[] {
  if (spec.privileged) return boundingCapabilities();
  const add = normalizeCaps(spec.capAdd ?? [], "--cap-add");
  const drop = normalizeCaps(spec.capDrop ?? [], "--cap-drop");
  let caps = add.includes("ALL") ? boundingCapabilities() : [...DOCKER_DEFAULT_CAPS, ...add.filter((c) => !DOCKER_DEFAULT_CAPS.includes(c))];
  if (drop.includes("ALL")) caps = add.filter((c) => c !== "ALL");
  else caps = caps.filter((c) => !drop.includes(c));
  return [...new Set(caps)];
}

const cleanTarget = (t: string, field: string) => {
  if (!t.startsWith("/")) throw invalidArgument(`${field} ${JSON.stringify(t)}: the destination must be an absolute path in the container`, field);
  const n = posix.normalize(t);
  if (n === "/") throw invalidArgument(`${field} ${JSON.stringify(t)}: cannot mount over the container's root`, field);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
};

/** A CFS period the kernel takes (cpu.cfs_period_us: 1 ms to 1 s), at create and at update. */
export function checkCpuPeriod(us: number): void {
  if (!Number.isSafeInteger(us) || us < 1000 || us > 1_000_000) throw invalidArgument(`cpu period ${us} µs is outside 1000..1000000`, "cpu-period");
}

/** Check a spec before anything is created: every error names the input. */
export function validateSpec(s: ContainerSpec): void {
  const seen = new Set<string>();
  for (const m of s.mounts ?? []) {
    const t = cleanTarget(m.target, "mount");
    if (seen.has(t)) throw invalidArgument(`duplicate mount point: ${t} (two mounts or -v flags have this destination; keep one)`, "mount");
    seen.add(t);
    if (m.type === "bind") {
      if (!m.source?.startsWith("/")) throw invalidArgument(`bind mount ${JSON.stringify(`${m.source ?? ""}:${m.target}`)}: the source must be an absolute host path`, "mount");
      if (!existsSync(m.source)) throw notFound(`bind mount source path does not exist: ${m.source} (create it first)`, "mount");
    } else if (m.type === "volume") {
      if (m.source && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(m.source)) throw invalidArgument(`volume name ${JSON.stringify(m.source)}: use [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)`, "mount");
    } else if (m.type !== "tmpfs") {
      throw invalidArgument(`mount type ${JSON.stringify(m.type)}: use bind, volume or tmpfs`, "mount");
    }
  }
  if (s.cpuPeriod !== undefined) checkCpuPeriod(s.cpuPeriod);
  if (s.memory !== undefined && (!Number.isSafeInteger(s.memory) || s.memory < MIN_MEMORY)) {
    throw invalidArgument(`memory limit ${s.memory} bytes is below the minimum of 6 MiB`, "memory");
  }
  if (s.memorySwap !== undefined && s.memorySwap !== -1) {
    if (s.memory === undefined) throw invalidArgument("--memory-swap needs --memory as well (it is memory plus swap)", "memory-swap");
    if (s.memorySwap < s.memory) throw invalidArgument(`--memory-swap ${s.memorySwap} is less than --memory ${s.memory}: it is the total of memory and swap, so it must be at least the memory`, "memory-swap");
  }
  for (const u of s.ulimits ?? []) {
    if (RLIMITS[`RLIMIT_${u.name.toUpperCase()}`] === undefined) throw invalidArgument(`--ulimit ${u.name}: unknown limit (nofile, nproc, core, stack, memlock, …)`, "ulimit");
    if (u.soft > u.hard) throw invalidArgument(`--ulimit ${u.name}=${u.soft}:${u.hard}: the soft limit is above the hard one`, "ulimit");
  }
  if (s.stopSignal !== undefined) {
    try {
      parseSignal(s.stopSignal);
    } catch {
      throw invalidArgument(`--stop-signal ${s.stopSignal}: not a signal (SIGTERM, TERM, 15…)`, "stop-signal");
    }
  }
  if (s.restart) {
    if (!["no", "always", "on-failure", "unless-stopped"].includes(s.restart.name)) {
      throw invalidArgument(`--restart ${s.restart.name}: use no, always, on-failure[:N] or unless-stopped`, "restart");
    }
    if (s.restart.maximumRetryCount !== undefined && s.restart.name !== "on-failure") {
      throw invalidArgument(`--restart ${s.restart.name}:${s.restart.maximumRetryCount}: a retry count goes with on-failure only`, "restart");
    }
    if (s.autoRemove && s.restart.name !== "no") throw invalidArgument("--restart and --rm conflict: a container that restarts is never removed by its exit", "restart");
  }
  if (s.healthcheck && s.healthcheck.test.length > 0 && !["CMD", "CMD-SHELL", "NONE"].includes(s.healthcheck.test[0]!)) {
    throw invalidArgument(`healthcheck test ${JSON.stringify(s.healthcheck.test)}: start with CMD, CMD-SHELL or NONE`, "health-cmd");
  }
  const net = s.network?.mode ?? "bridge";
  if (net === "" || (net.startsWith("container:") && net.length === "container:".length)) {
    throw invalidArgument(`--network ${JSON.stringify(net)}: use bridge, none, host, container:<name|id> or a network's name`, "network");
  }
  const shared = net === "host" || net === "none" || net.startsWith("container:");
  if (shared && (s.network?.ports?.length || s.network?.publishAll)) {
    throw invalidArgument(`published ports (-p, -P) need a bridge network; --network ${net} has none of its own`, "publish");
  }
  normalizeCaps(s.capAdd ?? [], "--cap-add");
  normalizeCaps(s.capDrop ?? [], "--cap-drop");
  for (const [flag, v] of [["--ipc", s.ipc], ["--uts", s.uts], ["--pid", s.pidMode]] as const) {
    if (v !== undefined && v !== "private" && v !== "host" && !(v.startsWith("container:") && v.length > "container:".length)) {
      throw invalidArgument(`${flag} ${JSON.stringify(v)}: use private, host or container:<name|id>`, flag.slice(2));
    }
  }
  if (net.startsWith("container:") && (s.hostname !== undefined || s.network?.dns || s.network?.extraHosts?.length || s.network?.mac || s.network?.ip)) {
    throw invalidArgument(`--network ${net} shares that container's network: --hostname, --dns, --add-host, --ip and --mac-address conflict with it`, "network");
  }
}

/** The stop signal: the spec's, else the image's StopSignal, else SIGTERM. */
export function stopSignalOf(s: ContainerSpec, image: ImageConfigFile): number {
  const v = s.stopSignal ?? image.config?.StopSignal;
  if (v === undefined || v === "") return 15;
  return parseSignal(v);
}

/** The OCI runtime spec for one start of the container. */
export function toOciSpec(image: ImageConfigFile, s: ContainerSpec, ctx: StartContext): Spec {
  const host = s.network?.mode === "host";
  const { spec } = specFromImage(image, {
    rootfs: ctx.rootfs,
    id: ctx.id,
    cgroupsPath: ctx.cgroupsPath,
    hostEnv: ctx.hostEnv ?? {},
    overrides: {
      ...(s.entrypoint !== undefined ? { entrypoint: s.entrypoint } : {}),
      ...(s.command?.length ? { args: s.command } : {}),
      env: s.env ?? [],
      ...(s.workdir !== undefined ? { workdir: s.workdir } : {}),
      ...(s.user !== undefined ? { user: s.user } : {}),
      ...(s.groupAdd?.length ? { groupAdd: s.groupAdd } : {}),
      ...(s.hostname !== undefined ? { hostname: s.hostname } : {}),
      readOnly: s.readOnly ?? false,
      ...(s.memory !== undefined ? { memory: s.memory } : {}),
      ...(s.pidsLimit !== undefined ? { pidsLimit: s.pidsLimit } : {}),
      ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
      ...(s.cpuPeriod !== undefined ? { cpuPeriod: s.cpuPeriod } : {}),
      network: host ? "host" : "none",
      tty: s.tty ?? false,
    },
    seccomp: "unconfined", // set below, once the capabilities are known
  });
  const proc = spec.process!;
  const linux = spec.linux!;
  const res = (linux.resources ??= {});
  if (s.domainname) spec.domainname = s.domainname;

  // Capabilities and privileges (moby daemon/oci_linux.go: WithCapabilities, privileged).
  const caps = capabilitySet(s);
  proc.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  if (s.noNewPrivileges) proc.noNewPrivileges = true;
  if (s.privileged) {
    linux.maskedPaths = [];
    linux.readonlyPaths = [];
    res.devices = [{ allow: true, access: "rwm" }];
    // containerd's privileged: every host device node too (oci.WithHostDevices).
    addDevices(linux, hostDevices(), false);
    for (const m of spec.mounts!) {
      if (m.destination === "/sys" || m.destination === "/sys/fs/cgroup") m.options = (m.options ?? []).filter((o) => o !== "ro").concat("rw");
    }
  }
  if (!s.privileged) {
    if (s.maskedPaths) linux.maskedPaths = [...s.maskedPaths];
    if (s.readonlyPaths) linux.readonlyPaths = [...s.readonlyPaths];
  }
  if (!s.privileged && s.seccomp !== "unconfined") {
    if (s.seccomp === undefined || s.seccomp === "default") {
      linux.seccomp = defaultSeccomp(caps);
    } else {
      linux.seccomp = s.seccomp as unknown as NonNullable<typeof linux.seccomp>;
    }
  }

  // Network namespace.
  linux.namespaces = linux.namespaces!.filter((n) => n.type !== "network");
  if (ctx.netns.kind === "new") linux.namespaces.push({ type: "network" });
  else if (ctx.netns.kind === "path") linux.namespaces.push({ type: "network", path: ctx.netns.path });

  // IPC, UTS and PID namespaces shared with the host or joined from another container (a pod's).
  for (const type of ["ipc", "uts", "pid"] as const) {
    const how = ctx.namespaces?.[type];
    if (!how) continue;
    linux.namespaces = linux.namespaces.filter((n) => n.type !== type);
    if (how.kind === "path") linux.namespaces.push({ type, path: how.path });
    // The hostname belongs to the UTS namespace that is joined: it is not set again.
    if (type === "uts") delete spec.hostname;
  }

  if (s.userns && ctx.userns) usernsSpec(spec, s.userns, ctx);
  if (s.devices?.length) addDevices(linux, s.devices, !s.privileged);
  if (s.hugepageLimits?.length) res.hugepageLimits = s.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: h.limit }));

  // Limits beyond what specFromImage knows.
  if (s.memory !== undefined) {
    const swap = s.memorySwap ?? s.memory * 2; // docker's default: as much swap as memory
    res.memory = { ...(res.memory ?? {}), limit: s.memory, swap: swap === -1 ? -1 : swap };
  }
  if (s.cpuShares !== undefined) res.cpu = { ...(res.cpu ?? {}), shares: s.cpuShares };
  if (s.cpusetCpus !== undefined) res.cpu = { ...(res.cpu ?? {}), cpus: s.cpusetCpus };
  if (s.cpusetMems !== undefined) res.cpu = { ...(res.cpu ?? {}), mems: s.cpusetMems };
  if (s.ulimits?.length) {
    proc.rlimits = s.ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.soft, hard: u.hard }));
  }
  if (s.oomScoreAdj !== undefined) proc.oomScoreAdj = s.oomScoreAdj;
  if (s.sysctls) linux.sysctl = { ...s.sysctls };
  if (s.annotations) spec.annotations = { ...s.annotations };

  // Mounts: the defaults (shm resized), then the user's, parents first; a user mount replaces a
  // default at the same destination.
  if (s.shmSize !== undefined) {
    const shm = spec.mounts!.find((m) => m.destination === "/dev/shm");
    if (shm) shm.options = (shm.options ?? []).filter((o) => !o.startsWith("size=")).concat(`size=${Math.floor(s.shmSize / 1024)}k`);
  }
  const user: Mount[] = [];
  for (const m of s.mounts ?? []) {
    const target = cleanTarget(m.target, "mount");
    const ro = m.readOnly ? "ro" : "rw";
    if (m.type === "bind") {
      user.push({ destination: target, type: "bind", source: m.source!, options: ["rbind", ro, ...(m.propagation ? [m.propagation] : [])] });
    } else if (m.type === "volume") {
      const src = ctx.volumePaths.get(target);
      if (!src) throw invalidArgument(`volume at ${target} was not prepared`, "mount");
      user.push({ destination: target, type: "bind", source: src, options: ["rbind", ro] });
    } else {
      const opts = ["nosuid", "nodev", ...(m.options ?? []), ro];
      if (m.tmpfsSize !== undefined) opts.push(`size=${m.tmpfsSize}`);
      opts.push(`mode=${(m.tmpfsMode ?? 0o1777).toString(8)}`);
      user.push({ destination: target, type: "tmpfs", source: "tmpfs", options: opts });
    }
  }
  const depth = (p: string) => p.split("/").filter(Boolean).length;
  user.sort((a, b) => depth(a.destination) - depth(b.destination));
  const taken = new Set(user.map((m) => m.destination));
  const etcRO = s.readOnly ? "ro" : "rw";
  const etc: Mount[] = [
    ["/etc/hostname", ctx.etc.hostname], ["/etc/hosts", ctx.etc.hosts], ["/etc/resolv.conf", ctx.etc.resolvConf],
  ].filter(([d]) => !taken.has(d!)).map(([destination, source]) => ({ destination: destination!, type: "bind", source: source!, options: ["rbind", "rprivate", etcRO] }));
  spec.mounts = [...spec.mounts!.filter((m) => !taken.has(m.destination)), ...etc, ...user];
  // In a user namespace the bind mounts are idmapped with its mappings (containerd 2.0's and
  // CRI-O's way for volumes): what host root owns there is the namespace's root's, and what it
  // writes is host root's on disk. /sys is the host's, bound (below), and stays as it is.
  if (s.userns) for (const m of [...etc, ...user]) if (m.type === "bind") Object.assign(m, { uidMappings: s.userns.uidMappings, gidMappings: s.userns.gidMappings, options: [...m.options!, "idmap"] });

  if (s.init) {
    spec.mounts.push({ destination: DOCKER_INIT_TARGET, type: "bind", source: initBinary(), options: ["bind", "ro"] });
    proc.args = [DOCKER_INIT_TARGET, "--", ...(proc.args ?? [])];
  }
  return spec;
}

/**
 * The user namespace: new (its mappings) or joined. sysfs can only be mounted by the user
 * namespace that owns the network namespace, and a joined one (a pod's CNI netns) is the host's:
 * then /sys is the host's, bound read-only, as runc's own tests do for such containers.
 */
function usernsSpec(spec: Spec, u: UsernsSpec, ctx: StartContext): void {
  const linux = spec.linux!;
  linux.namespaces = linux.namespaces!.filter((n) => n.type !== "user");
  if (ctx.userns!.kind === "path") linux.namespaces.push({ type: "user", path: ctx.userns!.path });
  else {
    linux.namespaces.push({ type: "user" });
    linux.uidMappings = u.uidMappings.map((m) => ({ ...m }));
    linux.gidMappings = u.gidMappings.map((m) => ({ ...m }));
  }
  if (ctx.netns.kind !== "new") {
    spec.mounts = spec.mounts!.map((m) => (m.destination === "/sys" && m.type === "sysfs"
      ? { destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] } : m));
  }
}

/** Device nodes into linux.devices (one per path, the later wins) and, when asked, their allow rules. */
function addDevices(linux: NonNullable<Spec["linux"]>, devs: DeviceSpec[], allow: boolean): void {
  const byPath = new Map((linux.devices ?? []).map((d) => [d.path, d]));
  for (const d of devs) byPath.set(d.path, { type: d.type, path: d.path, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: d.uid, gid: d.gid });
  linux.devices = [...byPath.values()];
  if (!allow) return;
  const res = (linux.resources ??= {});
  res.devices = [...(res.devices ?? []), ...devs.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.permissions }))];
}

/** docker's --init binary: tini, statically linked (Debian's tini package). */
export function initBinary(): string {
  for (const p of [process.env.BERTH_INIT_BINARY, "/usr/bin/tini-static", "/usr/bin/docker-init"]) if (p && existsSync(p)) return p;
  throw notFound("--init needs tini-static: install Debian's tini package (apt-get install tini)", "init");
}

export { signalName };
