// The config.json `berth-runtime spec` writes: the same defaults as `runc spec` (so bundles move
// between runtimes unchanged), and with rootless the changes `runc spec --rootless` makes: a user
// namespace mapping the caller to root, no network namespace, /sys bound from the host, no limits.
import type { Spec } from "./types.ts";

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export function defaultSpec(opts: { rootless?: boolean; uid?: number; gid?: number } = {}): Spec {
  const spec: Spec = {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runc",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
  if (!opts.rootless) return spec;
  const linux = spec.linux!;
  linux.uidMappings = [{ containerID: 0, hostID: opts.uid ?? process.geteuid!(), size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: opts.gid ?? process.getegid!(), size: 1 }];
  linux.namespaces = [...linux.namespaces!.filter((n) => n.type !== "network" && n.type !== "user"), { type: "user" }];
  delete linux.resources;
  spec.mounts = spec.mounts!.map((m) => {
    if (m.destination === "/sys") return { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] };
    if (m.type === "devpts") return { ...m, options: m.options!.filter((o) => o !== "gid=5") };
    return m;
  });
  return spec;
}
