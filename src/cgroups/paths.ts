// Where cgroups live: parse /proc/self/mountinfo and /proc/self/cgroup, decide the layout, and
// resolve an OCI `linux.cgroupsPath` to one directory per hierarchy. Pure functions over text so
// unit tests feed fake files (no root needed).

import { posix } from "node:path";
import { invalidArgument, notImplemented } from "../sys/errdefs.ts";

export type CgroupLayout = "v1" | "hybrid" | "v2";

/** One cgroup file system mount. */
export interface CgroupMount {
  /** "cgroup" (v1) or "cgroup2". */
  fsType: "cgroup" | "cgroup2";
  /** Where it is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** The cgroup the mount shows as its top (not "/" inside containers with a cgroup bind mount). */
  root: string;
  /** v1: controllers of this hierarchy, with named hierarchies as "name=systemd". v2: []. */
  controllers: string[];
}

/** v1 controllers berth knows how to drive or at least join. */
export const V1_CONTROLLERS = [
  "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
  "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc", "name=systemd",
] as const;

/** mountinfo escapes space, tab, newline and backslash as \ooo (proc(5)). */
function unescapeMountinfo(s: string): string {
  if (!s.includes("\\")) return s;
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    // Every other file system's line is skipped before it is split (this runs cold, per command).
    if (line === "" || !line.includes(" - cgroup")) continue;
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" (proc(5)):
    // optional fields end at " - ", so split there first.
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    const fsType = right[0];
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    const root = left[3];
    const mountPoint = left[4];
    if (root === undefined || mountPoint === undefined) continue;
    const superOpts = (right[2] ?? "").split(",");
    const controllers =
      fsType === "cgroup"
        ? superOpts.filter((o) => o.startsWith("name=") || (V1_CONTROLLERS as readonly string[]).includes(o))
        : [];
    out.push({ fsType, mountPoint: unescapeMountinfo(mountPoint), root: unescapeMountinfo(root), controllers });
  }
  return out;
}

/** /proc/self/cgroup: "hierarchy-ID:controller-list:cgroup-path" (cgroups(7)). */
export interface ProcCgroup {
  /** v1 controller (or "name=x") → path; one entry per controller of a co-mounted hierarchy. */
  v1: Map<string, string>;
  /** The "0::" line's path, when present. */
  unified?: string;
}

export function parseProcCgroup(text: string): ProcCgroup {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const a = line.indexOf(":");
    const b = line.indexOf(":", a + 1);
    if (a < 0 || b < 0) continue;
    const id = line.slice(0, a);
    const ctrls = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (id === "0" && ctrls === "") {
      unified = path;
      continue;
    }
    for (const c of ctrls.split(",")) if (c !== "") v1.set(c, path);
  }
  return unified === undefined ? { v1 } : { v1, unified };
}

/**
 * v2 when the only cgroup file system is cgroup2 (or a cgroup2 sits at /sys/fs/cgroup itself);
 * hybrid when v1 hierarchies and a cgroup2 mount coexist (systemd's "hybrid" mode: controllers
 * stay on v1, so the v1 driver is used — runc's fs driver does the same); v1 otherwise.
 */
export function detectLayout(mounts: CgroupMount[], base = "/sys/fs/cgroup"): CgroupLayout {
  const v2 = mounts.filter((m) => m.fsType === "cgroup2");
  const v1 = mounts.filter((m) => m.fsType === "cgroup" && m.controllers.some((c) => !c.startsWith("name=")));
  if (v2.some((m) => m.mountPoint === base)) return "v2";
  if (v1.length === 0) {
    if (v2.length > 0) return "v2";
    throw notImplemented("no cgroup file system is mounted (looked in /proc/self/mountinfo)");
  }
  return v2.length > 0 ? "hybrid" : "v1";
}

/** runc's systemd driver syntax "slice:prefix:name" (used with --systemd-cgroup). */
export function isSystemdCgroupsPath(p: string): boolean {
  return /^[^/:]*:[^/:]*:[^/:]+$/.test(p);
}

/**
 * The cgroup (as seen from the hierarchy root) the container goes into, before it is placed
 * under a mount. Absolute paths stay absolute; relative ones are returned relative and are later
 * joined to the caller's own cgroup. ".." cannot climb out: the path is cleaned as if rooted at
 * "/" first (what runc's CleanPath does, so "../../x" is "x").
 */
export function normalizeCgroupsPath(cgroupsPath: string | undefined, id: string): { path: string; absolute: boolean } {
  const field = "linux.cgroupsPath";
  let p = cgroupsPath ?? "";
  if (p === "") {
    if (id === "" || id.includes("/") || id === "." || id === "..") {
      throw invalidArgument(`container id ${JSON.stringify(id)} cannot name a cgroup`, "id");
    }
    p = id;
  }
  if (isSystemdCgroupsPath(p)) {
    throw notImplemented(
      `${field} ${JSON.stringify(p)} is a systemd "slice:prefix:name" path; the systemd cgroup driver is not implemented — use a plain path such as "/berth/${id}" or leave it empty`,
      field,
    );
  }
  if (p.includes("\0")) throw invalidArgument(`${field} contains a NUL byte`, field);
  const absolute = p.startsWith("/");
  const clean = posix.resolve("/", p);
  if (clean === "/") {
    throw invalidArgument(`${field} ${JSON.stringify(p)} names the root cgroup; a container needs its own`, field);
  }
  return { path: absolute ? clean : clean.slice(1), absolute };
}

/**
 * Directory of `cgroup` (a path in the hierarchy, as /proc/self/cgroup prints it) under a mount
 * whose top is `mount.root`. Inside containers the mount root is often not "/", and
 * /proc/self/cgroup still prints full paths, so the root prefix is cut off.
 */
export function dirInMount(mount: CgroupMount, cgroup: string): string {
  let rel = cgroup;
  if (mount.root !== "/" && (rel === mount.root || rel.startsWith(mount.root + "/"))) {
    rel = rel.slice(mount.root.length);
  }
  return posix.join(mount.mountPoint, rel);
}

/**
 * Resolve the container's directory in one hierarchy. `own` is the caller's cgroup in that
 * hierarchy (from /proc/self/cgroup).
 */
export function resolveDir(
  mount: CgroupMount,
  target: { path: string; absolute: boolean },
  own: string | undefined,
): string {
  if (target.absolute) return posix.join(mount.mountPoint, target.path);
  return posix.join(dirInMount(mount, own ?? "/"), target.path);
}

/** The parent directory chain from `top` (exclusive) down to `dir` (inclusive). */
export function dirChain(top: string, dir: string): string[] {
  const rel = posix.relative(top, dir);
  if (rel === "" || rel.startsWith("..")) return [];
  const parts = rel.split("/");
  const out: string[] = [];
  let cur = top;
  for (const p of parts) {
    cur = posix.join(cur, p);
    out.push(cur);
  }
  return out;
}
