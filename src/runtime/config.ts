// config.json → RuntimeConfig: every rule of the spec that berth enforces, checked once, here
// (runc's specconv + validate habit). Later code never re-reads the Spec. Each error names the
// field ("linux.namespaces[2].type") and says what to do.
import { isAbsolute, join, resolve } from "node:path";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { invalidArgument, notImplemented } from "../sys/errdefs.ts";
import { capabilityMask } from "../sys/capabilities.ts";
import { RLIMITS, RLIM_INFINITY } from "../sys/rlimits.ts";
import { CLONE, MS, MOUNT_ATTR, S_IF, makedev } from "../sys/linux.ts";
import type { Hook, IdMapping, NamespaceType, Process, Seccomp, Spec } from "./spec/types.ts";
import type { LinuxResources } from "../cgroups/resources.ts";

export const NAMESPACE_FLAGS: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID, network: CLONE.NEWNET, mount: CLONE.NEWNS, ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS, user: CLONE.NEWUSER, cgroup: CLONE.NEWCGROUP, time: CLONE.NEWTIME,
};

export interface MountConfig {
  readonly field: string;
  readonly destination: string;
  readonly type: string;
  readonly source: string;
  readonly bind: boolean;
  readonly recursive: boolean;
  /** tmpcopyup: the tmpfs starts with a copy of what the mount point held. */
  readonly tmpcopyup: boolean;
  /** mount_setattr/fsmount attributes to set and clear, and whether they apply recursively. */
  readonly attrSet: number;
  readonly attrClr: number;
  readonly attrRecursive: boolean;
  /** MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, with MS_REC for the r- forms; 0 = unchanged. */
  readonly propagation: number;
  /** Options handed to the file system (mode=755,size=65536k, sync, …). */
  readonly data: string;
  /**
   * An idmapped bind mount (config.md "POSIX-platform Mounts" uidMappings/gidMappings, options
   * idmap/ridmap): files stored as a mapping's containerID appear as its hostID. recursive
   * (ridmap) idmaps every mount of an rbind, else only its top one.
   */
  readonly idmap?: { readonly uidMappings: readonly IdMapping[]; readonly gidMappings: readonly IdMapping[]; readonly recursive: boolean };
}

export interface DeviceConfig {
  readonly field: string;
  readonly path: string;
  readonly mode: number;
  readonly dev: bigint;
  readonly uid: number;
  readonly gid: number;
}

export interface HookConfig extends Hook {
  readonly field: string;
}

export interface RuntimeConfig {
  readonly id: string;
  readonly bundle: string;
  readonly spec: Spec;
  readonly rootfs: string;
  readonly readonlyRoot: boolean;
  readonly hostname?: string;
  readonly domainname?: string;
  /** Namespaces to create (clone flags) and to join (path). */
  readonly newNamespaces: number;
  readonly joinNamespaces: readonly { type: NamespaceType; path: string; flag: number; field: string }[];
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
  /** A joined /proc/PID/ns/user's maps ("inside outside size" lines), when they can be read. */
  readonly joinedUsernsMaps?: { readonly uid: string; readonly gid: string };
  readonly timeOffsets?: string;
  readonly mounts: readonly MountConfig[];
  /** Devices to create in /dev (undefined when /dev is bind-mounted from the host). */
  readonly devices?: readonly DeviceConfig[];
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly sysctl: readonly (readonly [string, string])[];
  /** Propagation of / inside the container (rootfsPropagation), 0 = default. */
  readonly rootfsPropagation: number;
  readonly process: ProcessConfig;
  readonly hooks: { readonly [K in keyof NonNullable<Spec["hooks"]>]-?: readonly HookConfig[] };
  readonly cgroupsPath?: string;
  /** linux.resources, with the device rules the container's own devices need appended. */
  readonly resources: LinuxResources;
  readonly annotations: Readonly<Record<string, string>>;
  /** linux.seccomp, compiled by the runtime (src/seccomp) just before planning. */
  readonly seccomp?: Seccomp;
}

export interface ProcessConfig {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly terminal: boolean;
  /** process.consoleSize: [rows, cols] for the terminal, 0 when unset. */
  readonly consoleSize: readonly [number, number];
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  readonly umask: number;
  readonly caps: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  readonly rlimits: readonly { type: string; resource: number; soft: bigint; hard: bigint; field: string }[];
  readonly noNewPrivileges: boolean;
  readonly oomScoreAdj?: number;
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

export function validateId(id: string | undefined): string {
  if (!id) throw invalidArgument("container id is missing: give it as the last argument", "container-id");
  if (!CONTAINER_ID.test(id) || id.length > 1024)
    throw invalidArgument(`invalid container id "${id}": use letters, digits, '_', '.', '+', '-'`, "container-id");
  return id;
}

/** Parse config.json text; a syntax error names the file and the position. */
export function parseSpec(text: string, file: string): Spec {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`${file} is not valid JSON: ${(e as Error).message}`, file);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalidArgument(`${file}: the top level must be a JSON object`, file);
  return v as Spec;
}

const isInt = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n);
function need(cond: unknown, field: string, msg: string): asserts cond {
  if (!cond) throw invalidArgument(`${field}: ${msg}`, field);
}
function strArray(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  need(Array.isArray(v) && v.every((x) => typeof x === "string"), field, "must be an array of strings");
  return v as string[];
}

export function buildConfig(spec: Spec, id: string, bundle: string): RuntimeConfig {
  need(typeof spec.ociVersion === "string" && /^1\.\d+\.\d+/.test(spec.ociVersion), "ociVersion", `must be a 1.x version such as "1.0.2", got ${JSON.stringify(spec.ociVersion)}`);
  need(spec.root && typeof spec.root.path === "string" && spec.root.path !== "", "root.path", "is required: the directory of the container's root file system");
  // A relative root.path is relative to the bundle's real directory (runc chdirs into it).
  let bundleDir = bundle;
  try {
    bundleDir = realpathSync(bundle);
  } catch {}
  const rootfs = resolve(bundleDir, spec.root.path);
  let st;
  try {
    st = statSync(rootfs);
  } catch {
    throw invalidArgument(`root.path: ${rootfs} does not exist: create the rootfs or fix the path (relative paths are relative to the bundle ${bundle})`, "root.path");
  }
  need(st.isDirectory(), "root.path", `${rootfs} is not a directory`);
  // runc's rule ("invalid rootfs: not an absolute path, or a symlink"): the path given is the one
  // mounted, never a symlink's target that someone with write access to the bundle could swap.
  let real = rootfs;
  try {
    real = realpathSync(rootfs);
  } catch {}
  need(real === rootfs, "root.path", `invalid rootfs: ${rootfs} is a symlink, or has one in its path (to ${real}): give the real path`);
  need(spec.process && typeof spec.process === "object", "process", "is required to create a container");

  const linux = spec.linux ?? {};
  // Namespaces.
  let newNamespaces = 0;
  const joinNamespaces: RuntimeConfig["joinNamespaces"][number][] = [];
  const seen = new Set<string>();
  (linux.namespaces ?? []).forEach((ns, i) => {
    const field = `linux.namespaces[${i}]`;
    const flag = NAMESPACE_FLAGS[ns?.type as NamespaceType];
    need(flag !== undefined, `${field}.type`, `unknown namespace type ${JSON.stringify(ns?.type)}: use one of ${Object.keys(NAMESPACE_FLAGS).join(", ")}`);
    need(!seen.has(ns.type), `${field}.type`, `namespace "${ns.type}" is listed twice`);
    seen.add(ns.type);
    if (ns.path) {
      need(isAbsolute(ns.path), `${field}.path`, "must be an absolute path such as /proc/PID/ns/net");
      need(existsSync(ns.path), `${field}.path`, `${ns.path} does not exist`);
      joinNamespaces.push({ type: ns.type, path: ns.path, flag, field: `${field}.path` });
    } else newNamespaces |= flag;
  });
  // The user namespace is joined first so the others are joined with its privileges (setns(2)).
  joinNamespaces.sort((a, b) => (a.type === "user" ? -1 : 0) - (b.type === "user" ? -1 : 0));
  const uidMappings = idMappings(linux.uidMappings, "linux.uidMappings");
  const gidMappings = idMappings(linux.gidMappings, "linux.gidMappings");
  if (newNamespaces & CLONE.NEWUSER) {
    need(uidMappings.length > 0 && gidMappings.length > 0, "linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");
  } else {
    need(uidMappings.length === 0 && gidMappings.length === 0, "linux.uidMappings", "id mappings need a new user namespace: add {\"type\": \"user\"} to linux.namespaces");
  }
  const joinedUser = joinNamespaces.find((j) => j.type === "user");
  const joinedUsernsMaps = joinedUser ? usernsMapsAt(joinedUser.path) : undefined;
  const mountns = seen.has("mount");
  need(mountns, "linux.namespaces", "berth needs a mount namespace: add {\"type\": \"mount\"}");

  let timeOffsets: string | undefined;
  if (linux.timeOffsets) {
    need(newNamespaces & CLONE.NEWTIME, "linux.timeOffsets", "time offsets need a new time namespace: add {\"type\": \"time\"}");
    const lines: string[] = [];
    for (const [clock, o] of Object.entries(linux.timeOffsets)) {
      need(clock === "monotonic" || clock === "boottime", `linux.timeOffsets.${clock}`, "only monotonic and boottime clocks have offsets");
      lines.push(`${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`);
    }
    timeOffsets = lines.join("\n") + "\n";
  }

  if (spec.hostname !== undefined) {
    need(typeof spec.hostname === "string" && spec.hostname.length <= 64, "hostname", "must be a string of at most 64 bytes");
    need(newNamespaces & CLONE.NEWUTS || spec.hostname === "", "hostname", "setting a hostname needs a new uts namespace: add {\"type\": \"uts\"}");
  }
  if (spec.domainname !== undefined) {
    need(typeof spec.domainname === "string" && spec.domainname.length <= 64, "domainname", "must be a string of at most 64 bytes");
    need(newNamespaces & CLONE.NEWUTS || spec.domainname === "", "domainname", "setting a domainname needs a new uts namespace");
  }

  // `idmap` without mappings: the container's user namespace's, new or joined (when readable).
  const fromText = (t: string): IdMapping[] => t.split("\n").filter(Boolean).map((l) => {
    const [containerID, hostID, size] = l.split(" ").map(Number);
    return { containerID: containerID!, hostID: hostID!, size: size! };
  });
  const containerMaps = newNamespaces & CLONE.NEWUSER ? { uidMappings, gidMappings }
    : joinedUsernsMaps ? { uidMappings: fromText(joinedUsernsMaps.uid), gidMappings: fromText(joinedUsernsMaps.gid) } : undefined;
  const mounts = (spec.mounts ?? []).map((m, i) => parseMount(m, i, bundle, containerMaps));
  const devBind = mounts.some((m) => m.destination === "/dev" && m.bind);
  const devices = devBind ? undefined : deviceList(linux.devices ?? []);

  // As runc: a joined network namespace (a pod's, made by CNI) is the container's own unless it
  // is the runtime's (the host's) one: the same inode as /proc/self/ns/net.
  const ownNetns = (): boolean => {
    if (newNamespaces & CLONE.NEWNET) return true;
    const joined = joinNamespaces.find((j) => j.type === "network");
    if (!joined) return false;
    try {
      const a = statSync(joined.path), b = statSync("/proc/self/ns/net");
      return a.ino !== b.ino || a.dev !== b.dev;
    } catch {
      return false;
    }
  };
  const sysctl = Object.entries(linux.sysctl ?? {}).map(([k, v]) => {
    need(/^[a-z0-9_.\/-]+$/i.test(k) && !k.includes(".."), `linux.sysctl.${k}`, "is not a sysctl name");
    need(typeof v === "string", `linux.sysctl.${k}`, "value must be a string");
    if (k.startsWith("net.")) need(ownNetns(), `linux.sysctl.${k}`, "net.* sysctls need a network namespace of the container's own (new, or a joined one that is not the host's)");
    if (k.startsWith("kernel.") && !/^kernel\.(shm|msg|sem)/.test(k) && !/^kernel\.(hostname|domainname)$/.test(k))
      throw invalidArgument(`linux.sysctl.${k}: only namespaced sysctls can be set (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*)`, `linux.sysctl.${k}`);
    return [k, v] as const;
  });

  const rootfsPropagation = propagationFlag(linux.rootfsPropagation, "linux.rootfsPropagation");

  for (const [key, list] of [["linux.maskedPaths", linux.maskedPaths], ["linux.readonlyPaths", linux.readonlyPaths]] as const)
    strArray(list, key).forEach((p, i) => need(isAbsolute(p), `${key}[${i}]`, `${p} must be an absolute path inside the container`));

  const hooks = {} as Record<keyof NonNullable<Spec["hooks"]>, HookConfig[]>;
  for (const kind of ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const) {
    hooks[kind] = (spec.hooks?.[kind] ?? []).map((h, i) => {
      const field = `hooks.${kind}[${i}]`;
      need(h && typeof h.path === "string" && isAbsolute(h.path), `${field}.path`, "must be an absolute path");
      strArray(h.args, `${field}.args`);
      strArray(h.env, `${field}.env`);
      if (h.timeout !== undefined) need(isInt(h.timeout) && h.timeout > 0, `${field}.timeout`, "must be a positive number of seconds");
      return { ...h, field };
    });
  }

  if (linux.cgroupsPath !== undefined) need(typeof linux.cgroupsPath === "string", "linux.cgroupsPath", "must be a string");
  if (linux.seccomp) seccompListener(linux.seccomp);
  if (linux.intelRdt) throw notImplemented("linux.intelRdt is not supported", "linux.intelRdt");

  const config: RuntimeConfig = {
    id, bundle, spec, rootfs,
    readonlyRoot: spec.root.readonly === true,
    ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
    ...(spec.domainname !== undefined ? { domainname: spec.domainname } : {}),
    newNamespaces, joinNamespaces, uidMappings, gidMappings,
    ...(joinedUsernsMaps ? { joinedUsernsMaps } : {}),
    ...(timeOffsets !== undefined ? { timeOffsets } : {}),
    mounts,
    ...(devices ? { devices } : {}),
    maskedPaths: strArray(linux.maskedPaths, "linux.maskedPaths"),
    readonlyPaths: strArray(linux.readonlyPaths, "linux.readonlyPaths"),
    sysctl, rootfsPropagation,
    process: processConfig(spec.process),
    hooks,
    ...(linux.cgroupsPath !== undefined ? { cgroupsPath: linux.cgroupsPath } : {}),
    resources: withDeviceRules(linux.resources, devices ?? []),
    annotations: spec.annotations ?? {},
    ...(linux.seccomp ? { seccomp: linux.seccomp } : {}),
  };
  return config;
}

/**
 * linux.seccomp.listenerPath/listenerMetadata (config-linux.md "Seccomp"): the agent's unix socket,
 * connected by berth-init on the host side. The rest of linux.seccomp is checked by its compiler.
 */
function seccompListener(s: Seccomp): void {
  const field = "linux.seccomp.listenerPath";
  if (s.listenerPath !== undefined) {
    need(typeof s.listenerPath === "string" && isAbsolute(s.listenerPath), field, "must be the absolute path of the seccomp agent's unix socket");
    // sockaddr_un.sun_path holds 108 bytes with the terminating NUL (unix(7)).
    need(Buffer.byteLength(s.listenerPath) < 108, field, "is longer than a unix socket path can be (107 bytes): use a shorter path");
  }
  if (s.listenerMetadata !== undefined) {
    need(typeof s.listenerMetadata === "string", "linux.seccomp.listenerMetadata", "must be a string");
    need(!!s.listenerPath, "linux.seccomp.listenerMetadata", "must not be set without linux.seccomp.listenerPath");
  }
}

/**
 * The maps of the user namespace at /proc/PID/ns/user, from its process's uid_map and gid_map
 * (normalized to "inside outside size" lines): an idmapped mount with the same mappings then uses
 * that namespace itself. Another path (a bind-mounted namespace) has no maps to read.
 */
function usernsMapsAt(path: string): { uid: string; gid: string } | undefined {
  const m = /^\/proc\/(\d+|self)\/ns\/user$/.exec(path);
  if (!m) return undefined;
  const norm = (t: string) => t.split("\n").map((l) => l.trim().split(/\s+/).join(" ")).filter(Boolean).map((l) => `${l}\n`).join("");
  try {
    return { uid: norm(readFileSync(`/proc/${m[1]}/uid_map`, "utf8")), gid: norm(readFileSync(`/proc/${m[1]}/gid_map`, "utf8")) };
  } catch {
    return undefined;
  }
}

function idMappings(v: IdMapping[] | undefined, field: string): IdMapping[] {
  const list = v ?? [];
  need(Array.isArray(list), field, "must be an array");
  list.forEach((m, i) => {
    need(m && isInt(m.containerID) && isInt(m.hostID) && isInt(m.size) && m.size > 0 && m.containerID >= 0 && m.hostID >= 0,
      `${field}[${i}]`, "needs non-negative integers containerID, hostID and a positive size");
  });
  return list;
}

// ---- mounts --------------------------------------------------------------------------------

type OptionEffect = { set?: number; clr?: number; rec?: boolean; prop?: number; bind?: "bind" | "rbind"; data?: string; skip?: true };
const A = MOUNT_ATTR;
const ATIME = A.ATIME_MASK;
/** Mount options berth understands (mount(8); runc's table). Others go to the file system. */
const OPTIONS: Record<string, OptionEffect> = {
  defaults: { skip: true }, remount: { skip: true }, loud: { skip: true },
  ro: { set: A.RDONLY }, rw: { clr: A.RDONLY },
  nosuid: { set: A.NOSUID }, suid: { clr: A.NOSUID },
  nodev: { set: A.NODEV }, dev: { clr: A.NODEV },
  noexec: { set: A.NOEXEC }, exec: { clr: A.NOEXEC },
  nosymfollow: { set: A.NOSYMFOLLOW }, symfollow: { clr: A.NOSYMFOLLOW },
  noatime: { set: A.NOATIME, clr: ATIME }, atime: { clr: ATIME },
  relatime: { set: A.RELATIME, clr: ATIME }, norelatime: { clr: ATIME },
  strictatime: { set: A.STRICTATIME, clr: ATIME }, nostrictatime: { clr: ATIME },
  nodiratime: { set: A.NODIRATIME }, diratime: { clr: A.NODIRATIME },
  bind: { bind: "bind" }, rbind: { bind: "rbind" },
  private: { prop: MS.PRIVATE }, rprivate: { prop: MS.PRIVATE | MS.REC },
  shared: { prop: MS.SHARED }, rshared: { prop: MS.SHARED | MS.REC },
  slave: { prop: MS.SLAVE }, rslave: { prop: MS.SLAVE | MS.REC },
  unbindable: { prop: MS.UNBINDABLE }, runbindable: { prop: MS.UNBINDABLE | MS.REC },
  // Superblock flags: the file system parses these itself (fsconfig(2) accepts them as flags).
  sync: { data: "sync" }, async: { data: "async" }, dirsync: { data: "dirsync" },
  mand: { data: "mand" }, nomand: { data: "nomand" }, lazytime: { data: "lazytime" },
  nolazytime: { data: "nolazytime" }, silent: { data: "silent" }, iversion: { data: "iversion" },
  noiversion: { data: "noiversion" }, acl: { data: "acl" }, noacl: { data: "noacl" },
};
// Recursive forms of the attributes (mount_setattr(2) AT_RECURSIVE): rro, rnosuid, …
for (const name of ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "nosymfollow", "symfollow", "noatime", "atime", "relatime", "norelatime", "strictatime", "nostrictatime", "nodiratime", "diratime"]) {
  OPTIONS[`r${name}`] = { ...OPTIONS[name], rec: true };
}

export function propagationFlag(v: string | undefined, field: string): number {
  if (v === undefined || v === "") return 0;
  const e = OPTIONS[v];
  need(e?.prop !== undefined, field, `unknown propagation "${v}": use shared, slave, private, unbindable or their r- forms`);
  return e.prop;
}

const KNOWN_FS = new Set(["bind", "none", "tmpfs", "proc", "sysfs", "mqueue", "devpts", "cgroup", "cgroup2", "overlay", "ramfs", "hugetlbfs", "securityfs", "debugfs", "tracefs", "fuse", "nfs", "xfs", "ext4", "btrfs"]);

/**
 * One entry of `mounts`. `userns` is the container's user namespace's mappings: what an
 * `idmap`/`ridmap` option without mappings of its own uses (config.md: else an error).
 */
export function parseMount(m: Spec["mounts"] extends (infer T)[] | undefined ? T : never, i: number, bundle: string, userns?: { uidMappings: readonly IdMapping[]; gidMappings: readonly IdMapping[] }): MountConfig {
  const field = `mounts[${i}]`;
  need(m && typeof m.destination === "string" && isAbsolute(m.destination), `${field}.destination`, "must be an absolute path inside the container");
  need(!m.destination.split("/").includes(".."), `${field}.destination`, `${m.destination} must not contain ".."`);
  need((m.uidMappings === undefined) === (m.gidMappings === undefined), m.uidMappings === undefined ? `${field}.uidMappings` : `${field}.gidMappings`, "uidMappings and gidMappings of a mount go together: give both or neither");
  const options = strArray(m.options, `${field}.options`);
  let set = 0, clr = 0, rec = false, prop = 0, bind: "bind" | "rbind" | undefined, tmpcopyup = false;
  let idmapOpt: "idmap" | "ridmap" | undefined;
  const data: string[] = [];
  for (const o of options) {
    const e = OPTIONS[o];
    if (!e) {
      if (o === "tmpcopyup") {
        tmpcopyup = true;
        continue;
      }
      if (o === "idmap" || o === "ridmap") {
        idmapOpt = o;
        continue;
      }
      data.push(o);
      continue;
    }
    if (e.skip) continue;
    // A later option wins over an earlier one ("ro,rw" is rw); atime modes replace each other.
    const es = e.set ?? 0, ec = e.clr ?? 0;
    set = (set & ~ec) | es;
    clr = (clr & ~(es & ~ATIME)) | ec;
    if (e.rec) rec = true;
    if (e.prop !== undefined) prop = e.prop;
    if (e.bind) bind = e.bind;
    if (e.data) data.push(e.data);
  }
  const type = m.type ?? (bind ? "bind" : "");
  const isBind = bind !== undefined || type === "bind";
  need(!tmpcopyup || type === "tmpfs", `${field}.options`, `"tmpcopyup" applies to tmpfs mounts only, not ${type}`);
  need(isBind || type !== "", `${field}.type`, "is required for a mount that is not a bind mount");
  need(isBind || KNOWN_FS.has(type) || /^[a-z0-9_.]+$/.test(type), `${field}.type`, `unknown file system type "${type}"`);
  let source = m.source ?? "";
  if (isBind) {
    need(source !== "", `${field}.source`, "a bind mount needs a source path");
    source = resolve(bundle, source);
    need(existsSync(source), `${field}.source`, `${source} does not exist`);
  } else if (source === "") source = type;
  // Idmapped: mappings given (with or without the option, as runc 1.2), or the option alone with
  // the container's own. Only bind mounts: the kernel idmaps a detached tree (open_tree), and
  // runc refuses the others too.
  let idmap: MountConfig["idmap"];
  if (m.uidMappings !== undefined || idmapOpt) {
    need(isBind, m.uidMappings !== undefined ? `${field}.uidMappings` : `${field}.options`, `idmapped mounts are bind mounts only; ${JSON.stringify(type)} cannot be idmapped`);
    let uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[];
    if (m.uidMappings !== undefined) {
      uidMappings = idMappings(m.uidMappings, `${field}.uidMappings`);
      gidMappings = idMappings(m.gidMappings, `${field}.gidMappings`);
      need(uidMappings.length > 0 && gidMappings.length > 0, `${field}.uidMappings`, "an idmapped mount needs at least one uid and one gid mapping");
      need(uidMappings.length <= 340 && gidMappings.length <= 340, `${field}.uidMappings`, "a user namespace holds at most 340 mappings (user_namespaces(7))");
    } else {
      need(userns, `${field}.options`, `"${idmapOpt}" without uidMappings/gidMappings uses the container's user namespace mappings, and this container has no user namespace whose mappings are known (a new one, or a joined /proc/PID/ns/user): give the mount uidMappings and gidMappings`);
      ({ uidMappings, gidMappings } = userns);
    }
    idmap = { uidMappings, gidMappings, recursive: idmapOpt === "ridmap" };
  }
  // A plain bind keeps the source's flags unless told otherwise; "rw" on it is a no-op in runc
  // unless the source is read-only, which clearing RDONLY handles.
  return {
    field, destination: m.destination, type: isBind ? "bind" : type, source, bind: isBind,
    recursive: bind === "rbind", tmpcopyup, attrSet: set, attrClr: clr, attrRecursive: rec,
    propagation: prop, data: isBind ? "" : data.join(","), ...(idmap ? { idmap } : {}),
  };
}

// ---- devices -------------------------------------------------------------------------------

/** Devices every container gets (runtime-spec config-linux.md "Default Devices"). */
const DEFAULT_DEVICES = [
  ["/dev/null", 1, 3], ["/dev/zero", 1, 5], ["/dev/full", 1, 7],
  ["/dev/random", 1, 8], ["/dev/urandom", 1, 9], ["/dev/tty", 5, 0],
] as const;

function deviceList(devs: NonNullable<Spec["linux"]>["devices"] & object): DeviceConfig[] {
  const out: DeviceConfig[] = DEFAULT_DEVICES.map(([path, ma, mi]) => ({
    field: "default device", path, mode: S_IF.CHR | 0o666, dev: makedev(ma, mi), uid: 0, gid: 0,
  }));
  devs.forEach((d, i) => {
    const field = `linux.devices[${i}]`;
    need(d && typeof d.path === "string" && d.path.startsWith("/dev/"), `${field}.path`, "must be a path under /dev/");
    need(!d.path.split("/").includes(".."), `${field}.path`, "must not contain \"..\"");
    const kind = d.type === "c" || d.type === "u" ? S_IF.CHR : d.type === "b" ? S_IF.BLK : d.type === "p" ? S_IF.FIFO : undefined;
    need(kind !== undefined, `${field}.type`, `unknown device type ${JSON.stringify(d.type)}: use c, b, u or p`);
    if (kind !== S_IF.FIFO) need(isInt(d.major) && isInt(d.minor), `${field}.major`, "character and block devices need major and minor numbers");
    const perm = d.fileMode ?? 0o666;
    need(isInt(perm) && perm >= 0 && perm <= 0o7777, `${field}.fileMode`, "must be a permission mode such as 438 (0666)");
    const dev: DeviceConfig = { field, path: d.path, mode: kind | perm, dev: kind === S_IF.FIFO ? 0n : makedev(d.major!, d.minor!), uid: d.uid ?? 0, gid: d.gid ?? 0 };
    const at = out.findIndex((x) => x.path === d.path);
    if (at >= 0) out[at] = dev;
    else out.push(dev);
  });
  return out;
}

/**
 * The device cgroup rules: the config's, then an allow rule for each device the container gets,
 * then what every container may use (runc's AllowedDevices: mknod of any node, the default
 * devices, /dev/console, /dev/pts/*, /dev/ptmx, /dev/net/tun). Without these a "deny all" rule,
 * as `spec` writes, would stop berth-init from making /dev/null.
 */
function withDeviceRules(r: LinuxResources | undefined, devices: readonly DeviceConfig[]): LinuxResources {
  const rules = [...(r?.devices ?? [])];
  if (rules.length === 0 && devices.length === 0) return r ?? {};
  const dev = (type: string, major: number | null, minor: number | null, access = "rwm") => ({ allow: true, type, major, minor, access });
  for (const d of devices) {
    const type = (d.mode & S_IF.FIFO) === S_IF.FIFO && (d.mode & S_IF.CHR) !== S_IF.CHR ? undefined : (d.mode & S_IF.BLK) === S_IF.BLK ? "b" : "c";
    if (!type) continue;
    const major = Number((d.dev >> 8n) & 0xfffn), minor = Number((d.dev & 0xffn) | ((d.dev >> 12n) & ~0xffn));
    // A rule the config gives for this very node (the CRI's permissions, e.g. "r") is kept as
    // the only one: an extra rwm allow would widen it (the v1 allow list is additive).
    if (r?.devices?.some((x) => x.allow && x.type === type && x.major === major && x.minor === minor)) continue;
    rules.push(dev(type, major, minor));
  }
  // One the config already allows after its last deny (docker's and the CRI's default list ends
  // with these) would change nothing: each is written once (on v1, one devices.allow write each).
  const lastDeny = rules.findLastIndex((x) => !x.allow);
  const allowed = (d: ReturnType<typeof dev>) =>
    rules.some((x, i) => i > lastDeny && x.allow && x.type === d.type && (x.major ?? null) === d.major && (x.minor ?? null) === d.minor && sameAccess(x.access, d.access));
  for (const d of [dev("c", null, null, "m"), dev("b", null, null, "m"), dev("c", 5, 1), dev("c", 136, null), dev("c", 5, 2), dev("c", 10, 200)])
    if (!allowed(d)) rules.push(d);
  return { ...(r ?? {}), devices: rules };
}

/** Two device rules' access strings ("rwm", "mrw"; absent is "rwm") grant the same. */
function sameAccess(a: string | undefined, b: string): boolean {
  const set = (x: string) => [..."rwm"].filter((c) => x.includes(c)).join("");
  return set(a ?? "rwm") === set(b);
}

// ---- process -------------------------------------------------------------------------------

/** Check a Process (config.json's, or `exec --process`'s) and resolve it for the planner. */
export function processConfig(p: Process): ProcessConfig {
  const args = strArray(p.args, "process.args");
  need(args.length > 0 && args[0] !== "", "process.args", "must name the program to run, e.g. [\"sh\"]");
  need(typeof p.cwd === "string" && isAbsolute(p.cwd), "process.cwd", "must be an absolute path (\"/\" if unsure)");
  need(p.user && isInt(p.user.uid) && isInt(p.user.gid) && p.user.uid >= 0 && p.user.gid >= 0, "process.user", "needs integer uid and gid");
  const additionalGids = p.user.additionalGids ?? [];
  need(Array.isArray(additionalGids) && additionalGids.every((g) => isInt(g) && g >= 0), "process.user.additionalGids", "must be an array of gids");
  if (p.user.umask !== undefined) need(isInt(p.user.umask) && p.user.umask >= 0 && p.user.umask <= 0o777, "process.user.umask", "must be between 0 and 511 (0777)");
  const env = strArray(p.env, "process.env");
  env.forEach((e, i) => need(e.includes("=") && !e.startsWith("="), `process.env[${i}]`, `"${e}" must look like NAME=value`));

  const caps = { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
  for (const set of ["bounding", "effective", "permitted", "inheritable", "ambient"] as const) {
    const field = `process.capabilities.${set}`;
    const { mask, unknown } = capabilityMask(strArray(p.capabilities?.[set], field));
    need(unknown.length === 0, field, `unknown capabilities ${unknown.join(", ")}: names look like CAP_NET_ADMIN`);
    caps[set] = mask;
  }
  // An ambient capability must also be permitted and inheritable (capabilities(7)); runc drops
  // the others silently. Keep that behaviour: the default `spec` relies on it.
  caps.ambient &= caps.permitted & caps.inheritable;

  const rlimits = (p.rlimits ?? []).map((r, i) => {
    const field = `process.rlimits[${i}]`;
    const resource = RLIMITS[r?.type];
    need(resource !== undefined, `${field}.type`, `unknown rlimit ${JSON.stringify(r?.type)}: use one of ${Object.keys(RLIMITS).join(", ")}`);
    need(isInt(r.soft) && isInt(r.hard) || typeof r.soft === "number", field, "soft and hard must be integers");
    const soft = BigInt.asUintN(64, BigInt(r.soft));
    const hard = BigInt.asUintN(64, BigInt(r.hard));
    need(soft <= hard || hard === RLIM_INFINITY, field, `soft limit ${r.soft} is above hard limit ${r.hard}`);
    return { type: r.type, resource, soft, hard, field };
  });
  if (p.oomScoreAdj !== undefined) need(isInt(p.oomScoreAdj) && p.oomScoreAdj >= -1000 && p.oomScoreAdj <= 1000, "process.oomScoreAdj", "must be between -1000 and 1000");
  return {
    args, env, cwd: p.cwd, terminal: p.terminal === true,
    consoleSize: [p.consoleSize?.height ?? 0, p.consoleSize?.width ?? 0],
    uid: p.user.uid, gid: p.user.gid, additionalGids, umask: p.user.umask ?? 0o022,
    caps, rlimits, noNewPrivileges: p.noNewPrivileges === true,
    ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: p.oomScoreAdj } : {}),
  };
}

export const bundlePath = (bundle: string | undefined) => resolve(bundle ?? process.cwd());
export const configPath = (bundle: string) => join(bundle, "config.json");
