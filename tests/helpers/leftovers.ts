// Finding and removing what a peer engine (containerd, podman) left on the host after a test:
// mounts under the test's temp dir, processes that carry the test's unique temp path on their
// command line, and `berth-test-*` cgroups. Every removal is by exact path or PID; nothing is
// matched by process name, and no cgroup outside a `berth-test-*` directory is ever written.

import * as fs from "node:fs";
import { posix } from "node:path";
import { runCommand } from "./run-command.ts";

interface MountLine {
  mountPoint: string;
  fsType: string;
}

/** Octal escapes (\040 for space…) as the kernel writes them in mountinfo (proc(5)). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function readMountinfo(): MountLine[] {
  const out: MountLine[] = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    if (!line) continue;
    const fields = line.split(" ");
    const sep = fields.indexOf("-");
    const mountPoint = fields[4];
    const fsType = sep >= 0 ? fields[sep + 1] : undefined;
    if (mountPoint === undefined || fsType === undefined) continue;
    out.push({ mountPoint: unescapeMountinfo(mountPoint), fsType });
  }
  return out;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/** Mount points at or below `dir`, deepest (most recently stacked) first. */
export function mountsUnder(dir: string): string[] {
  return readMountinfo()
    .map((m) => m.mountPoint)
    .filter((p) => isUnder(p, dir))
    .reverse();
}

/** Lazily unmounts everything at or below `dir`; returns what was mounted. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  // A mount can hide another one at the same point: loop until none is left (bounded).
  for (let round = 0; round < 20; round++) {
    const left = mountsUnder(dir);
    if (left.length === 0) break;
    for (const p of left) {
      found.push(p);
      await runCommand(["umount", "-l", p], { timeoutMs: 5_000 });
    }
  }
  return found;
}

/** PIDs of processes whose command line contains `marker` (a unique temp path), except us. */
export function pidsWithArg(marker: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    if (cmdline.includes(marker)) pids.push(pid);
  }
  return pids;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is gone as far as cleanup is concerned.
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

export function killPid(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves when the PID is gone. */
export async function stopPid(pid: number, graceMs = 3_000): Promise<void> {
  killPid(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await Bun.sleep(20);
  if (isAlive(pid)) killPid(pid, "SIGKILL");
  const hardDeadline = Date.now() + 3_000;
  while (isAlive(pid) && Date.now() < hardDeadline) await Bun.sleep(20);
}

/** Every mounted cgroup hierarchy (v1 controllers and the cgroup2 mount). */
export function cgroupMounts(): string[] {
  return readMountinfo()
    .filter((m) => m.fsType === "cgroup" || m.fsType === "cgroup2")
    .map((m) => m.mountPoint);
}

/** Existing `<hierarchy>/<relPath>` directories; relPath's first element must be berth-test-*. */
export function cgroupDirs(relPath: string): string[] {
  assertOurCgroup(relPath);
  return cgroupMounts()
    .map((m) => posix.join(m, relPath))
    .filter((d) => fs.existsSync(d));
}

function assertOurCgroup(relPath: string): void {
  const first = relPath.replace(/^\/+/, "").split("/")[0] ?? "";
  if (!first.startsWith("berth-test-")) throw new Error(`refusing to touch cgroup ${relPath}: not a berth-test-* cgroup`);
}

function childDirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => posix.join(dir, e.name));
  } catch {
    return [];
  }
}

function procsOf(dir: string): number[] {
  try {
    return fs
      .readFileSync(posix.join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Removes the cgroup `relPath` (a berth-test-* path) with all its children from every hierarchy,
 * SIGKILLing the processes still inside first. Returns the directories that existed.
 */
export async function removeCgroupTree(relPath: string): Promise<string[]> {
  const existed: string[] = [];
  const removeDir = async (dir: string): Promise<void> => {
    existed.push(dir);
    for (const child of childDirs(dir)) await removeDir(child);
    const deadline = Date.now() + 3_000;
    for (;;) {
      for (const pid of procsOf(dir)) killPid(pid);
      try {
        fs.rmdirSync(dir);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return;
        if (Date.now() > deadline) throw new Error(`cannot remove cgroup ${dir}: ${code}`);
        await Bun.sleep(20);
      }
    }
  };
  for (const dir of cgroupDirs(relPath)) await removeDir(dir);
  return existed;
}

/** Processes inside `relPath` (a berth-test-* cgroup) or its children, in any hierarchy. */
export function pidsInCgroup(relPath: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    for (const pid of procsOf(dir)) pids.add(pid);
    for (const child of childDirs(dir)) walk(child);
  };
  for (const dir of cgroupDirs(relPath)) walk(dir);
  return [...pids];
}

/** A lowercase random suffix (podman derives image names from paths, which must be lowercase). */
export function randomSuffix(): string {
  return `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Host directories a peer creates outside the test's temp dir (containerd's /run/containerd/s
 * shim sockets, the runtime's default /run/berth-runtime…). Remembers which were absent before
 * the test; `release()` removes those that are empty again and reports the rest.
 */
export class HostDirWatch {
  private readonly absent: string[];
  constructor(dirs: string[]) {
    this.absent = dirs.filter((d) => !fs.existsSync(d));
  }
  /** Whether `dir` did not exist before the test (so what is in it is the test's). */
  createdByTest(dir: string): boolean {
    return this.absent.includes(dir);
  }
  /** Entries the test may have left in `dir` (for assertions). */
  static entries(dir: string): string[] {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  }
  /** Removes the watched directories the test created (deepest first) if empty; returns the non-empty ones. */
  release(): string[] {
    const notEmpty: string[] = [];
    for (const dir of [...this.absent].sort((a, b) => b.length - a.length)) {
      if (!fs.existsSync(dir)) continue;
      if (HostDirWatch.entries(dir).length > 0) {
        notEmpty.push(dir);
        continue;
      }
      try {
        fs.rmdirSync(dir);
      } catch {
        notEmpty.push(dir);
      }
    }
    return notEmpty;
  }
}

/**
 * Reads `read()` until `done` holds or `ms` pass, and returns the last value. For what the kernel
 * finishes after a command returns: the veth of a released network namespace goes with it in
 * the kernel's netns worker (25-45 ms here), not in the teardown's call.
 */
export async function settled<T>(read: () => T | Promise<T>, done: (v: T) => boolean, ms = 3_000): Promise<T> {
  const end = performance.now() + ms;
  let v = await read();
  while (!done(v) && performance.now() < end) {
    await Bun.sleep(20);
    v = await read();
  }
  return v;
}

/** The host-wide name part of a non-default root's default bridge (bt0<hash>) and firewall
 * chains (BT-ADMIN-<hash>-…): sha256(root)[:8], as src/engine/network.ts names them. */
export function rootNetworkHash(root: string): string {
  return new Bun.CryptoHasher("sha256").update(root).digest("hex").slice(0, 8);
}

/**
 * What the engine of `root` made on the host and `system reset` should have removed: its default
 * bridge (bt0<sha256(root)[:8]>, src/engine/network.ts) and its firewall chains
 * (BT-ADMIN-<hash>-FWD / -NAT with their jumps). Removes each one found, by exact name, and
 * returns what it removed.
 */
export async function removeRootNetworkLeftovers(root: string): Promise<string[]> {
  const h = rootNetworkHash(root);
  const done: string[] = [];
  if ((await runCommand(["ip", "link", "show", `bt0${h}`])).code === 0) {
    await runCommand(["ip", "link", "del", `bt0${h}`]);
    done.push(`bridge bt0${h}`);
  }
  for (const [table, from, chain] of [["filter", "FORWARD", `BT-ADMIN-${h}-FWD`], ["nat", "POSTROUTING", `BT-ADMIN-${h}-NAT`]] as const) {
    if ((await runCommand(["iptables", "-w", "-t", table, "-n", "-L", chain])).code !== 0) continue;
    while ((await runCommand(["iptables", "-w", "-t", table, "-D", from, "-m", "comment", "--comment", "berth networks", "-j", chain])).code === 0);
    await runCommand(["iptables", "-w", "-t", table, "-F", chain]);
    await runCommand(["iptables", "-w", "-t", table, "-X", chain]);
    done.push(`chain ${table} ${chain}`);
  }
  return done;
}
