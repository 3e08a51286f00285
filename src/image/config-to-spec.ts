// An image's config (OCI image-spec config.md, the `config` object) plus what the user asked for
// on `run` → an OCI runtime Spec, the way Docker builds one (moby's oci/defaults.go and
// daemon/oci_linux.go): Docker's default capabilities, mounts, masked and read-only paths and
// seccomp profile; Entrypoint + Cmd → args; Env merged by name; the user resolved from the
// image's own /etc/passwd and /etc/group (runc's GetExecUser rules).

import { existsSync, readFileSync } from "node:fs";
import { hostname as hostHostname, availableParallelism } from "node:os";
import { posix } from "node:path";
import { invalidArgument, notFound, notImplemented } from "../sys/errdefs.ts";
import { resolveInRoot } from "./resolve-in-root.ts";
import { parseSignal, signalName } from "../sys/signals.ts";
import { defaultSeccomp } from "../seccomp/default-profile.ts";
import type { Mount, Spec } from "../runtime/spec/types.ts";

/** The `config` object of an OCI image config (config.md "Properties"). */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
}

/** The image config document (application/vnd.oci.image.config.v1+json). */
export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  created?: string;
  config?: ImageConfig;
  rootfs?: { type: string; diff_ids: string[] };
  history?: unknown[];
}

/** What `berth run` flags change. Absent fields keep the image's value or Docker's default. */
export interface RunOverrides {
  /** --entrypoint: replaces the image's Entrypoint and drops its Cmd ([] clears both). */
  entrypoint?: string[];
  /** The command after the image name: replaces the image's Cmd. */
  args?: string[];
  /** -e: "NAME=value" sets, "NAME" takes the value from `hostEnv` (dropped when unset there). */
  env?: string[];
  /** -w: absolute path. */
  workdir?: string;
  /** -u: "user", "uid", "user:group", "uid:gid" (and mixed). */
  user?: string;
  /** --group-add: more groups for the process, names from the image's /etc/group or gids. */
  groupAdd?: string[];
  hostname?: string;
  /** --read-only: the root filesystem is mounted read-only. */
  readOnly?: boolean;
  /** --memory, in bytes. */
  memory?: number;
  /** --pids-limit; 0 or negative: unlimited. */
  pidsLimit?: number;
  /** --cpus: fractional CPUs (a CFS quota over `cpuPeriod`). */
  cpus?: number;
  /** --cpu-period, µs: the period `cpus` is a share of (default 100 ms). */
  cpuPeriod?: number;
  /** -v: "SRC:DST[:ro|rw,…]" with an absolute host SRC, or already split. */
  binds?: (string | Bind)[];
  /** --network: own namespace with only loopback (none), or the host's (host). */
  network?: "none" | "host";
  /** -t */
  tty?: boolean;
}

export interface Bind {
  source: string;
  destination: string;
  readonly?: boolean;
  /** Extra mount options (propagation: rprivate, rshared…). */
  options?: string[];
}

export interface SpecOptions {
  /** Host path of the image's root filesystem (a mounted snapshot): /etc/passwd is read there. */
  rootfs: string;
  /** root.path in the spec; default `rootfs`. */
  rootPath?: string;
  overrides?: RunOverrides;
  /** Container ID: its first 12 characters are the default hostname, as in Docker. */
  id?: string;
  /** linux.cgroupsPath */
  cgroupsPath?: string;
  /** Docker's default seccomp profile (default) or none. */
  seccomp?: "default" | "unconfined";
  /** Where "NAME"-only -e values come from; default: none (such names are dropped). */
  hostEnv?: Record<string, string | undefined>;
  /** Image Volumes: reported only (default), or each mounted as an empty tmpfs. */
  imageVolumes?: "ignore" | "tmpfs";
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** From /etc/passwd; "/" when the user has no entry. */
  home: string;
  /** The passwd name, when the user has an entry. */
  name?: string;
}

export interface SpecFromImage {
  spec: Spec;
  /** Signal that asks the container to stop (image StopSignal, default SIGTERM). */
  stopSignal: string;
  /** Image Volumes (paths), sorted. */
  volumes: string[];
  /** Image ExposedPorts ("80/tcp"), sorted. */
  exposedPorts: string[];
  labels: Record<string, string>;
  user: ResolvedUser;
}

/** Docker's default capabilities (moby oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPS: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** Paths Docker hides (a file under /dev/null, a directory under an empty read-only tmpfs). */
export const DOCKER_MASKED_PATHS: readonly string[] = [
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const DOCKER_READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** Docker's PATH for an image that sets none (moby pkg/system DefaultPathEnv). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const MIN_MEMORY = 6 * 1024 * 1024; // Docker refuses less: the container would not even start.
const CPU_PERIOD = 100_000;

/** Docker's spec before any image or flag: a fresh object each call. */
export function dockerDefaultSpec(): Spec {
  const caps = [...DOCKER_DEFAULT_CAPS];
  const dev = (type: "c" | "b", major: number | undefined, minor: number | undefined, access: string) => ({
    allow: true, type, ...(major !== undefined ? { major } : {}), ...(minor !== undefined ? { minor } : {}), access,
  });
  return {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [],
      env: [],
      cwd: "/",
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      noNewPrivileges: false,
    },
    root: { path: "rootfs", readonly: false },
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "noexec", "nodev"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    ],
    linux: {
      namespaces: [{ type: "mount" }, { type: "network" }, { type: "uts" }, { type: "pid" }, { type: "ipc" }],
      maskedPaths: [...DOCKER_MASKED_PATHS],
      readonlyPaths: [...DOCKER_READONLY_PATHS],
      resources: {
        // Docker's device cgroup: deny all, then mknod of anything and the standard nodes.
        devices: [
          { allow: false, access: "rwm" },
          dev("c", undefined, undefined, "m"), dev("b", undefined, undefined, "m"),
          dev("c", 1, 3, "rwm"), dev("c", 1, 8, "rwm"), dev("c", 1, 7, "rwm"), dev("c", 5, 0, "rwm"),
          dev("c", 1, 5, "rwm"), dev("c", 1, 9, "rwm"), dev("c", 136, undefined, "rwm"), dev("c", 5, 2, "rwm"),
        ],
      },
    },
  };
}

// ---- users -------------------------------------------------------------------------------

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const isId = (s: string) => /^\d+$/.test(s);
const MAX_ID = 2 ** 31 - 1;

/** passwd(5) lines; malformed lines are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 7 || !isId(f[2]!) || !isId(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** group(5) lines; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 4 || !isId(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").map((m) => m.trim()).filter((m) => m !== "") });
  }
  return out;
}

/** A file of the image (an image's /etc/passwd may be a link; it must never lead to the host's). */
function readInRoot(root: string, path: string): string | undefined {
  const p = resolveInRoot(root, path);
  if (p === undefined) return undefined;
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

function checkId(n: number, what: string, input: string): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_ID) {
    throw invalidArgument(`user ${JSON.stringify(input)}: ${what} ${n} is out of range (0-${MAX_ID})`, "user");
  }
  return n;
}

/**
 * Resolve Docker's -u / image User ("name", "uid", "name:group", "uid:gid", mixed) against the
 * image's /etc/passwd and /etc/group under `rootfs`:
 *   - a name must have a passwd entry; a uid need not (then gid 0 and home "/");
 *   - without a group, the gid is the passwd entry's and the additional groups are every group
 *     that lists the user as a member; with an explicit group there are none (runc's rule);
 *   - "" is root.
 */
export function resolveUser(rootfs: string, spec: string): ResolvedUser {
  const input = spec.trim();
  const colon = input.indexOf(":");
  const userArg = colon < 0 ? input : input.slice(0, colon);
  const groupArg = colon < 0 ? "" : input.slice(colon + 1);
  if (colon >= 0 && groupArg === "") throw invalidArgument(`user ${JSON.stringify(spec)}: the group after ":" is empty`, "user");
  const passwdText = readInRoot(rootfs, "/etc/passwd");
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  const u = userArg === "" ? "0" : userArg;

  const entry = passwd.find((e) => e.name === u || (isId(u) && e.uid === Number(u)));
  if (!entry && !isId(u)) {
    const why = passwdText === undefined ? "the image has no /etc/passwd" : "no matching entries in passwd file";
    throw notFound(`unable to find user ${u}: ${why}; use a numeric uid or add the user to the image`, "user");
  }
  const uid = checkId(entry ? entry.uid : Number(u), "uid", spec);
  let gid = entry ? entry.gid : 0;
  let additionalGids: number[] = [];

  if (groupArg !== "" || entry) {
    const groupText = readInRoot(rootfs, "/etc/group");
    const groups = groupText === undefined ? [] : parseGroup(groupText);
    if (groupArg !== "") {
      const g = groups.find((e) => e.name === groupArg) ?? (isId(groupArg) ? { gid: Number(groupArg) } : undefined);
      if (!g) {
        const why = groupText === undefined ? "the image has no /etc/group" : "no matching entries in group file";
        throw notFound(`unable to find group ${groupArg}: ${why}; use a numeric gid or add the group to the image`, "user");
      }
      gid = g.gid;
    } else if (entry) {
      additionalGids = [...new Set(groups.filter((g) => g.members.includes(entry!.name)).map((g) => g.gid))];
    }
  }
  checkId(gid, "gid", spec);
  return { uid, gid, additionalGids, home: entry?.home || "/", ...(entry ? { name: entry.name } : {}) };
}

/**
 * Docker's --group-add (and the CRI's supplemental_groups): each a group name of the image's
 * /etc/group or a numeric gid, which need not exist there. An unknown name is an error naming it.
 */
export function resolveGroups(rootfs: string, names: readonly string[]): number[] {
  if (names.length === 0) return [];
  let groups: GroupEntry[] | undefined;
  return names.map((n) => {
    const name = n.trim();
    if (isId(name)) return checkId(Number(name), "gid", name);
    const entry = (groups ??= parseGroup(readInRoot(rootfs, "/etc/group") ?? "")).find((g) => g.name === name);
    if (!entry) throw notFound(`unable to find group ${JSON.stringify(name)} for --group-add: no matching entry in the image's /etc/group; use a numeric gid or add the group to the image`, "group-add");
    return entry.gid;
  });
}

/** The process's user for `spec` (resolveUser) with the --group-add groups among its additional ones. */
export function processUser(rootfs: string, spec: string, groupAdd: readonly string[] = []): { user: { uid: number; gid: number; additionalGids?: number[] }; resolved: ResolvedUser } {
  const resolved = resolveUser(rootfs, spec);
  const additionalGids = [...new Set([...resolved.additionalGids, ...resolveGroups(rootfs, groupAdd)])];
  return { user: { uid: resolved.uid, gid: resolved.gid, ...(additionalGids.length ? { additionalGids } : {}) }, resolved };
}

// ---- env, args, mounts ---------------------------------------------------------------------

/** Set or replace NAME=value entries, keeping the position of a name's first appearance. */
function mergeEnv(into: string[], entries: readonly string[]): void {
  for (const e of entries) {
    const eq = e.indexOf("=");
    const name = eq < 0 ? e : e.slice(0, eq);
    const i = into.findIndex((x) => x === name || x.startsWith(`${name}=`));
    if (i >= 0) into[i] = e;
    else into.push(e);
  }
}

function userEnv(env: readonly string[], hostEnv: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const e of env) {
    const eq = e.indexOf("=");
    const name = eq < 0 ? e : e.slice(0, eq);
    if (name === "" || /\s/.test(name)) throw invalidArgument(`environment variable ${JSON.stringify(e)}: invalid name; use NAME=value`, "env");
    if (eq >= 0) out.push(e);
    else if (hostEnv[name] !== undefined) out.push(`${name}=${hostEnv[name]}`);
  }
  return out;
}

/** An absolute container path without "..", "." or a trailing slash. */
const cleanPath = (p: string) => {
  const n = posix.normalize(posix.join("/", p));
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
};

const depth = (p: string) => p.split("/").filter((c) => c !== "").length;

const BIND_MODES = new Set(["ro", "rw", "z", "Z", "nocopy", "private", "rprivate", "shared", "rshared", "slave", "rslave"]);

/** Docker's -v "SRC:DST[:opts]" for host paths (named volumes come with a volume store). */
export function parseBind(input: string | Bind): Mount {
  let b: Bind;
  if (typeof input === "string") {
    const parts = input.split(":");
    if (parts.length < 2 || parts.length > 3 || parts[0] === "" || parts[1] === "") {
      throw invalidArgument(`bind ${JSON.stringify(input)}: use SOURCE:DESTINATION[:ro]`, "binds");
    }
    const opts = parts[2] === undefined ? [] : parts[2].split(",");
    for (const o of opts) if (!BIND_MODES.has(o)) throw invalidArgument(`bind ${JSON.stringify(input)}: unknown option ${JSON.stringify(o)}`, "binds");
    b = { source: parts[0]!, destination: parts[1]!, readonly: opts.includes("ro"), options: opts.filter((o) => /^r?(private|shared|slave)$/.test(o)) };
  } else {
    b = input;
  }
  const label = typeof input === "string" ? input : `${b.source}:${b.destination}`;
  if (!b.source.startsWith("/")) {
    throw notImplemented(`bind ${JSON.stringify(label)}: ${JSON.stringify(b.source)} is not an absolute host path; named volumes are not supported yet`, "binds");
  }
  if (!b.destination.startsWith("/")) throw invalidArgument(`bind ${JSON.stringify(label)}: the destination must be an absolute path in the container`, "binds");
  const destination = cleanPath(b.destination);
  if (destination === "/") throw invalidArgument(`bind ${JSON.stringify(label)}: cannot bind over the container's root`, "binds");
  if (!existsSync(b.source)) throw notFound(`bind ${JSON.stringify(label)}: the host path ${b.source} does not exist; create it first`, "binds");
  return { destination, type: "bind", source: b.source, options: ["rbind", b.readonly ? "ro" : "rw", ...(b.options ?? [])] };
}

// ---- the conversion ------------------------------------------------------------------------

/** Build the runtime Spec for a container of an image (see the file comment). */
export function specFromImage(image: ImageConfigFile | ImageConfig, opts: SpecOptions): SpecFromImage {
  const cfg: ImageConfig = isConfigFile(image) ? (image.config ?? {}) : image;
  const o = opts.overrides ?? {};
  const spec = dockerDefaultSpec();
  const proc = spec.process!;
  const linux = spec.linux!;

  // Command: an --entrypoint override drops the image's Cmd too (Docker).
  const entrypoint = o.entrypoint ?? cfg.Entrypoint ?? [];
  const cmd = o.args && o.args.length > 0 ? o.args : o.entrypoint !== undefined ? [] : (cfg.Cmd ?? []);
  proc.args = [...entrypoint, ...cmd];
  if (proc.args.length === 0) {
    throw invalidArgument("no command to run: the image has no Entrypoint or Cmd; give one after the image name", "args");
  }

  // Working directory.
  let cwd = "/";
  if (o.workdir !== undefined && o.workdir !== "") {
    if (!o.workdir.startsWith("/")) throw invalidArgument(`working directory ${JSON.stringify(o.workdir)} must be an absolute path`, "workdir");
    cwd = cleanPath(o.workdir);
  } else if (cfg.WorkingDir) {
    cwd = cleanPath(cfg.WorkingDir);
  }
  proc.cwd = cwd;

  // User.
  const { user: procUser, resolved: user } = processUser(opts.rootfs, o.user ?? cfg.User ?? "", o.groupAdd);
  proc.user = procUser;

  // Hostname: given, else the host's for host networking, else the ID's first 12 characters.
  const host = o.network === "host";
  const hostname = o.hostname ?? (host ? hostHostname() : (opts.id?.slice(0, 12) || "localhost"));
  spec.hostname = hostname;

  // Environment, in Docker's order: defaults, then the image's, then -e; later names win.
  const env = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (o.tty) env.push("TERM=xterm");
  mergeEnv(env, cfg.Env ?? []);
  mergeEnv(env, userEnv(o.env ?? [], opts.hostEnv ?? {}));
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${user.home}`);
  proc.env = env;
  proc.terminal = o.tty ?? false;

  // Root and namespaces.
  spec.root = { path: opts.rootPath ?? opts.rootfs, readonly: o.readOnly ?? false };
  if (host) linux.namespaces = linux.namespaces!.filter((n) => n.type !== "network");
  if (opts.cgroupsPath !== undefined) linux.cgroupsPath = opts.cgroupsPath;

  // Limits.
  const res = linux.resources!;
  if (o.memory !== undefined) {
    if (!Number.isSafeInteger(o.memory) || o.memory < MIN_MEMORY) {
      throw invalidArgument(`memory limit ${o.memory} bytes is below the minimum of 6 MiB`, "memory");
    }
    res.memory = { limit: o.memory };
  }
  if (o.pidsLimit !== undefined) {
    if (!Number.isSafeInteger(o.pidsLimit)) throw invalidArgument(`pids limit ${o.pidsLimit} is not an integer`, "pidsLimit");
    if (o.pidsLimit > 0) res.pids = { limit: o.pidsLimit };
  }
  if (o.cpus !== undefined) {
    const max = availableParallelism();
    if (!Number.isFinite(o.cpus) || o.cpus < 0.01 || o.cpus > max) {
      throw invalidArgument(`--cpus ${o.cpus}: the range is 0.01 to ${max}, as there are ${max} CPUs available`, "cpus");
    }
    const period = o.cpuPeriod ?? CPU_PERIOD;
    res.cpu = { quota: Math.round(o.cpus * period), period };
  }

  // Mounts: defaults, then image volumes and binds sorted parents-first; a user mount at a
  // default's destination replaces it.
  const extra: Mount[] = [];
  const volumes = Object.keys(cfg.Volumes ?? {}).map(cleanPath).sort();
  if (opts.imageVolumes === "tmpfs") {
    for (const v of volumes) extra.push({ destination: v, type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "mode=755"] });
  }
  for (const b of o.binds ?? []) {
    const m = parseBind(b);
    const i = extra.findIndex((x) => x.destination === m.destination);
    if (i >= 0) extra.splice(i, 1);
    extra.push(m);
  }
  extra.sort((a, b) => depth(a.destination) - depth(b.destination));
  const taken = new Set(extra.map((m) => m.destination));
  spec.mounts = [...spec.mounts!.filter((m) => !taken.has(m.destination)), ...extra];

  if ((opts.seccomp ?? "default") === "default") linux.seccomp = defaultSeccomp(proc.capabilities!.bounding!);

  const stopSignal = signalName(parseSignalField(cfg.StopSignal));
  return {
    spec,
    stopSignal,
    volumes,
    exposedPorts: Object.keys(cfg.ExposedPorts ?? {}).sort(),
    labels: { ...(cfg.Labels ?? {}) },
    user,
  };
}

function parseSignalField(s: string | undefined): number {
  if (s === undefined || s === "") return 15;
  try {
    return parseSignal(s);
  } catch {
    throw invalidArgument(`the image's StopSignal ${JSON.stringify(s)} is not a signal`, "config.StopSignal");
  }
}

function isConfigFile(x: ImageConfigFile | ImageConfig): x is ImageConfigFile {
  return typeof x === "object" && x !== null && ("config" in x || "rootfs" in x || "architecture" in x);
}
