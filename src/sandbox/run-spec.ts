// The OCI config of one run: what runtime/config.ts checks and runtime/plan turns into steps. The
// run gets new pid, mount, ipc, uts and cgroup namespaces (and network, unless asked for the
// host's), no capabilities, no_new_privs, a seccomp profile, rlimits from its limits, a cgroup
// under the caller's own, /proc, a small /dev, /tmp and /dev/shm on the run's tmpfs, and binds.
// The process is berth-sandbox-init, from fd 3, which runs the program (native/berth-sandbox-init.c).
import { join } from "node:path";
import type { Mount, Seccomp, Spec } from "../runtime/spec/types.ts";
import type { ResolvedRun } from "./options.ts";

/** The masked and read-only paths of runc's default spec, less /sys (not mounted in a run). */
const MASKED = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi"];
const READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** fd 3 of the run: berth-sandbox-init; fd 4: its status channel (see the C file). */
export const INIT_EXEC = "/proc/self/fd/3";

export interface RunSpecContext {
  readonly id: string;
  /** The rw template (rootfs.ts): root/ is the run's root, tmp/ and shm/ its scratch dirs. */
  readonly template: string;
  /** The seccomp profile, with listenerPath when it uses SCMP_ACT_NOTIFY. */
  readonly seccomp: Seccomp;
  /** Whether the host has swap: then memory+swap is limited too, so swap cannot extend memory. */
  readonly swap: boolean;
}

export function cgroupsPathOf(id: string): string {
  return `berth-sandbox-${id}`;
}

export function runSpec(r: ResolvedRun, ctx: RunSpecContext): Spec {
  const l = r.limits;
  const cpuSeconds = Math.ceil(l.cpuMs / 1000) + 1;
  const rlimit = (type: string, soft: number, hard = soft) => ({ type, soft, hard });
  const mounts: Mount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "strictatime", "mode=755", "size=64k"] },
    { destination: "/tmp", type: "bind", source: join(ctx.template, "tmp"), options: ["rbind", "nosuid", "nodev"] },
    { destination: "/dev/shm", type: "bind", source: join(ctx.template, "shm"), options: ["rbind", "nosuid", "nodev", "noexec"] },
    ...r.binds.map((b): Mount => ({ destination: b.target, type: "bind", source: b.source, options: ["rbind", "nosuid", "nodev", b.readOnly ? "rro" : "rw"] })),
  ];
  const listener = ctx.seccomp.listenerPath ? { listenerMetadata: ctx.id } : {};
  return {
    ociVersion: "1.0.2",
    root: { path: join(ctx.template, "root"), readonly: r.readOnly },
    hostname: r.hostname,
    process: {
      terminal: false,
      user: { uid: r.uid, gid: r.gid },
      args: [INIT_EXEC, ...r.argv],
      env: [...r.env],
      cwd: r.cwd,
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
      rlimits: [
        // The CPU watch ends the run at the limit; RLIMIT_CPU (whole seconds, per process) is the
        // backstop should the watching process stall: SIGXCPU a second past it, SIGKILL after two.
        rlimit("RLIMIT_CPU", cpuSeconds, cpuSeconds + 1),
        rlimit("RLIMIT_FSIZE", l.fileSizeBytes),
        rlimit("RLIMIT_NOFILE", l.openFiles),
        rlimit("RLIMIT_STACK", l.stackBytes),
        rlimit("RLIMIT_CORE", 0),
      ],
      noNewPrivileges: true,
    },
    mounts,
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "cgroup" }, ...(r.network ? [] : [{ type: "network" as const }])],
      cgroupsPath: cgroupsPathOf(ctx.id),
      resources: {
        // Deny first: without it a v1 devices cgroup inherits its parent's "allow all".
        devices: [{ allow: false, access: "rwm" }],
        ...(l.memoryBytes > 0 ? { memory: { limit: l.memoryBytes, ...(ctx.swap ? { swap: l.memoryBytes } : {}) } } : {}),
        // The run's init is one more task than the program's own.
        ...(l.pids > 0 ? { pids: { limit: l.pids + 1 } } : {}),
      },
      maskedPaths: MASKED,
      readonlyPaths: READONLY,
      seccomp: { ...ctx.seccomp, ...listener },
    },
  };
}
