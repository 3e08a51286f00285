// What a run used, read from its cgroup — the kernel's own count over every process and thread
// the run ever had, including those already gone — and how to end the whole run at once.
//   CPU time   v1 cpuacct.usage (ns); v2 cpu.stat usage_usec (cgroup-v1/cpuacct.rst, cgroup-v2.rst)
//   peak       v1 memory.max_usage_in_bytes; v2 memory.peak
//   OOM kills  v1 memory.oom_control "oom_kill" (4.13+); v2 memory.events "oom_kill"
//   pids       pids.events "max": forks refused at pids.max (v2; v1 has the file too on this 6.18 kernel)
// Only these few files are read (not CgroupManager.stats(), which reads every controller): the CPU
// time is polled while the run goes on.
//
// The counters start when the program does (start()): the run's init waits for the library before
// it forks the program, so berth-init's setup (mounts, pivot_root, the seccomp load) is not charged
// to the program. CPU: the usage at start is subtracted. Peak: v1 resets memory.max_usage_in_bytes
// to the current usage by a write (memory.rst §5.1 "max_usage_in_bytes"); v2 resets memory.peak
// for the file descriptor that writes it, so that one fd is kept and read at the end
// (cgroup-v2.rst "memory.peak", Linux 6.12+; older kernels refuse the write and report the peak
// since the cgroup was made, setup included).
import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { CgroupManager } from "../cgroups/manager.ts";
import { parseFlatKeyed } from "../cgroups/stats.ts";

export interface Usage {
  readonly cpuNs: number;
  readonly peakBytes: number;
  readonly oomKills: number;
  /** Forks or clones the kernel refused because the run was at pids.max (0 without pids.events). */
  readonly pidsRefused: number;
}

function read(dir: string | undefined, file: string): string | undefined {
  if (dir === undefined) return undefined;
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch {
    return undefined;
  }
}

export class RunCgroup {
  private readonly cpuFile: [string | undefined, string];
  private readonly memDir: string | undefined;
  private readonly pidsDir: string | undefined;

  private cpuBase = 0;
  private peakFd: number | undefined;

  constructor(readonly cg: CgroupManager) {
    const p = cg.paths;
    if (cg.driver === "v2") {
      this.cpuFile = [p[""], "cpu.stat"];
      this.memDir = p[""];
      this.pidsDir = p[""];
    } else {
      this.cpuFile = [p.cpuacct, "cpuacct.usage"];
      this.memDir = p.memory;
      this.pidsDir = p.pids;
    }
  }

  private rawCpuNs(): number {
    const text = read(...this.cpuFile);
    if (text === undefined) return 0;
    if (this.cg.driver === "v2") return (parseFlatKeyed(text).usage_usec ?? 0) * 1000;
    return Number(text.trim()) || 0;
  }

  /** The program starts now: count from here. */
  start(): void {
    this.cpuBase = this.rawCpuNs();
    if (this.memDir === undefined) return;
    if (this.cg.driver === "v1") {
      try {
        writeFileSync(join(this.memDir, "memory.max_usage_in_bytes"), "0");
      } catch {
        // not resettable here: the peak then includes the setup
      }
      return;
    }
    try {
      const fd = openSync(join(this.memDir, "memory.peak"), "r+");
      this.peakFd = fd;
      writeSync(fd, "reset\n");
    } catch {
      // a kernel before 6.12: the peak since the cgroup was made (fd kept: it still reads it)
    }
  }

  /** CPU time since start(), in nanoseconds. */
  cpuNs(): number {
    return Math.max(0, this.rawCpuNs() - this.cpuBase);
  }

  private peak(): number {
    if (this.peakFd !== undefined) {
      const buf = Buffer.alloc(64);
      const n = readSync(this.peakFd, buf, 0, buf.length, 0);
      return Number(buf.toString("utf8", 0, n).trim()) || 0;
    }
    return Number(read(this.memDir, this.cg.driver === "v2" ? "memory.peak" : "memory.max_usage_in_bytes")?.trim() ?? 0) || 0;
  }

  /** Release what start() holds. */
  close(): void {
    if (this.peakFd !== undefined) closeSync(this.peakFd);
    this.peakFd = undefined;
  }

  usage(): Usage {
    const v2 = this.cg.driver === "v2";
    const peak = this.peak();
    const oom = parseFlatKeyed(read(this.memDir, v2 ? "memory.events" : "memory.oom_control") ?? "").oom_kill ?? 0;
    const events = read(this.pidsDir, "pids.events");
    return { cpuNs: this.cpuNs(), peakBytes: peak, oomKills: oom, pidsRefused: parseFlatKeyed(events ?? "").max ?? 0 };
  }

  /**
   * SIGKILL every process of the run. v2: cgroup.kill (5.14+), atomic even against forks in
   * flight. v1: each pid in cgroup.procs, the init's first — its death makes the kernel kill the
   * rest of the pid namespace (pid_namespaces(7)), forks in flight included.
   */
  kill(initPid: number): void {
    if (this.cg.driver === "v2") {
      try {
        writeFileSync(join(this.cg.paths[""]!, "cgroup.kill"), "1");
        return;
      } catch {
        // an older kernel: signal the pids below
      }
    }
    const pids = this.cg.processes();
    for (const pid of [initPid, ...pids.filter((p) => p !== initPid)]) {
      if (!pids.includes(pid)) continue; // only what is in the run's cgroup: never a reused pid
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
