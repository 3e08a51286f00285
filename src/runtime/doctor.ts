// `berth-runtime doctor`: what this host can and cannot enforce, said before a container fails
// (DESIGN "Beyond the anchors"). Each check reads the kernel's own files; nothing is changed.
import { existsSync, readFileSync } from "node:fs";
import { readHostCgroups } from "../cgroups/manager.ts";

export type Verdict = "ok" | "warn" | "no";
export interface Check {
  readonly name: string;
  readonly verdict: Verdict;
  readonly detail: string;
}

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return undefined;
  }
};

function capEff(): bigint {
  const line = read("/proc/self/status")?.split("\n").find((l) => l.startsWith("CapEff:"));
  return line ? BigInt("0x" + line.split(/\s+/)[1]) : 0n;
}

function kernel(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(read("/proc/sys/kernel/osrelease") ?? "");
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function doctor(): Check[] {
  const out: Check[] = [];
  const add = (name: string, verdict: Verdict, detail: string) => out.push({ name, verdict, detail });
  const [major, minor] = kernel();
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);
  add("kernel", atLeast(5, 12) ? "ok" : "no", `${read("/proc/sys/kernel/osrelease")}: ${atLeast(5, 12) ? "has" : "lacks"} openat2, the new mount API and mount_setattr (5.12+), which berth-init needs`);

  const host = readHostCgroups({});
  const v1 = host.mounts.filter((m) => m.fsType === "cgroup").flatMap((m) => m.controllers);
  const v2 = host.mounts.find((m) => m.fsType === "cgroup2");
  const v2ctl = v2 ? (read(`${v2.mountPoint}/cgroup.controllers`) ?? "") : "";
  add("cgroup layout", host.layout === "hybrid" ? "warn" : "ok",
    host.layout === "hybrid"
      ? `hybrid: v1 controllers (${v1.join(", ")}) plus cgroup2 at ${v2?.mountPoint} with ${v2ctl ? `controllers "${v2ctl}"` : "no controllers"}; berth uses the v1 driver (crun refuses this layout)`
      : host.layout === "v2" ? `cgroup v2 at ${v2?.mountPoint}, controllers: ${v2ctl || "none"}` : `cgroup v1: ${v1.join(", ")}`);
  for (const ctl of ["memory", "pids", "cpu", "cpuset", "devices", "freezer"]) {
    const has = v1.includes(ctl) || v2ctl.split(" ").includes(ctl) || (ctl === "devices" && host.layout === "v2") || (ctl === "freezer" && host.layout === "v2");
    add(`cgroup ${ctl}`, has ? "ok" : "no", has ? "available" : `not available: linux.resources that need it are refused`);
  }
  const caps = capEff();
  add("CAP_SYS_RESOURCE", caps & (1n << 24n) ? "ok" : "warn", caps & (1n << 24n) ? "held: rlimits may be raised above the hard limits" : "missing: process.rlimits above this host's hard limits fail (podman's default nofile 1048576 among them); the engine raises an oom_score_adj below its own to its own (containerd's restrict_oom_score_adj: kubelet asks -998 for pod sandboxes)");
  add("CAP_SYS_ADMIN", caps & (1n << 21n) ? "ok" : "warn", caps & (1n << 21n) ? "held" : "missing: only rootless containers (a user namespace) are possible");
  const maxUserns = Number(read("/proc/sys/user/max_user_namespaces") ?? "0");
  const restricted = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1" || read("/proc/sys/kernel/unprivileged_userns_clone") === "0";
  add("user namespaces", maxUserns > 0 && !restricted ? "ok" : "warn", maxUserns === 0 ? "disabled (user.max_user_namespaces = 0): no user namespaces, no rootless" : restricted ? "unprivileged users may not create them: rootless berth-runtime fails" : `allowed (max ${maxUserns}), also for unprivileged users: rootless works`);
  add("time namespace", existsSync("/proc/self/ns/time") ? "ok" : "no", existsSync("/proc/self/ns/time") ? "available" : "not in this kernel: linux.timeOffsets cannot work");
  const seccomp = read("/proc/self/status")?.includes("Seccomp:") ?? false;
  const lib = ["/usr/lib/x86_64-linux-gnu/libseccomp.so.2", "/usr/lib/aarch64-linux-gnu/libseccomp.so.2", "/lib/x86_64-linux-gnu/libseccomp.so.2", "/usr/lib64/libseccomp.so.2", "/usr/lib/libseccomp.so.2"].find(existsSync);
  add("seccomp", seccomp && lib ? "ok" : "no", !seccomp ? "the kernel has no seccomp" : lib ? `filters compiled with ${lib}` : "libseccomp.so.2 is missing: apt-get install libseccomp2");
  const fs = read("/proc/filesystems") ?? "";
  add("overlayfs", /\toverlay$/m.test(fs) ? "ok" : "warn", /\toverlay$/m.test(fs) ? "available for image snapshots" : "not loaded: the native (copying) snapshotter is used");
  add("checkpoint/restore", "no", "not supported: CRIU does not work on this kernel");
  return out;
}
