// Shared by the sandbox tests: the attack program, and the checks that a run left the host as it
// found it (no cgroup, process, mount or file of its own).
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { parseMountinfo, parseProcCgroup } from "../../src/cgroups/paths.ts";
import { runCommand } from "./run-command.ts";

export const TOP = resolve(import.meta.dir, "../..");
export const BUSYBOX_ROOTFS = join(TOP, "build/busybox/rootfs");
export const BUN = join(TOP, "node_modules/bun/bin/bun.exe");

/** Compile tests/fixtures/sandbox/attack.c, static, into dir/attack. */
export async function buildAttack(dir: string): Promise<string> {
  const out = join(dir, "attack");
  const r = await runCommand(["gcc", "-O1", "-static", "-o", out, join(TOP, "tests/fixtures/sandbox/attack.c")], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`gcc failed: ${r.stderr}`);
  return out;
}

/** The prefix of every cgroup this process's Sandboxes make (run ids start with our pid). */
export function ownRunPrefix(pid = process.pid): string {
  return `berth-sandbox-${pid.toString(36)}`;
}

/** `berth-sandbox-<prefix>*` directories under this process's own cgroup, in every hierarchy. */
export function runCgroups(prefix = ownRunPrefix()): string[] {
  const mounts = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
  const self = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  const out: string[] = [];
  for (const m of mounts) {
    const own = m.fsType === "cgroup2" ? self.unified : self.v1.get(m.controllers[0] ?? "");
    const dir = posix.join(m.mountPoint, own ?? "/");
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(prefix)) out.push(join(dir, n));
  }
  return out;
}

/** Processes (any on the host) whose cgroup is one of those runs'. */
export function runProcesses(prefix = ownRunPrefix()): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cgroup`, "utf8").includes(`/${prefix}`)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Processes named `comm` (prctl PR_SET_NAME; the attack's daemon names itself). */
export function processesNamed(comm: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, "utf8").trim() === comm) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Mount points at or under `dir` in our mount namespace. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Every path under `dir` with its type, size, mode and mtime: equal before and after means untouched. */
export function fingerprint(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      lines.push(`${p} ${st.mode} ${st.size} ${st.mtimeMs} ${st.isSymbolicLink() ? readlinkSync(p) : ""}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return lines.join("\n");
}

/** What a test asserts after every run: nothing of the run is left. */
export function leftovers(stateDir?: string): { cgroups: string[]; processes: number[]; mounts: string[]; stateDir: boolean } {
  return {
    cgroups: runCgroups(),
    processes: runProcesses(),
    mounts: stateDir ? mountsUnder(stateDir) : [],
    stateDir: stateDir ? existsSync(stateDir) : false,
  };
}
