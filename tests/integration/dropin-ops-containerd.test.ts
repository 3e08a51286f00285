// containerd operations on a running task with berth-runtime as the shim's runtime, side by side
// with runc (issue 4): `ctr task metrics` (the shim reads the task's cgroups itself, so berth's
// cgroup placement must look like runc's) and `ctr task update`. A private containerd from
// tests/helpers/containerd.ts; every task is removed by the test, stop() checks for leftovers.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { startContainerd, type Containerd } from "../helpers/containerd.ts";
import { cgroupDirs } from "../helpers/leftovers.ts";

const top = join(import.meta.dir, "../..");
const berthRuntime = join(top, "build/berth-runtime");
const runcBinary = "/usr/sbin/runc";
const image = "berth-test/busybox:latest";
const haveTools = process.getuid?.() === 0 && ["/usr/bin/containerd", "/usr/bin/ctr", runcBinary, "/usr/bin/umoci"].every((p) => fs.existsSync(p));
if (haveTools && !fs.existsSync(berthRuntime)) throw new Error(`${berthRuntime} is missing: run ./scripts/build.sh`);
const runtimes = { runc: runcBinary, berth: berthRuntime } as const;

// Debian's ctr 1.6 has no `task update` (it came with containerd 1.7's ctr); the runtime's
// `update` itself is tested in runtime-ops.test.ts.
const ctrHasUpdate = haveTools && /^\s+update\b/m.test(Bun.spawnSync(["ctr", "task", "--help"]).stdout.toString());

let c: Containerd;

beforeAll(async () => {
  if (!haveTools) return;
  c = await startContainerd();
  await c.importBusybox(image);
}, 30_000);

afterAll(async () => {
  if (!c) return;
  const left = await c.stop();
  expect(left.tasks).toEqual([]);
  expect(left.shims).toEqual([]);
  expect(left.containerProcesses).toEqual([]);
  expect(left.mounts).toEqual([]);
  expect(left.shimSockets).toEqual([]);
  expect(left.hostDirs).toEqual([]);
  expect(cgroupDirs(c.ns)).toEqual([]);
}, 30_000);

async function waitRunning(id: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const ls = await c.ctr(["task", "ls"]);
    for (const line of ls.stdout.split("\n").slice(1)) {
      const [task, pid, st] = line.trim().split(/\s+/);
      if (task === id && st === "RUNNING") return Number(pid);
    }
    await Bun.sleep(25);
  }
  throw new Error(`task ${id} is not RUNNING`);
}

/** A detached task under `runtime`, removed after `fn` whatever happens. */
// The task burns some user CPU first: metrics are protobuf JSON, which leaves out zero values, and
// runc's Go `runc init` spends user time in the task's cgroup where berth-init's C spends ~none.
const busyThenSleep = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; sleep 1000 & sleep 1000 & wait";

async function withTask<T>(name: keyof typeof runtimes, tag: string, flags: string[], fn: (id: string, pid: number) => Promise<T>): Promise<T> {
  const id = `${tag}-${name}`;
  const run = await c.run({ runtime: runtimes[name], flags: ["-d", ...flags], image, id, cmd: ["sh", "-c", busyThenSleep] });
  expect(run.stderr).toBe("");
  try {
    return await fn(id, await waitRunning(id));
  } finally {
    await c.ctr(["task", "kill", "-s", "SIGKILL", id]);
    // delete fails until the shim has seen the exit
    for (let i = 0; i < 100 && (await c.ctr(["task", "delete", id])).code !== 0; i++) await Bun.sleep(25);
    await c.ctr(["containers", "rm", id]);
  }
}

/**
 * The messages present in a metrics JSON ("memory", "memory.usage", "pids"): protobuf JSON leaves
 * out zero-valued leaves (a CPU counter of 0 ticks), never a set message, so these compare exactly.
 */
function messagePaths(v: unknown, prefix = ""): string[] {
  if (Array.isArray(v)) return v.length ? messagePaths(v[0], `${prefix}[]`) : [];
  if (v && typeof v === "object") return [prefix, ...Object.entries(v).flatMap(([k, x]) => messagePaths(x, prefix ? `${prefix}.${k}` : k))];
  return [];
}

describe.skipIf(!haveTools)("containerd task operations with berth-runtime, like runc", () => {
  test("ctr task metrics: the same metrics as under runc, values from the task's own cgroups", async () => {
    const seen: Record<string, { keys: string[]; m: Record<string, any> }> = {};
    for (const name of ["runc", "berth"] as const) {
      await withTask(name, "metrics", ["--memory-limit", "67108864"], async (id) => {
        for (let i = 0; i < 200 && (await c.ctr(["task", "ps", id])).stdout.trim().split("\n").length < 4; i++) await Bun.sleep(25);
        const r = await c.ctr(["task", "metrics", "--format", "json", id]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const m = JSON.parse(r.stdout) as Record<string, any>;
        // The table lists a fixed set of metrics, zero or not: its METRIC column compares exactly.
        const table = await c.ctr(["task", "metrics", id]);
        const metrics = table.stdout.split("\n").slice(table.stdout.split("\n").findIndex((l) => l.startsWith("METRIC")) + 1).map((l) => l.split(/\s+/)[0]!).filter(Boolean);
        seen[name] = { keys: [...metrics, ...messagePaths(m).sort()], m };
      });
    }
    const { runc, berth } = seen as Record<"runc" | "berth", { keys: string[]; m: Record<string, any> }>;
    expect(runc.keys).toContain("pids.current");
    expect(berth.keys).toEqual(runc.keys);
    // The task's values, not the host's: three processes, the limit given to ctr.
    const pids = (x: Record<string, any>) => x.Data?.pids?.current ?? x.pids?.current;
    const limit = (x: Record<string, any>) => x.Data?.memory?.usage?.limit ?? x.memory?.usage?.limit;
    expect(pids(runc.m)).toBe(3);
    expect(pids(berth.m)).toBe(pids(runc.m));
    expect(limit(runc.m)).toBe(67108864);
    expect(limit(berth.m)).toBe(limit(runc.m));
  }, 30_000);

  test.skipIf(!ctrHasUpdate)("ctr task update --memory-limit changes the task's limit, like runc (skipped: this ctr has no `task update`)", async () => {
    const seen: Record<string, string> = {};
    for (const name of ["runc", "berth"] as const) {
      await withTask(name, "update", [], async (id, pid) => {
        const r = await c.ctr(["task", "update", "--memory-limit", "33554432", id]);
        expect(r.code).toBe(0);
        const cg = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => /:memory:/.test(l))!.split(":")[2]!;
        seen[name] = fs.readFileSync(`/sys/fs/cgroup/memory${cg}/memory.limit_in_bytes`, "utf8").trim();
      });
    }
    expect(seen.runc).toBe("33554432");
    expect(seen.berth).toBe(seen.runc!);
  }, 30_000);
});
