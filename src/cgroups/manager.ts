// One interface for placing a container in its cgroup and applying `linux.resources`, one driver
// per layout (crun's cgroup.c + cgroup-cgroupfs.c habit): v1.ts for cgroup v1 and hybrid hosts,
// v2.ts for the unified hierarchy. The systemd driver is not implemented.

import * as fs from "node:fs";
import { failedPrecondition } from "../sys/errdefs.ts";
import { realCgroupFs, type CgroupFs } from "./files.ts";
import {
  detectLayout,
  normalizeCgroupsPath,
  parseMountinfo,
  parseProcCgroup,
  type CgroupLayout,
  type CgroupMount,
  type ProcCgroup,
} from "./paths.ts";
import type { LinuxResources } from "./resources.ts";
import type { CgroupStats } from "./stats.ts";
import { V1Manager } from "./v1.ts";
import { V2Manager, type DeviceProgramSetter } from "./v2.ts";

export type { CgroupLayout } from "./paths.ts";

export type FreezerState = "THAWED" | "FREEZING" | "FROZEN";

export interface CgroupManager {
  readonly driver: "v1" | "v2";
  /** The host layout the driver was chosen for. */
  readonly layout: CgroupLayout;
  /**
   * Controller → absolute directory (runc's state.json `cgroup_paths`). v1 lists every controller
   * (co-mounted ones share a directory, named hierarchies appear as "name=systemd"); v2 has the
   * single key "" like runc.
   */
  readonly paths: Readonly<Record<string, string>>;
  /** Settings this host cannot enforce and that were skipped (say so in `doctor`/--debug). */
  readonly warnings: readonly string[];

  /**
   * mkdir -p the cgroup in every hierarchy and apply `resources`. Validates first; on any failure
   * removes the directories it created and throws a BerthError naming the config field.
   */
  create(resources?: LinuxResources): void;
  /** cgroup.procs files the init pid must be written to (berth-init does that itself). */
  procsFiles(): string[];
  /** v1: the hierarchies' `tasks` files (not the hybrid host's unified directory). */
  tasksFiles?(): string[];
  /** v1 on a hybrid host: the container's directory in the cgroup2 hierarchy. */
  unifiedDir?(): string | undefined;
  /** Move a process in (TypeScript-side joins, e.g. exec). */
  addProcess(pid: number): void;
  /** PIDs in the container's cgroup and its descendants. */
  processes(): number[];
  /** Re-apply changed limits to a live cgroup (`runc update`). */
  update(resources: LinuxResources): void;
  freeze(): void;
  thaw(): void;
  freezerState(): FreezerState;
  stats(): CgroupStats;
  /** How many times the kernel's OOM killer killed a task of this cgroup (0 when unknown). */
  oomEvents(): number;
  /** Remove the cgroup (SIGKILLs what is still inside). Idempotent. */
  destroy(): void;
}

export interface OpenCgroupOptions {
  /** `linux.cgroupsPath`; empty or undefined means a path relative to our own cgroup named `id`. */
  cgroupsPath?: string;
  /** Container id. */
  id: string;
  /** /proc/self/mountinfo text (tests). */
  mountinfo?: string;
  /** /proc/self/cgroup text (tests). */
  procSelfCgroup?: string;
  /** File operations (tests run the drivers on a temp dir). */
  fs?: CgroupFs;
  /**
   * Pick the driver instead of following the layout. "v2" on a hybrid host drives its cgroup2
   * mount (on this machine /sys/fs/cgroup/unified, which has no controllers): for tests.
   */
  driver?: "v1" | "v2";
  /** Re-open a known cgroup from saved `paths` (state.json) instead of resolving cgroupsPath. */
  paths?: Record<string, string>;
  /** The host's cgroup mounts, when the caller has read them already (one read per command). */
  host?: HostCgroups;
  /**
   * v2: what puts the compiled device program on the cgroup (default: bpf.ts, through bun:ffi).
   * The runtime's create hands it to berth-init instead, which loads it with bpf(2) directly.
   */
  setDevices?: DeviceProgramSetter;
}

/** Shared result of reading the host's cgroup mounts, for drivers. */
export interface HostCgroups {
  layout: CgroupLayout;
  mounts: CgroupMount[];
  self: ProcCgroup;
}

export function readHostCgroups(opts: Pick<OpenCgroupOptions, "mountinfo" | "procSelfCgroup">): HostCgroups {
  const mounts = parseMountinfo(opts.mountinfo ?? fs.readFileSync("/proc/self/mountinfo", "utf8"));
  const self = parseProcCgroup(opts.procSelfCgroup ?? fs.readFileSync("/proc/self/cgroup", "utf8"));
  return { layout: detectLayout(mounts), mounts, self };
}

/** Detect the layout, resolve the paths (no file system writes) and return the driver. */
export function openCgroupManager(opts: OpenCgroupOptions): CgroupManager {
  const cfs = opts.fs ?? realCgroupFs;
  const host = opts.host ?? readHostCgroups(opts);
  const driver = opts.driver ?? (host.layout === "v2" ? "v2" : "v1");
  if (driver === "v2") {
    if (opts.paths) return V2Manager.fromPaths(host.layout, opts.paths, cfs);
    const mount = host.mounts.find((m) => m.fsType === "cgroup2" && m.mountPoint === "/sys/fs/cgroup")
      ?? host.mounts.find((m) => m.fsType === "cgroup2");
    if (!mount) throw failedPrecondition("no cgroup2 file system is mounted; cannot use the cgroup v2 driver");
    return V2Manager.resolve(host.layout, mount, host.self, normalizeCgroupsPath(opts.cgroupsPath, opts.id), cfs, ...(opts.setDevices ? [opts.setDevices] : []));
  }
  if (opts.paths) return V1Manager.fromPaths(host.layout, opts.paths, host.mounts, cfs);
  return V1Manager.resolve(host.layout, host.mounts, host.self, normalizeCgroupsPath(opts.cgroupsPath, opts.id), cfs);
}

/**
 * How the init gets into its cgroup: cloned straight into the cgroup2 directory (v2, or the hybrid
 * host's unified one), v1 hierarchies joined by the child itself through `tasks` (or by the parent
 * writing cgroup.procs when a user namespace takes the child's rights on host files).
 */
export function cgroupPlacement(cg: CgroupManager | undefined): { cgroupProcs: string[]; cgroupTasks?: string[]; cgroupInto?: string } {
  if (!cg) return { cgroupProcs: [] };
  if (cg.driver === "v2") return { cgroupProcs: [], cgroupInto: cg.procsFiles()[0]!.replace(/\/cgroup\.procs$/, "") };
  const into = cg.unifiedDir?.();
  const tasks = cg.tasksFiles?.() ?? [];
  return { cgroupProcs: tasks.map((t) => t.replace(/\/tasks$/, "/cgroup.procs")), cgroupTasks: tasks, ...(into ? { cgroupInto: into } : {}) };
}
